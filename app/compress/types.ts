// The contract shared by every compression method: what an algorithm sees (a weight and, for
// the calibrated methods, the second moment of its input) and what it returns (the compressed
// weight plus its exact quantized representation and/or pruning mask).
//
// Algorithms never see the model: architecture drivers run calibration, build `SecondMoment`s
// and call one of these per linear.

/** A linear layer's weight, y = W·x. w: [out, in] row-major float32. */
export interface LinearWeight {
  w: Float32Array;
  out: number;
  in: number;
}

/** Calibration statistics of the layer input: C = Σ_t x_t x_tᵀ : [in, in] row-major float64, over nTokens tokens. */
export interface SecondMoment {
  C: Float64Array;
  nTokens: number;
}

/** Uniform quantizer settings. groupSize −1: one grid per output row; else one per `groupSize` consecutive input columns. */
export interface QuantConfig {
  bits: number;
  groupSize: number;
  sym: boolean;
}

/**
 * Exact quantized representation: W_c[r, c] = scales[r, g] · (codes[r, c] − zeros[r, g]) in float32,
 * g = gIdx[c] when present (GPTQ act-order), else c / groupSize (0 per channel).
 */
export interface QuantState extends QuantConfig {
  /** [out, in], each in 0 … 2^bits − 1. */
  codes: Uint8Array;
  /** [out, nGroups]. */
  scales: Float32Array;
  /** [out, nGroups], integer-valued zero points. */
  zeros: Float32Array;
  /** [in]: group of each input column, only when it is not c / groupSize. */
  gIdx?: Int32Array;
}

/** Unstructured: a fraction p ∈ [0, 1) of weights removed. N:M: in every M consecutive input weights of a row exactly N are kept. */
export type Sparsity = { kind: 'unstructured'; p: number } | { kind: 'nm'; n: number; m: number };

export interface CompressResult {
  /** Compressed weight W_c: [out, in]. */
  wc: Float32Array;
  out: number;
  in: number;
  quant?: QuantState;
  /** [out, in], 1 = kept, 0 = pruned. */
  mask?: Uint8Array;
}

/** Every user-facing failure of this folder: bad spec, bad shapes, bad options. */
export class CompressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompressError';
  }
}

/** Shape and value checks every method runs first: a wrong length or a NaN would otherwise spread silently. */
export function checkLinear(layer: LinearWeight): void {
  const { w, out } = layer;
  const n = layer.in;
  if (!Number.isInteger(out) || !Number.isInteger(n) || out < 1 || n < 1) throw new CompressError(`weight shape must be positive integers, got [${out}, ${n}]`);
  if (w.length !== out * n) throw new CompressError(`weight has ${w.length} values, expected [${out}, ${n}] = ${out * n}`);
  for (let i = 0; i < w.length; i++) {
    if (!Number.isFinite(w[i])) throw new CompressError(`weight has a non-finite value ${w[i]} at [${Math.floor(i / n)}, ${i % n}]`);
  }
}

export function checkMoment(moment: SecondMoment | undefined, n: number, method: string): SecondMoment {
  if (!moment) throw new CompressError(`${method} needs calibration statistics (C = Σ x xᵀ and nTokens)`);
  const { C, nTokens } = moment;
  if (C.length !== n * n) throw new CompressError(`calibration moment has ${C.length} values, expected [${n}, ${n}] = ${n * n}`);
  if (!(nTokens > 0)) throw new CompressError(`nTokens must be positive, got ${nTokens}`);
  for (let i = 0; i < C.length; i++) {
    if (!Number.isFinite(C[i])) throw new CompressError(`calibration moment has a non-finite value at [${Math.floor(i / n)}, ${i % n}]`);
  }
  return moment;
}

/** Float64 working copy [out, in]: the solvers accumulate many small updates. */
export function toFloat64(w: Float32Array): Float64Array {
  return Float64Array.from(w);
}

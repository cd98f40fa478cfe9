// Per-linear quality and size of a compression, in float64.
//   relWeightError  ‖ΔW‖_F / ‖W‖_F,                      ΔW = W_c − W
//   relOutputError  tr(ΔW C ΔWᵀ) / tr(W C Wᵀ)             = Σ_t ‖ΔW x_t‖² / Σ_t ‖W x_t‖² over the
//                   calibration tokens: the quantity GPTQ/SparseGPT minimize, normalized
//   outputEnergy, errorOutputEnergy   the two traces themselves, tr(W C Wᵀ) and tr(ΔW C ΔWᵀ):
//                   compensate reuses them for the same W, W_c and C instead of recomputing its
//                   two largest products (experiment/stages/compensate.ts)
//   sparsity        fraction pruned by the mask (0 without one)
//   zeroFraction    fraction of exact zeros in W_c (also counts quantized weights that landed on 0)
//   bitsPerWeight   storage per weight: codes, plus scale and zero at 16 bits each per (row, group),
//                   plus g_idx at 32 bits per input column when present; 16 (fp16) unquantized.
//                   Masks are not counted: sparse weights are stored dense here.
import { CompressError, checkMoment, type CompressResult, type LinearWeight, type SecondMoment } from './types.js';

export interface LinearMetrics {
  relWeightError: number;
  /** null without calibration statistics. */
  relOutputError: number | null;
  /** tr(W C Wᵀ) and tr(ΔW C ΔWᵀ); null without calibration statistics. */
  outputEnergy: number | null;
  errorOutputEnergy: number | null;
  sparsity: number;
  zeroFraction: number;
  bitsPerWeight: number;
}

export const UNQUANTIZED_BITS = 16;
const PARAM_BITS = 16; // one scale or zero point
const G_IDX_BITS = 32;

export function linearMetrics(layer: LinearWeight, result: CompressResult, moment?: SecondMoment): LinearMetrics {
  const metrics = weightMetrics(layer, result);
  if (moment) {
    const { w, out } = layer;
    const n = layer.in;
    const { C } = checkMoment(moment, n, 'the output error');
    const dW = new Float64Array(w.length); // [out, in]
    for (let i = 0; i < w.length; i++) dW[i] = result.wc[i] - w[i];
    return withTraces(metrics, quadraticTrace(dW, out, n, C), quadraticTrace(Float64Array.from(w), out, n, C));
  }
  return metrics;
}

/** Everything but the output error (null here): O(out·n), no calibration statistics. */
export function weightMetrics(layer: LinearWeight, result: CompressResult): LinearMetrics {
  const { w, out } = layer;
  const n = layer.in;
  if (result.out !== out || result.in !== n || result.wc.length !== w.length) {
    throw new CompressError(`result is [${result.out}, ${result.in}], the layer [${out}, ${n}]`);
  }
  let dNorm = 0;
  let wNorm = 0;
  let zeros = 0;
  for (let i = 0; i < w.length; i++) {
    const d = result.wc[i] - w[i];
    dNorm += d * d;
    wNorm += w[i] * w[i];
    if (result.wc[i] === 0) zeros++;
  }

  let pruned = 0;
  if (result.mask) for (const k of result.mask) pruned += k ? 0 : 1;

  return {
    relWeightError: ratio(Math.sqrt(dNorm), Math.sqrt(wNorm)),
    relOutputError: null,
    outputEnergy: null,
    errorOutputEnergy: null,
    sparsity: pruned / w.length,
    zeroFraction: zeros / w.length,
    bitsPerWeight: bitsPerWeight(result, out, n),
  };
}

export function bitsPerWeight(result: CompressResult, out: number, n: number): number {
  const q = result.quant;
  if (!q) return UNQUANTIZED_BITS;
  const nGroups = q.scales.length / out;
  const gIdx = q.gIdx ? G_IDX_BITS * n : 0;
  return (q.bits * out * n + 2 * PARAM_BITS * out * nGroups + gIdx) / (out * n);
}

/** tr(A C Aᵀ) = Σ_r a_rᵀ C a_r for A: [out, n], C: [n, n]; row-major inner loops. */
function quadraticTrace(A: Float64Array, out: number, n: number, C: Float64Array): number {
  let total = 0;
  for (let r = 0; r < out; r++) {
    const a = r * n;
    for (let i = 0; i < n; i++) {
      const ai = A[a + i];
      if (ai === 0) continue;
      let s = 0;
      const Ci = i * n;
      for (let j = 0; j < n; j++) s += C[Ci + j] * A[a + j];
      total += ai * s;
    }
  }
  return total;
}

/** metrics with the output error from its two traces. */
export function withTraces(metrics: LinearMetrics, errorOutputEnergy: number, outputEnergy: number): LinearMetrics {
  return { ...metrics, relOutputError: ratio(errorOutputEnergy, outputEnergy), outputEnergy, errorOutputEnergy };
}

/** 0/0 → 0 (nothing changed); x/0 → Infinity. */
export function ratio(num: number, den: number): number {
  if (den === 0) return num === 0 ? 0 : Infinity;
  return num / den;
}

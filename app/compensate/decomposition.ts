// One decomposition per layer, up to rMax, that answers everything the UI and the rank budget
// ask without refitting: C's spectrum, each method's spectrum, each method's exact output and
// Frobenius error at every r ≤ rMax, and the adapter at any r (a prefix of the stored basis).
// Layer in: W: [out, in] original, W_c: [out, in] compressed, C = X·Xᵀ: [in, in] (float64, summed
// over the N calibration tokens). ΔW = W − W_c; each method fits B·A ≈ ΔW so W_c + B·A ≈ W.
import { subtract, type Matrix } from '../linalg/matrix.js';
import { adapterAt, type Adapter, type SigmaSplit } from './adapter.js';
import { defaultRank, usesDensePath, type BasisOptions, type LowRankBasis } from './basis.js';
import { eoraBasis } from './eora.js';
import { float64Products, outputEnergy } from './products.js';
import { scaledSvdBasis } from './scaled-svd.js';
import { covarianceSpectrum, errorCurves, frobeniusSq, type CovarianceSpectrum, type Energies, type ErrorCurves } from './spectrum.js';
import { svdBasis } from './svd.js';

export type Method = 'svd' | 'scaled-svd' | 'eora';
export const allMethods: readonly Method[] = ['svd', 'scaled-svd', 'eora'];

export interface LayerInput {
  /** [out, in] */
  W: Matrix;
  /** [out, in] */
  Wc: Matrix;
  /** [in, in] */
  C: Matrix;
  /**
   * C's entries rounded to float32 (Float32Array.from(C.data) exactly), where the caller has
   * them anyway: float32 products (ortProducts) then use it instead of converting C.
   */
  C32?: Float32Array;
}

export interface DecomposeOptions extends BasisOptions {
  /** Default: all three. */
  methods?: readonly Method[];
  /** How many eigenvalues of C to report (default rMax). */
  cTop?: number;
  /**
   * tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ) when the caller has them for exactly this W, W_c and C (the
   * compress stage measured them for its output-error metric): the layer's two
   * largest products are then skipped (1.8 of 2.9 TFLOP at 4096 × 14336). Default: computed.
   */
  traces?: { output: number; errorOutput: number };
}

export interface MethodDecomposition {
  basis: LowRankBasis;
  /** [rMax] σᵢ, descending: ΔW's singular values (svd), of ΔW·S (scaled-svd), of ΔW·Q·Λ^½ (eora). */
  singularValues: Float64Array;
  /** Estimated relative precision of singularValues (half that of σᵢ², basis.precision). */
  precision: number;
  curves: ErrorCurves;
  /** EoRA only: [rMax + 1] (tr(M) − Σ_{i≤r} σᵢ²) / tr(W·C·Wᵀ), the published closed form. */
  predictedOutput?: Float64Array;
  milliseconds: number;
}

export interface LayerDecomposition {
  out: number;
  in: number;
  rMax: number;
  path: 'dense' | 'randomized';
  energies: Energies;
  covariance: CovarianceSpectrum;
  methods: Partial<Record<Method, MethodDecomposition>>;
  /** Rank-r adapter of a computed method, 0 ≤ r ≤ rMax, Σ split as asked (default 'B'). */
  adapterAt(method: Method, r: number, split?: SigmaSplit): Adapter;
  /** energies: the four traces; spectrum: the energies and C's spectrum; total: everything. Per method: in `methods`. */
  milliseconds: { energies: number; spectrum: number; total: number };
}

export async function decomposeLayer(layer: LayerInput, options: DecomposeOptions = {}): Promise<LayerDecomposition> {
  const { W, Wc, C } = layer;
  const out = W.rows;
  const inDim = W.cols;
  if (Wc.rows !== out || Wc.cols !== inDim) throw new RangeError(`W is [${out}, ${inDim}] but W_c is [${Wc.rows}, ${Wc.cols}]`);
  if (C.rows !== inDim || C.cols !== inDim) throw new RangeError(`C must be [in, in] = [${inDim}, ${inDim}], got [${C.rows}, ${C.cols}]`);
  const products = options.products ?? float64Products;
  const rMax = options.rMax ?? defaultRank(out, inDim);
  const dense = usesDensePath(out, inDim, options);
  const started = performance.now();
  if (layer.C32) {
    if (layer.C32.length !== C.data.length) throw new RangeError(`C32 has ${layer.C32.length} floats, C is [${inDim}, ${inDim}]`);
    products.adopt?.(C, layer.C32);
  }

  const dW = subtract(W, Wc); // [out, in]
  const energies: Energies = {
    output: options.traces?.output ?? (await outputEnergy(products, W, C)),
    errorOutput: options.traces?.errorOutput ?? (await outputEnergy(products, dW, C, { reuseA: true })), // ΔW is applied again by the randomized bases
    weight: frobeniusSq(W),
    errorWeight: frobeniusSq(dW),
  };
  const energiesDone = performance.now();
  const covariance = await covarianceSpectrum(C, Math.min(options.cTop ?? rMax, inDim), dense, products, { ...options.randomized, signal: options.signal });
  const spectrumDone = performance.now();

  const basisOptions: BasisOptions = { ...options, rMax, products };
  const fit: Record<Method, () => Promise<LowRankBasis>> = {
    svd: () => svdBasis(dW, basisOptions),
    'scaled-svd': () => scaledSvdBasis(dW, C, basisOptions),
    eora: () => eoraBasis(dW, C, { ...basisOptions, eigenC: covariance.eigen, traceM: energies.errorOutput }),
  };
  const methods: Partial<Record<Method, MethodDecomposition>> = {};
  for (const method of options.methods ?? allMethods) {
    const t0 = performance.now();
    options.signal?.throwIfAborted();
    const basis = await fit[method]();
    const curves = await errorCurves(basis, C, energies, products);
    const decomposition: MethodDecomposition = { basis, singularValues: basis.sigma2.map(Math.sqrt), precision: basis.precision / 2, curves, milliseconds: 0 };
    if (method === 'eora') decomposition.predictedOutput = predicted(basis.sigma2, energies);
    decomposition.milliseconds = performance.now() - t0;
    methods[method] = decomposition;
  }

  return {
    out,
    in: inDim,
    rMax,
    path: dense ? 'dense' : 'randomized',
    energies,
    covariance,
    methods,
    adapterAt(method, r, split = 'B') {
      const m = methods[method];
      if (!m) throw new Error(`method "${method}" was not computed for this layer (computed: ${Object.keys(methods).join(', ')})`);
      return adapterAt(m.basis, r, split);
    },
    milliseconds: { energies: energiesDone - started, spectrum: spectrumDone - started, total: performance.now() - started },
  };
}

/** err(r) = (tr(ΔW·C·ΔWᵀ) − Σ_{i≤r} σᵢ²) / tr(W·C·Wᵀ). */
function predicted(sigma2: Float64Array, energies: Energies): Float64Array {
  const curve = new Float64Array(sigma2.length + 1);
  const scale = energies.output > 0 ? energies.output : 1;
  let left = energies.errorOutput;
  curve[0] = left / scale;
  for (let i = 0; i < sigma2.length; i++) curve[i + 1] = Math.max((left -= sigma2[i]), 0) / scale;
  return curve;
}

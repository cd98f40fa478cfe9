// The spectra and error curves a decomposition reports, all from stored bases — no refits.
//  • covarianceSpectrum: top eigenvalues of C = X·Xᵀ and tr(C) (how anisotropic the inputs are).
//  • errorCurves: for an orthonormal basis U: [out, rMax] of any method, with
//    kᵢ = ΔWᵀ·uᵢ (row i of K = Uᵀ·ΔW) and P_r = U_r·U_rᵀ the rank-r correction B·A = P_r·ΔW:
//        tr((I−P_r)·ΔW·C·ΔWᵀ·(I−P_r)) = tr(ΔW·C·ΔWᵀ) − Σ_{i≤r} kᵢᵀ·C·kᵢ   (output error)
//        ‖(I−P_r)·ΔW‖_F²              = ‖ΔW‖_F²       − Σ_{i≤r} ‖kᵢ‖²      (Frobenius)
//    because (I−P_r) is a symmetric idempotent and the uᵢ are orthonormal. One [rMax, in]·[in, in]
//    product gives every rank at once, for SVD and scaled SVD as well as EoRA; for EoRA
//    kᵢᵀ·C·kᵢ = uᵢᵀ·M·uᵢ = σᵢ², so the curve reproduces the prediction tr(M) − Σσᵢ².
import { symmetricEigen, type SymmetricEigen } from '../linalg/eigen.js';
import { trace, transpose, type Matrix } from '../linalg/matrix.js';
import type { LowRankBasis } from './basis.js';
import { innerProduct, type Products } from './products.js';
import { blockKrylovEigen, type KrylovOptions } from './block-krylov.js';

export interface CovarianceSpectrum {
  /** [top] largest eigenvalues of C, descending (negative rounding clamped to 0). */
  values: Float64Array;
  traceC: number;
  /**
   * Estimated relative precision of `values` (max over i of |λᵢ − reported|/λᵢ, values above
   * 1e-12·λ₁): the randomized path stops at 1e-3 — a plot's need, not float32's limit; dense:
   * the float64 eigensolver's n·u·λ₁/λᵢ.
   */
  precision: number;
  /** Block Krylov steps: applications of C to a block (randomized path only). */
  iterations?: number;
  /** Block Krylov stopping tests whose Rayleigh–Ritz took the band reduction (randomized path only). */
  bandChecks?: number;
  /** The full dense eigendecomposition when it was computed (reused by EoRA's in-space path). */
  eigen?: SymmetricEigen;
}

/** C: [in, in]. Dense when `dense`, otherwise subspace iteration with C·Y through `products`. */
export async function covarianceSpectrum(C: Matrix, top: number, dense: boolean, products: Products, options?: KrylovOptions): Promise<CovarianceSpectrum> {
  const traceC = trace(C);
  if (dense) {
    const eigen = symmetricEigen(C);
    const values = Float64Array.from(eigen.values.subarray(0, top), (v) => Math.max(v, 0));
    let precision = 0;
    for (const v of values) if (v > 1e-12 * values[0]) precision = Math.max(precision, (C.rows * 2 ** -53 * values[0]) / v);
    return { values, traceC, precision, eigen };
  }
  const { values, precision, iterations, bandChecks } = await blockKrylovEigen((Y) => products.matmul(C, Y, { reuseA: true }), C.rows, top, { products, ...options, vectors: false });
  return { values, traceC, precision, iterations, bandChecks };
}

export interface ErrorCurves {
  /** [rMax + 1] tr(R·C·Rᵀ) / tr(W·C·Wᵀ), R = ΔW − B·A at rank r = 0…rMax. */
  output: Float64Array;
  /** [rMax + 1] ‖R‖_F² / ‖W‖_F². */
  frobenius: Float64Array;
}

export interface Energies {
  /** tr(W·C·Wᵀ): the layer's output energy on the calibration tokens. */
  output: number;
  /** tr(ΔW·C·ΔWᵀ): the compression's output error before compensation. */
  errorOutput: number;
  /** ‖W‖_F² */
  weight: number;
  /** ‖ΔW‖_F² */
  errorWeight: number;
}

export async function errorCurves(basis: LowRankBasis, C: Matrix, energies: Energies, products: Products): Promise<ErrorCurves> {
  const { K } = basis; // [rMax, in]
  const rMax = K.rows;
  const inDim = K.cols;
  // C·Kᵀ = (K·C)ᵀ for symmetric C, with C as the reused operand: ORT then multiplies by the
  // float32 copy of C the spectrum and basis already made, instead of converting C again
  // (822 MB of fresh memory at in = 14336, ~4 s of first-touch page faults on this VM).
  const CKt = await products.matmul(C, transpose(K), { reuseA: true }); // [in, rMax]
  const output = new Float64Array(rMax + 1);
  const frobenius = new Float64Array(rMax + 1);
  // Relative to the layer's own energy; a layer with none (C = 0 or W = 0) reports absolute.
  const outScale = energies.output > 0 ? energies.output : 1;
  const weightScale = energies.weight > 0 ? energies.weight : 1;
  let outputLeft = energies.errorOutput;
  let weightLeft = energies.errorWeight;
  output[0] = Math.max(outputLeft, 0) / outScale;
  frobenius[0] = Math.max(weightLeft, 0) / weightScale;
  for (let i = 0; i < rMax; i++) {
    let e = 0;
    let f = 0;
    for (let c = 0; c < inDim; c++) {
      const k = K.data[i * inDim + c];
      e += CKt.data[c * rMax + i] * k;
      f += k * k;
    }
    outputLeft -= e;
    weightLeft -= f;
    // The subtraction cancels near full rank; clamp the ≈ −u·tr rounding to the true floor 0.
    output[i + 1] = Math.max(outputLeft, 0) / outScale;
    frobenius[i + 1] = Math.max(weightLeft, 0) / weightScale;
  }
  return { output, frobenius };
}

/** ‖A‖_F² via the same float64 inner product. */
export const frobeniusSq = (a: Matrix) => innerProduct(a, a);

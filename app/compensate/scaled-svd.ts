// Activation-scaled SVD (ASVD, Yuan et al. 2023; LQER, Zhang et al. 2024): scale the input
// channels by their activation magnitude before truncating, then undo the scale in A.
//     S = diag(√C_jj): [in, in] (RMS of input channel j over the calibration tokens, up to √N)
//     ΔW·S = U·Σ·Vᵀ,   B = U_r·Σ_r: [out, r],   A' = V_rᵀ·S⁻¹: [r, in]
// It minimizes ‖(ΔW − B·A)·S‖_F = the output error if the channels were uncorrelated (C
// diagonal): EoRA's objective with the off-diagonal of C thrown away. So it sits between SVD
// and EoRA: never better than EoRA on the output error, usually much better than SVD.
// Guard, dead input channels (C_jj = 0, never excited): S⁻¹ does not exist. basis.ts uses the
// projection form A = Σ_r⁻¹·U_rᵀ·ΔW, equal to V_rᵀ·S⁻¹ wherever S is invertible, which needs
// no S⁻¹ and keeps U_rᵀ·ΔW on dead columns (free for the output error, better in Frobenius).
import type { Matrix } from '../linalg/matrix.js';
import { lowRankBasis, type BasisOptions, type LowRankBasis, type Weight } from './basis.js';
import { float64Products } from './products.js';

/** S = diag(√C_jj) from C: [in, in]; a negative diagonal (rounding) counts as dead. */
export function scaledSvdWeight(C: Matrix): Weight {
  const n = C.rows;
  const s = new Float64Array(n);
  for (let j = 0; j < n; j++) s[j] = Math.sqrt(Math.max(C.data[j * n + j], 0));
  return { kind: 'diagonal', s };
}

/** ΔW: [out, in], C: [in, in]. √sigma2 are the singular values of ΔW·S. */
export function scaledSvdBasis(dW: Matrix, C: Matrix, options: BasisOptions = {}): Promise<LowRankBasis> {
  return lowRankBasis(dW, scaledSvdWeight(C), options, options.products ?? float64Products);
}

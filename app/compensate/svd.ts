// Baseline: plain truncated SVD of the compression error (ZeroQuant-V2's LoRC, Yao et al. 2023).
//     ΔW: [out, in] = U·S·Vᵀ,   B = U_r·S_r: [out, r],   A = V_rᵀ: [r, in]
// minimizes ‖ΔW − B·A‖_F (Eckart–Young) and ignores the activations entirely: a direction of ΔW
// that no calibration token excites costs as much as one that every token excites. The
// Frobenius residual at rank r is the spectral tail Σ_{i>r} sᵢ². Weight C_w = I in basis.ts,
// so B·A = U_r·U_rᵀ·ΔW and sᵢ² are the eigenvalues of ΔW·ΔWᵀ (or ΔWᵀ·ΔW when out > in).
import type { Matrix } from '../linalg/matrix.js';
import { lowRankBasis, type BasisOptions, type LowRankBasis, type Weight } from './basis.js';
import { float64Products } from './products.js';

export const svdWeight = (): Weight => ({ kind: 'identity' });

/** ΔW: [out, in]. Singular values of ΔW are √sigma2. */
export function svdBasis(dW: Matrix, options: BasisOptions = {}): Promise<LowRankBasis> {
  return lowRankBasis(dW, svdWeight(), options, options.products ?? float64Products);
}

// EoRA (Liu et al., "EoRA: Fine-tuning-free Compensation for Compressed LLM with Eigenspace
// Low-Rank Approximation", arXiv 2410.21271): the rank-r B·A minimizing the layer's output
// error on the calibration tokens X: [in, N],
//     min ‖(ΔW − B·A)·X‖_F² = tr((ΔW − B·A)·C·(ΔW − B·A)ᵀ),   C = X·Xᵀ: [in, in].
// Published construction: C = Q·Λ·Qᵀ, ΔW' = ΔW·Q·Λ^½: [out, in] = U·Σ·Vᵀ, keep rank r,
//     B = U_r·Σ_r: [out, r],   A = V_rᵀ·Λ^-½·Qᵀ: [r, in].
// What we compute instead, and why it is the same adapter:
//  • Σ_r·V_rᵀ = U_rᵀ·ΔW' = U_rᵀ·ΔW·Q·Λ^½, hence B·A = U_r·U_rᵀ·ΔW·Q·Λ^½·Λ^-½·Qᵀ = U_r·U_rᵀ·ΔW
//    whenever Λ > 0 (Q·Qᵀ = I).
//  • U_r are the left singular vectors of ΔW', i.e. the top eigenvectors of
//    ΔW'·ΔW'ᵀ = ΔW·Q·Λ·Qᵀ·ΔWᵀ = ΔW·C·ΔWᵀ =: M: [out, out]; σᵢ² are its eigenvalues, and
//    err(r) = tr(M) − Σ_{i≤r} σᵢ² exactly at every rank (Eckart–Young on ΔW').
// So the published B·A is the left projection U_r·U_rᵀ·ΔW, which basis.ts computes from C itself:
//  • out ≤ in: eigen of M = (ΔW·C)·ΔWᵀ — no factorization of C at all, U orthonormal by
//    construction. This is exact: the quantity ranked, σᵢ², is what the eigensolver returns
//    with absolute error ≈ u·σ₁², i.e. at the scale of the objective itself.
//  • out > in: M: [out, out] has rank ≤ in, so an out-sized eigenproblem would mostly resolve
//    a null space. Its in-space twin N = ΔW'ᵀ·ΔW' = (ΔW·L)ᵀ·(ΔW·L): [in, in], L = Q·Λ^½, has
//    the same nonzero eigenvalues σᵢ²; N = V·Σ²·Vᵀ and U_r = ΔW'·V_r·Σ_r⁻¹. Only Λ^½ appears
//    (exact for singular C too); Σ⁻¹ touches only directions above the drop floor (basis.ts),
//    and Cholesky-QR2 re-orthonormalizes them without changing the nested spans.
// Guard for tiny/zero eigenvalues of C (fewer tokens than `in`, dead channels): the published
// A needs Λ^-½, which must be truncated (λ < ε → 0); that zeroes B·A on the null space of C.
// The projection form needs no guard on Λ at all and keeps U_r·U_rᵀ·ΔW there — the same
// output error on X (X lies in range(C)), a smaller Frobenius error. The Σ split 'B' (the
// published one) divides by σᵢ only, and σᵢ² ≤ 1e-12·σ₁² directions are dropped (basis.ts).
import type { SymmetricEigen } from '../linalg/eigen.js';
import type { Matrix } from '../linalg/matrix.js';
import { lowRankBasis, type BasisOptions, type LowRankBasis, type Weight } from './basis.js';
import { float64Products } from './products.js';

/**
 * C: [in, in]; eigen (C = QΛQᵀ) is reused by the in-space path if the caller already has it;
 * traceM = tr(ΔW·C·ΔWᵀ) saves the randomized path an [out, in]·[in, in] product.
 */
export const eoraWeight = (C: Matrix, eigen?: SymmetricEigen, traceM?: number): Weight => ({ kind: 'full', C, eigen, trace: traceM });

/** ΔW: [out, in], C = X·Xᵀ: [in, in]. √sigma2 are the singular values of ΔW·Q·Λ^½. */
export function eoraBasis(dW: Matrix, C: Matrix, options: BasisOptions & { eigenC?: SymmetricEigen; traceM?: number } = {}): Promise<LowRankBasis> {
  return lowRankBasis(dW, eoraWeight(C, options.eigenC, options.traceM), options, options.products ?? float64Products);
}

// The rank-r adapter from a stored basis, without recomputation: B·A = U_r·K_r (basis.ts).
// Σ can sit on either side — B·A is the same, only the factors' scales differ:
//   'B'    B = U_r·Σ_r,   A = Σ_r⁻¹·K_r   (EoRA as published: A = V_rᵀ·Λ^-½·Qᵀ, rows of unit
//                                          C-norm, A·C·Aᵀ = I; LoRC: A = V_rᵀ)
//   'A'    B = U_r,       A = K_r         (B orthonormal; no division at all)
//   'sqrt' B = U_r·Σ_r^½, A = Σ_r^-½·K_r  (balanced scales: the better split for quantizing)
// Σ here is the method's own σᵢ (singular values of ΔW·L), so for SVD 'B' is exactly
// B = U_r·S_r, A = V_rᵀ, and for scaled SVD A = V_rᵀ·S⁻¹ where S is invertible.
import { zeros, type Matrix } from '../linalg/matrix.js';
import type { LowRankBasis } from './basis.js';

export type SigmaSplit = 'B' | 'A' | 'sqrt';

export interface Adapter {
  /** [out, r] */
  B: Matrix;
  /** [r, in] */
  A: Matrix;
  rank: number;
  split: SigmaSplit;
}

export function adapterAt(basis: LowRankBasis, r: number, split: SigmaSplit = 'B'): Adapter {
  const { U, K, sigma2 } = basis;
  const rMax = sigma2.length;
  if (!Number.isInteger(r) || r < 0 || r > rMax) throw new RangeError(`rank ${r} must be an integer in [0, rMax = ${rMax}]`);
  const out = U.rows;
  const inDim = K.cols;
  const exponent = split === 'B' ? 1 : split === 'A' ? 0 : 0.5;
  const B = zeros(out, r);
  const A = zeros(r, inDim);
  for (let j = 0; j < r; j++) {
    // A dropped direction (σ² = 0) has U[:, j] = 0 and K[j, :] = 0: both factors stay zero.
    if (!(sigma2[j] > 0)) continue;
    const toB = Math.sqrt(sigma2[j]) ** exponent;
    for (let i = 0; i < out; i++) B.data[i * r + j] = U.data[i * rMax + j] * toB;
    for (let c = 0; c < inDim; c++) A.data[j * inDim + c] = K.data[j * inDim + c] / toB;
  }
  return { B, A, rank: r, split };
}

/** B·A: [out, in] — for tests and exports; the engine applies the two factors instead. */
export function adapterProduct(adapter: Adapter): Matrix {
  const { B, A, rank: r } = adapter;
  const out = zeros(B.rows, A.cols);
  for (let i = 0; i < B.rows; i++)
    for (let j = 0; j < r; j++) {
      const b = B.data[i * r + j];
      if (b === 0) continue;
      for (let c = 0; c < A.cols; c++) out.data[i * A.cols + c] += b * A.data[j * A.cols + c];
    }
  return out;
}

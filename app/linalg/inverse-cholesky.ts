// The upper Cholesky factor of a⁻¹ without forming a⁻¹ (what GPTQ/SparseGPT call Hinv).
//
// Factor a = U·Uᵀ with U upper triangular (Cholesky run from the last column backwards). Then
// a⁻¹ = U⁻ᵀ·U⁻¹ = Vᵀ·V with V = U⁻¹ upper triangular with a positive diagonal, so V is the
// unique upper Cholesky factor of a⁻¹. Two n³/6 passes instead of torch's four
// (cholesky, cholesky_inverse = inverse + product, cholesky(upper=True)), one rounding chain
// fewer, and every inner loop runs along a row.
import { NotPositiveDefiniteError } from './cholesky.js';
import { zeros, type Matrix } from './matrix.js';

/** V: [n, n] upper triangular with a⁻¹ = Vᵀ·V, for a: [n, n] symmetric positive definite. */
export function upperCholeskyOfInverse(a: Matrix): Matrix {
  return invertUpper(upperTimesTranspose(a));
}

/** U upper triangular with a = U·Uᵀ; reads the upper triangle of a. */
export function upperTimesTranspose(a: Matrix): Matrix {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`upperTimesTranspose: matrix is [${a.rows}, ${a.cols}], not square`);
  const u = zeros(n, n);
  const U = u.data;
  for (let j = n - 1; j >= 0; j--) {
    const rj = j * n;
    let d = a.data[rj + j];
    for (let k = j + 1; k < n; k++) d -= U[rj + k] * U[rj + k];
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, d);
    const ujj = Math.sqrt(d);
    U[rj + j] = ujj;
    for (let i = 0; i < j; i++) {
      const ri = i * n;
      let s = a.data[ri + j];
      for (let k = j + 1; k < n; k++) s -= U[ri + k] * U[rj + k];
      U[ri + j] = s / ujj;
    }
  }
  return u;
}

/** U⁻¹ for upper-triangular U, row by row from the bottom (U·V = I). */
export function invertUpper(u: Matrix): Matrix {
  const n = u.rows;
  const v = zeros(n, n);
  const U = u.data;
  const V = v.data;
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    // V[i, j] = −Σ_{i<k≤j} U[i, k]·V[k, j] / U[i, i] for j > i: accumulate row k of V, scaled.
    for (let k = i + 1; k < n; k++) {
      const uik = U[ri + k];
      if (uik === 0) continue;
      const rk = k * n;
      for (let j = k; j < n; j++) V[ri + j] -= uik * V[rk + j];
    }
    const inv = 1 / U[ri + i];
    for (let j = i + 1; j < n; j++) V[ri + j] *= inv;
    V[ri + i] = inv;
  }
  return v;
}

// Cholesky factorization and what GPTQ/SparseGPT need from it, in float64.
import { zeros, type Matrix } from './matrix.js';

export class NotPositiveDefiniteError extends Error {
  constructor(readonly pivot: number, value: number) {
    super(`matrix is not positive definite (pivot ${pivot} is ${value.toExponential(3)}); increase dampening`);
    this.name = 'NotPositiveDefiniteError';
  }
}

/** Lower-triangular L with a = L·Lᵀ. a: [n, n] symmetric positive definite. */
export function cholesky(a: Matrix): Matrix {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`cholesky: matrix is [${a.rows}, ${a.cols}], not square`);
  const l = zeros(n, n);
  const L = l.data;
  for (let j = 0; j < n; j++) {
    let d = a.data[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] * L[j * n + k];
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, d);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a.data[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  return l;
}

/** Inverse of a lower-triangular matrix (forward substitution per column). */
export function invertLower(l: Matrix): Matrix {
  const n = l.rows;
  const inv = zeros(n, n);
  const L = l.data;
  const X = inv.data;
  for (let j = 0; j < n; j++) {
    X[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * n + k] * X[k * n + j];
      X[i * n + j] = s / L[i * n + i];
    }
  }
  return inv;
}

/** a⁻¹ for symmetric positive definite a, via a = L·Lᵀ ⇒ a⁻¹ = L⁻ᵀ·L⁻¹. */
export function choleskyInverse(a: Matrix): Matrix {
  const n = a.rows;
  const li = invertLower(cholesky(a)).data;
  const out = zeros(n, n);
  // (L⁻ᵀ L⁻¹)[i][j] = Σ_k L⁻¹[k][i] · L⁻¹[k][j], k ≥ max(i, j) (L⁻¹ is lower).
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      out.data[i * n + j] = s;
      out.data[j * n + i] = s;
    }
  }
  return out;
}

/** Upper-triangular U with a = Uᵀ·U (torch.linalg.cholesky(a, upper=True)). */
export function upperCholesky(a: Matrix): Matrix {
  const l = cholesky(a);
  const n = a.rows;
  const u = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u.data[j * n + i] = l.data[i * n + j];
  return u;
}

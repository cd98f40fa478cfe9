// Cholesky-QR for tall-skinny blocks Y: [n, k], n ≥ k: Y = Q·R from the k×k float64 Gram YᵀY.
// The only O(n·k²) work is the Gram and one triangular solve, both simple loops that a GPU
// or BLAS does well; Householder would be more stable but sequential. One pass loses
// orthogonality like κ(Y)²·u, so:
//   choleskyQR2        — two passes: orthogonal to O(u) whenever κ(Y) ≲ u^-½ ≈ 1e8
//                        (Yamamoto, Nakatsukasa, Yanagisawa, Fukaya 2015);
//   shiftedCholeskyQR3 — a shifted first pass makes it work up to κ(Y) ≲ u⁻¹
//                        (Fukaya, Kannan, Nakatsukasa, Zhang, Yamamoto 2020).
// Exactly rank-deficient Y still throws NotPositiveDefiniteError: callers decide what a
// missing direction means (the randomized eigensolver replaces it with a random one).
import { cholesky } from './cholesky.js';
import { gram, zeros, type Matrix } from './matrix.js';

export interface QR {
  /** [n, k], orthonormal columns. */
  Q: Matrix;
  /** [k, k], upper triangular: span(Q[:, :j]) = span(Y[:, :j]) for every j. */
  R: Matrix;
}

/** One pass: YᵀY + shift·I = RᵀR, Q = Y·R⁻¹. */
export function choleskyQR(Y: Matrix, shift = 0): QR {
  const { rows: n, cols: k } = Y;
  const G = gram(Y);
  for (let i = 0; i < k; i++) G.data[i * k + i] += shift;
  const L = cholesky(G).data; // G = L·Lᵀ, R = Lᵀ
  const R = zeros(k, k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) R.data[i * k + j] = L[j * k + i];
  // Row by row, q·R = y: forward substitution along the row (R upper ⇒ column j uses q[<j]).
  const Q = zeros(n, k);
  for (let r = 0; r < n; r++) {
    const row = r * k;
    for (let j = 0; j < k; j++) {
      let s = Y.data[row + j];
      for (let i = 0; i < j; i++) s -= Q.data[row + i] * L[j * k + i];
      Q.data[row + j] = s / L[j * k + j];
    }
  }
  return { Q, R };
}

export function choleskyQR2(Y: Matrix): QR {
  const first = choleskyQR(Y);
  const second = choleskyQR(first.Q);
  return { Q: second.Q, R: upperProduct(second.R, first.R) };
}

export function shiftedCholeskyQR3(Y: Matrix): QR {
  const { rows: n, cols: k } = Y;
  let frobeniusSq = 0;
  for (const v of Y.data) frobeniusSq += v * v; // ≥ ‖Y‖₂², so the shift is on the safe side
  const shift = 11 * (n * k + k * (k + 1)) * 2 ** -52 * frobeniusSq;
  const first = choleskyQR(Y, shift);
  const rest = choleskyQR2(first.Q);
  return { Q: rest.Q, R: upperProduct(rest.R, first.R) };
}

/** a·b for upper-triangular a, b: [k, k]. */
function upperProduct(a: Matrix, b: Matrix): Matrix {
  const k = a.rows;
  const c = zeros(k, k);
  for (let i = 0; i < k; i++)
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let p = i; p <= j; p++) s += a.data[i * k + p] * b.data[p * k + j];
      c.data[i * k + j] = s;
    }
  return c;
}

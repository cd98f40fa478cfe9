// Symmetric eigendecomposition a = Q·diag(λ)·Qᵀ in float64: Householder reduction to
// tridiagonal form, then the implicit QL algorithm (the EISPACK tred2/tql2 pair, as in JAMA).
// O(n³) with a small constant: right for n up to a few hundred (k×k problems, small layers).
import { hypot, zeros, type Matrix } from './matrix.js';

export interface SymmetricEigen {
  /** Eigenvalues in descending order. */
  values: Float64Array;
  /** [n, n]; column i is the unit eigenvector of values[i]. */
  vectors: Matrix;
}

/** vectors: false skips accumulating the transformations (≈ 4/3·n³ flops instead of ≈ 9·n³); `vectors` is then empty. */
export function symmetricEigen(a: Matrix, { vectors: wanted = true } = {}): SymmetricEigen {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`symmetricEigen: matrix is [${a.rows}, ${a.cols}], not square`);
  const V = new Float64Array(n * n);
  // Symmetrize on copy: callers pass Gram-type matrices whose halves may differ by rounding.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) V[i * n + j] = 0.5 * (a.data[i * n + j] + a.data[j * n + i]);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n > 0) {
    tridiagonalize(V, d, e, n, wanted);
    if (wanted) transposeInPlace(V, n); // QL rotates pairs of columns: as rows they are contiguous
    diagonalize(V, d, e, n, wanted);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = zeros(wanted ? n : 0, wanted ? n : 0);
  if (wanted) for (let c = 0; c < n; c++) for (let r = 0; r < n; r++) vectors.data[r * n + c] = V[order[c] * n + r];
  return { values, vectors };
}

export interface TridiagonalForm {
  /** [n] diagonal of T. */
  d: Float64Array;
  /** [n] off-diagonal: e[i] = T[i][i−1], e[0] = 0. */
  e: Float64Array;
  /**
   * a = Q·T·Qᵀ with Q = P_{n−1}⋯P_1, P_i = I − u_i·u_iᵀ/h_i, u_i: column i of U above the
   * diagonal (h_i = 0: P_i = I) — so Q·z costs 2·n² per vector, and a caller that wants a few
   * eigenvectors (inverse iteration on T) skips both accumulations (≈ 4/3·n³ + 3·n³).
   */
  U: Matrix;
  h: Float64Array;
}

export function tridiagonalForm(a: Matrix): TridiagonalForm {
  const n = a.rows;
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) V[i * n + j] = 0.5 * (a.data[i * n + j] + a.data[j * n + i]);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  const h = new Float64Array(n);
  if (n > 0) tridiagonalize(V, d, e, n, false, h);
  return { d, e, U: { rows: n, cols: n, data: V }, h };
}

/** Eigenvalues, descending, of the tridiagonal (d, e) of tridiagonalForm (inputs unchanged). */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const values = d.slice();
  if (values.length > 0) diagonalize(new Float64Array(0), values, e.slice(), values.length, false);
  return values.sort().reverse();
}

function transposeInPlace(V: Float64Array, n: number) {
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) {
      const t = V[i * n + j];
      V[i * n + j] = V[j * n + i];
      V[j * n + i] = t;
    }
}

/**
 * Householder tridiagonalization (tred2); V accumulates the transformations. The reduction runs
 * on the transpose of EISPACK's layout — the working matrix in the upper triangle, reflector i
 * in row i — so that every inner loop walks a row (stride 1): the column walks of the textbook
 * order ran at 0.75 GFLOP/s at n = 512 and 1024 (a power-of-two stride evicting its own cache
 * lines) against 1.7 at 768. Same operations in the same order, then one transpose back.
 */
function tridiagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean, h?: Float64Array) {
  for (let j = 0; j < n; j++) d[j] = V[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[j * n + (i - 1)];
        V[j * n + i] = 0;
        V[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[i * n + j] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[j * n + k] * d[k];
          e[k] += V[j * n + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[j * n + k] -= f * e[k] + g * d[k];
        d[j] = V[j * n + (i - 1)];
        V[j * n + i] = 0;
      }
    }
    d[i] = h;
  }
  transposeInPlace(V, n); // back to tred2's layout: working lower triangle, reflector i in column i
  if (!accumulate) {
    h?.set(d); // d[i] holds h_i of reflector i here
    for (let j = 0; j < n; j++) d[j] = V[j * n + j]; // the reduced diagonal, as the accumulation below would leave it
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL iterations on the tridiagonal (d, e) (tql2); V holds the eigenvectors as rows. */
function diagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean) {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > 60) throw new Error('symmetricEigen: QL did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (accumulate)
            for (let k = 0; k < n; k++) {
              h = V[(i + 1) * n + k];
              V[(i + 1) * n + k] = s * V[i * n + k] + c * h;
              V[i * n + k] = c * V[i * n + k] - s * h;
            }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

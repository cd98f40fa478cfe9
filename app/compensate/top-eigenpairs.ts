// The k largest eigenpairs of a symmetric T: [n, n] with k ≪ n — the Rayleigh–Ritz at the end of
// block Krylov (n = the Krylov space, ~700 at 4096², k = r_max). The full eigendecomposition
// accumulates every QL rotation (≈ 9·n³ flops, 2.0 s at n = 700 in V8); here: Householder to
// tridiagonal form (≈ 4/3·n³), eigenvalues of the tridiagonal (O(n²)), then only the k wanted
// eigenvectors of the tridiagonal by inverse iteration (O(n) per solve, as LAPACK's dstein),
// taken back through the stored reflectors (2·n²·k; LAPACK's dormtr) — or, for block Krylov's
// banded T, through the band reduction's rotations (≈ 3·n²·k).
//
// Inverse iteration with a shift at an eigenvalue accurate to ~u·‖T‖ converges in one or two
// solves. Close eigenvalues give nearly parallel iterates, so (dstein's rules) shifts closer
// than 10·u·‖T‖ are pushed apart and each vector is orthogonalized against those of its cluster
// (eigenvalues within 1e-3·‖T‖ of their neighbour) after every solve.
import { tridiagonalEigenvalues, tridiagonalForm, type TridiagonalForm } from '../linalg/eigen.js';
import { applyBandQ, type BandTridiagonalForm } from '../linalg/band-tridiagonal.js';
import { zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';

export interface TopEigenpairs {
  /** [n] all eigenvalues, descending. */
  values: Float64Array;
  /** [n, k] orthonormal eigenvectors of the k largest. */
  vectors: Matrix;
}

const SOLVES = 3;

/**
 * form: T's reduction when the caller already has it (block Krylov's last stopping check):
 * Householder (eigen.ts' tridiagonalForm, the default) or, for a banded T, rotations
 * (band-tridiagonal.ts) — the eigenvectors are taken back through whichever it is.
 */
export function topEigenpairs(T: Matrix, k: number, form: TridiagonalForm | BandTridiagonalForm = tridiagonalForm(T)): TopEigenpairs {
  const n = T.rows;
  if (!(k >= 0 && k <= n)) throw new RangeError(`topEigenpairs: k = ${k} must be in [0, ${n}]`);
  if (form.d.length !== n) throw new RangeError(`topEigenpairs: tridiagonal form is of order ${form.d.length}, T of ${n}`);
  const values = tridiagonalEigenvalues(form.d, form.e);
  const rows = tridiagonalEigenvectors(form.d, form.e, values.subarray(0, k)); // k vectors of T's tridiagonal, one per row
  if ('U' in form) applyQ(form, rows, k);
  const vectors = zeros(n, k);
  for (let j = 0; j < k; j++) for (let i = 0; i < n; i++) vectors.data[i * k + j] = rows[j * n + i];
  if (!('U' in form)) applyBandQ(form, vectors); // [n, k]: each rotation updates two contiguous rows
  return { values, vectors };
}

/** z ← Q·z = P_{n−1}(⋯(P_1·z)) for each of the k vectors in rows: [k, n]. */
function applyQ({ U, h }: TridiagonalForm, rows: Float64Array, k: number) {
  const n = U.rows;
  const u = new Float64Array(n);
  for (let i = 1; i < n; i++) {
    if (h[i] === 0) continue;
    for (let j = 0; j < i; j++) u[j] = U.data[j * n + i];
    for (let c = 0; c < k; c++) {
      const z = rows.subarray(c * n, c * n + i);
      let dot = 0;
      for (let j = 0; j < i; j++) dot += u[j] * z[j];
      const f = dot / h[i];
      for (let j = 0; j < i; j++) z[j] -= f * u[j];
    }
  }
}

/** [k, n]: unit eigenvectors, one per row, of the tridiagonal (d, e) for the given eigenvalues (descending). */
function tridiagonalEigenvectors(d: Float64Array, e: Float64Array, lambdas: Float64Array): Float64Array {
  const n = d.length;
  const k = lambdas.length;
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]) + Math.abs(e[i]) + (i + 1 < n ? Math.abs(e[i + 1]) : 0));
  const eps = 2 ** -52;
  const separation = 10 * eps * norm; // shifts closer than this are pushed apart
  const clusterGap = 1e-3 * norm; // eigenvalues this close: orthogonalize their vectors
  const random = rng(0x7a11);
  const rows = new Float64Array(k * n); // vector j in rows[j·n …]
  const lu = new TridiagonalLU(n);
  let clusterStart = 0;
  let shift = Infinity;
  for (let j = 0; j < k; j++) {
    if (j > 0 && lambdas[j - 1] - lambdas[j] > clusterGap) clusterStart = j;
    shift = Math.min(lambdas[j], shift - separation);
    lu.factor(d, e, shift, eps * norm);
    const x = rows.subarray(j * n, (j + 1) * n);
    for (let i = 0; i < n; i++) x[i] = random.uniform() - 0.5;
    for (let solve = 0; solve < SOLVES; solve++) {
      lu.solve(x);
      for (let c = clusterStart; c < j; c++) {
        const y = rows.subarray(c * n, (c + 1) * n);
        let dot = 0;
        for (let i = 0; i < n; i++) dot += x[i] * y[i];
        for (let i = 0; i < n; i++) x[i] -= dot * y[i];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      const scale = 1 / Math.sqrt(s);
      for (let i = 0; i < n; i++) x[i] *= scale;
    }
  }
  return rows;
}

/**
 * T − σ·I = P·L·U by Gaussian elimination with partial pivoting (LAPACK's dgttrf): U has two
 * super-diagonals; a zero pivot becomes `tiny` (the shift is an eigenvalue: near-singular is
 * the point of inverse iteration, and the growth it causes is normalized away).
 */
class TridiagonalLU {
  private readonly u0: Float64Array;
  private readonly u1: Float64Array;
  private readonly u2: Float64Array;
  private readonly multiplier: Float64Array;
  private readonly swapped: Uint8Array;

  constructor(private readonly n: number) {
    this.u0 = new Float64Array(n);
    this.u1 = new Float64Array(n);
    this.u2 = new Float64Array(n);
    this.multiplier = new Float64Array(n);
    this.swapped = new Uint8Array(n);
  }

  /** d: diagonal, e[i] = T[i][i−1] (e[0] unused). */
  factor(d: Float64Array, e: Float64Array, sigma: number, tiny: number) {
    const { n, u0, u1, u2, multiplier, swapped } = this;
    let a = d[0] - sigma; // current pivot-row diagonal
    let b = n > 1 ? e[1] : 0; // its super-diagonal
    for (let i = 0; i < n - 1; i++) {
      const c = e[i + 1]; // sub-diagonal below the pivot
      const nextDiagonal = d[i + 1] - sigma;
      const nextSuper = i + 2 < n ? e[i + 2] : 0;
      if (Math.abs(a) >= Math.abs(c)) {
        if (a === 0) a = tiny;
        const l = c / a;
        [u0[i], u1[i], u2[i], multiplier[i], swapped[i]] = [a, b, 0, l, 0];
        a = nextDiagonal - l * b;
        b = nextSuper;
      } else {
        const l = a / c;
        [u0[i], u1[i], u2[i], multiplier[i], swapped[i]] = [c, nextDiagonal, nextSuper, l, 1];
        a = b - l * nextDiagonal;
        b = -l * nextSuper;
      }
    }
    u0[n - 1] = a === 0 ? tiny : a;
  }

  /** x ← (T − σ·I)⁻¹·x. */
  solve(x: Float64Array) {
    const { n, u0, u1, u2, multiplier, swapped } = this;
    for (let i = 0; i < n - 1; i++) {
      if (swapped[i]) [x[i], x[i + 1]] = [x[i + 1], x[i]];
      x[i + 1] -= multiplier[i] * x[i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let v = x[i];
      if (i + 1 < n) v -= u1[i] * x[i + 1];
      if (i + 2 < n) v -= u2[i] * x[i + 2];
      x[i] = v / u0[i];
    }
  }
}

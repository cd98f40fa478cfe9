// topEigenpairs (tridiagonal form, inverse iteration for k vectors) against the full float64
// eigendecomposition: the same values, orthonormal vectors with residuals at the rounding level,
// also for repeated eigenvalues (a rank-deficient Gram: a zero eigenvalue of multiplicity n − r)
// and a cluster of equal ones, where only the span is defined.
import { describe, expect, it } from 'vitest';
import { symmetricEigen, tridiagonalForm } from '../linalg/eigen.js';
import { gemm } from '../linalg/gemm.js';
import { gram, transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import { topEigenpairs } from './top-eigenpairs.js';

function gaussian(rows: number, cols: number, seed: number): Matrix {
  const random = rng(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = random.normal();
  return m;
}

/** Q·diag(values)·Qᵀ with a random orthogonal Q (eigenvectors of a random Gram). */
function withSpectrum(values: number[], seed: number): Matrix {
  const n = values.length;
  const Q = symmetricEigen(gram(gaussian(2 * n, n, seed))).vectors;
  const D = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) D.data[i * n + j] = Q.data[i * n + j] * values[j];
  return gemm(D, transpose(Q));
}

const cases = [
  { name: 'random Gram', T: gram(gaussian(300, 200, 1)), k: 60 },
  { name: 'rank-deficient Gram (rank 30 < k = 50)', T: gram(gaussian(30, 120, 2)), k: 50 },
  { name: 'a cluster of 20 equal eigenvalues inside the top k', T: withSpectrum(Array.from({ length: 90 }, (_, i) => (i >= 10 && i < 30 ? 5 : 10 * 0.9 ** i)), 3), k: 40 },
  { name: 'graded: eigenvalues over 14 decades', T: withSpectrum(Array.from({ length: 80 }, (_, i) => 10 ** (-i / 6)), 4), k: 80 },
  { name: 'n = 1', T: { rows: 1, cols: 1, data: Float64Array.of(3) }, k: 1 },
];

describe('topEigenpairs vs the full eigendecomposition', () => {
  for (const { name, T, k } of cases)
    it(name, () => {
      const n = T.rows;
      const exact = symmetricEigen(T).values;
      const { values, vectors: V } = topEigenpairs(T, k);
      const norm = Math.abs(exact[0]) + Math.abs(exact[n - 1]);
      for (let i = 0; i < n; i++) expect(Math.abs(values[i] - exact[i])).toBeLessThan(1e-12 * norm);
      const G = gram(V);
      const TV = gemm(T, V);
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < k; i++) expect(Math.abs(G.data[i * k + j] - (i === j ? 1 : 0)), `⟨v${i}, v${j}⟩`).toBeLessThan(1e-10);
        let residual = 0;
        for (let r = 0; r < n; r++) residual += (TV.data[r * k + j] - values[j] * V.data[r * k + j]) ** 2;
        expect(Math.sqrt(residual), `‖T·v${j} − λ·v${j}‖`).toBeLessThan(1e-10 * norm);
      }
    });
});

describe('topEigenpairs with a given tridiagonal form (block Krylov reuses its last check)', () => {
  it('gives the same pairs as computing the form itself', () => {
    const T = gram(gaussian(120, 80, 5));
    const own = topEigenpairs(T, 20);
    const reused = topEigenpairs(T, 20, tridiagonalForm(T));
    expect(Array.from(reused.values)).toEqual(Array.from(own.values));
    expect(Array.from(reused.vectors.data)).toEqual(Array.from(own.vectors.data));
  });
  it('rejects a form of another order', () => {
    expect(() => topEigenpairs(gram(gaussian(20, 10, 6)), 3, tridiagonalForm(gram(gaussian(20, 12, 7))))).toThrow(/order 12, T of 10/);
  });
});

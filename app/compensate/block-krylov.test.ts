// Block Krylov against the exact float64 eigendecomposition (linalg/eigen.ts) of small explicit
// PSD matrices that the solver only sees through products: values within the precision it
// states, the error of every rank-r prefix within 0.1 % of the optimum when tr(M) is given,
// orthonormal Ritz vectors, Ritz values never above the eigenvalues (Rayleigh–Ritz interlacing),
// the values-only mode giving the same values, and the Rayleigh–Ritz taking the band reduction
// (block Lanczos' T is banded) where T is banded and the dense one where it is not.
import { describe, expect, it } from 'vitest';
import { symmetricEigen, tridiagonalEigenvalues } from '../linalg/eigen.js';
import { gemm } from '../linalg/gemm.js';
import { gram, trace, transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import { blockKrylovEigen, krylovReduction, nextCheckAt } from './block-krylov.js';

/** A = Xᵀ·X for X: [tokens, n] with channel scales exp(spread·z): rank min(tokens, n). */
function psd(n: number, tokens: number, spread: number, seed: number): Matrix {
  const random = rng(seed);
  const scale = Float64Array.from({ length: n }, () => Math.exp(spread * random.normal()));
  const X = zeros(tokens, n);
  for (let t = 0; t < tokens; t++) for (let j = 0; j < n; j++) X.data[t * n + j] = scale[j] * random.normal();
  return gram(X);
}

const cases = [
  { name: 'full rank, correlated scales', A: psd(300, 900, 1, 1), k: 40 },
  { name: 'rank-deficient (60 tokens, n = 200, k = 80 > rank)', A: psd(200, 60, 1, 2), k: 80 },
  { name: 'condition number ≫ 1e16 (scales over twelve decades)', A: psd(240, 600, 4, 3), k: 32 },
  { name: 'flat (noise-like) spectrum', A: psd(250, 400, 0, 4), k: 48 },
  { name: 'k = n: the whole space', A: psd(64, 200, 1, 5), k: 64 },
] as const;

describe('blockKrylovEigen vs exact float64 eigh', () => {
  for (const { name, A, k } of cases)
    it(name, async () => {
      const n = A.rows;
      const exact = symmetricEigen(A).values;
      const apply = async (Y: Matrix) => gemm(A, Y);
      const found = await blockKrylovEigen(apply, n, k, { trace: trace(A) });
      expect(found.converged).toBe(true);
      expect(found.bandChecks, 'stopping tests on the band reduction').toBeGreaterThan(0); // T of block Lanczos is banded
      expect(found.precision).toBeLessThanOrEqual(1e-3);
      const top = exact[0];
      for (let i = 0; i < k; i++) {
        expect(found.values[i], `θ_${i} ≤ λ_${i}`).toBeLessThanOrEqual(exact[i] + 1e-12 * top);
        if (exact[i] > 1e-12 * top) expect(Math.abs(found.values[i] / exact[i] - 1), `θ_${i}`).toBeLessThanOrEqual(Math.max(found.precision, 1e-12));
      }
      // err(r) = tr(A) − Σ_{i≤r} θᵢ of the returned basis against the optimum tr(A) − Σ λᵢ.
      let ours = trace(A);
      let optimum = ours;
      for (let r = 0; r < k; r++) {
        ours -= found.values[r];
        optimum -= Math.max(exact[r], 0);
        expect(ours, `r = ${r + 1}`).toBeLessThanOrEqual(optimum * (1 + 1e-3) + 1e-11 * trace(A));
      }
      // Ritz vectors: orthonormal, and their Rayleigh quotients are the returned values.
      const V = found.vectors;
      const G = gram(V);
      const AV = gemm(transpose(V), gemm(A, V));
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          expect(Math.abs(G.data[i * k + j] - (i === j ? 1 : 0))).toBeLessThan(1e-10);
          if (i === j) expect(Math.abs(AV.data[i * k + i] - found.values[i])).toBeLessThan(1e-10 * top);
        }
      // Values only (C's spectrum): the same values, no vectors.
      const valuesOnly = await blockKrylovEigen(apply, n, k, { trace: trace(A), vectors: false });
      expect(valuesOnly.vectors.cols).toBe(0);
      for (let i = 0; i < k; i++) expect(Math.abs(valuesOnly.values[i] - found.values[i])).toBeLessThanOrEqual(1e-12 * top);
    });

  it('stops once the stated tolerance is met: a looser tolerance takes fewer columns', async () => {
    const A = psd(400, 800, 0.5, 6);
    const apply = async (Y: Matrix) => gemm(A, Y);
    const [tight, loose] = [await blockKrylovEigen(apply, 400, 32, { tolerance: 1e-6 }), await blockKrylovEigen(apply, 400, 32, { tolerance: 1e-2 })];
    expect(loose.iterations).toBeLessThan(tight.iterations);
    expect(loose.precision).toBeLessThanOrEqual(1e-2);
    expect(tight.precision).toBeLessThanOrEqual(1e-6);
  });

  it('reduction: a banded T takes the band reduction, a dense one the Householder one; same eigenvalues', () => {
    const n = 90;
    const b = 8;
    const dense = psd(n, 200, 1, 8);
    const banded = zeros(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (Math.abs(i - j) <= b) banded.data[i * n + j] = dense.data[i * n + j];
    for (const [T, kind] of [[banded, 'band'], [dense, 'dense']] as const) {
      const form = krylovReduction(T, b, 1e-12);
      expect(form.kind).toBe(kind);
      const exact = symmetricEigen(T).values;
      const values = tridiagonalEigenvalues(form.d, form.e);
      for (let i = 0; i < n; i++) expect(Math.abs(values[i] - exact[i])).toBeLessThan(1e-12 * n * Math.abs(exact[0]));
    }
  });

  it('cancels between applications', async () => {
    const A = psd(200, 400, 1, 7);
    const controller = new AbortController();
    const apply = async (Y: Matrix) => {
      controller.abort();
      return gemm(A, Y);
    };
    await expect(blockKrylovEigen(apply, 200, 16, { signal: controller.signal })).rejects.toThrow();
  });

  it('nextCheckAt: whole blocks, at least one on, never past the ×1.2 size; the geometric size without a prediction', () => {
    const b = 32;
    for (const s of [288, 352, 832, 1000])
      for (const toGo of [0, 1, 31, 33, 100, 1e4, Infinity]) {
        const next = nextCheckAt(s, b, toGo);
        const geometric = Math.max(s + b, Math.ceil((1.2 * s) / b) * b);
        expect(next % b === 0 || next === s + b, `s ${s}, toGo ${toGo}`).toBe(true);
        expect(next).toBeGreaterThanOrEqual(s + b);
        expect(next).toBeLessThanOrEqual(geometric);
        if (toGo === Infinity || toGo >= 1e4) expect(next).toBe(geometric);
        if (toGo === 0) expect(next).toBe(s + b);
      }
    expect(nextCheckAt(832, 32, 40)).toBe(896); // 832 + 1.25·40 = 882 → the next block boundary
  });
});

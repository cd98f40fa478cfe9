// Band → tridiagonal reduction against the dense float64 eigensolver on small random band
// matrices: the same eigenvalues (1e-12 relative to ‖A‖), the recorded rotations form an
// orthogonal Gᵀ with Gᵀ·T·G = A, and what the band drops is measured.
import { describe, expect, it } from 'vitest';
import { applyBandQ, bandTridiagonalForm, lowerBand, outOfBandFraction } from './band-tridiagonal.js';
import { symmetricEigen } from './eigen.js';
import { gemm } from './gemm.js';
import { identity, transpose, zeros, type Matrix } from './matrix.js';
import { rng } from './random.js';

/** Random symmetric [n, n] with semi-bandwidth b (entries scaled over `decades` decades along the diagonal). */
function randomBand(n: number, b: number, seed: number, decades = 0): Matrix {
  const random = rng(seed);
  const a = zeros(n, n);
  for (let i = 0; i < n; i++)
    for (let j = Math.max(0, i - b); j <= i; j++) {
      const v = random.normal() * 10 ** (-(decades * (i + j)) / (2 * n));
      a.data[i * n + j] = a.data[j * n + i] = v;
    }
  return a;
}

function tridiagonal(d: Float64Array, e: Float64Array): Matrix {
  const n = d.length;
  const t = zeros(n, n);
  for (let i = 0; i < n; i++) {
    t.data[i * n + i] = d[i];
    if (i > 0) t.data[i * n + i - 1] = t.data[(i - 1) * n + i] = e[i];
  }
  return t;
}

const maxAbs = (a: Matrix) => a.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const cases = [
  { n: 60, b: 8, seed: 1 },
  { n: 97, b: 13, seed: 2 },
  { n: 40, b: 1, seed: 3 }, // already tridiagonal: no rotations
  { n: 20, b: 32, seed: 4 }, // band wider than the matrix: dense
  { n: 128, b: 32, seed: 5, decades: 12 },
  { n: 3, b: 2, seed: 6 },
  { n: 1, b: 4, seed: 7 },
];

describe('bandTridiagonalForm vs the dense eigensolver', () => {
  for (const { n, b, seed, decades } of cases)
    it(`n = ${n}, b = ${b}${decades ? `, entries over ${decades} decades` : ''}`, () => {
      const A = randomBand(n, b, seed, decades);
      const norm = maxAbs(A) * n;
      const form = bandTridiagonalForm(lowerBand(A, b), n, b);
      const exact = symmetricEigen(A).values;
      const reduced = symmetricEigen(tridiagonal(form.d, form.e)).values;
      for (let i = 0; i < n; i++) expect(Math.abs(reduced[i] - exact[i]), `λ${i}`).toBeLessThan(1e-12 * norm);
      if (b <= 1) expect(form.rotations).toBe(0);
      // Gᵀ from the rotations applied to I: orthogonal, and Gᵀ·T·G reproduces A.
      const Gt = identity(n);
      applyBandQ(form, Gt);
      const GtG = gemm(transpose(Gt), Gt);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(GtG.data[i * n + j] - (i === j ? 1 : 0))).toBeLessThan(1e-13 * n);
      const back = gemm(gemm(Gt, tridiagonal(form.d, form.e)), transpose(Gt));
      for (let i = 0; i < n * n; i++) expect(Math.abs(back.data[i] - A.data[i])).toBeLessThan(1e-13 * norm);
    });

  it('property: the reduction is a similarity — trace and Frobenius norm are kept', () => {
    for (let seed = 10; seed < 20; seed++) {
      const random = rng(seed);
      const n = 5 + Math.floor(random.uniform() * 60);
      const b = 1 + Math.floor(random.uniform() * 12);
      const A = randomBand(n, b, seed);
      const { d, e } = bandTridiagonalForm(lowerBand(A, b), n, b);
      let trace = 0;
      let frob = 0;
      for (let i = 0; i < n; i++) {
        trace += A.data[i * n + i];
        for (let j = 0; j < n; j++) frob += A.data[i * n + j] ** 2;
      }
      const reducedTrace = d.reduce((s, v) => s + v, 0);
      const reducedFrob = d.reduce((s, v) => s + v * v, 0) + 2 * e.reduce((s, v) => s + v * v, 0);
      expect(Math.abs(reducedTrace - trace)).toBeLessThan(1e-12 * Math.sqrt(frob) * n);
      expect(Math.abs(reducedFrob - frob)).toBeLessThan(1e-12 * frob);
    }
  });

  it('outOfBandFraction measures exactly what lowerBand leaves out', () => {
    const A = randomBand(30, 29, 8); // dense
    const b = 4;
    let dropped = 0;
    let total = 0;
    for (let i = 0; i < 30; i++)
      for (let j = 0; j < 30; j++) {
        total += A.data[i * 30 + j] ** 2;
        if (Math.abs(i - j) > b) dropped += A.data[i * 30 + j] ** 2;
      }
    expect(outOfBandFraction(A, b)).toBeCloseTo(Math.sqrt(dropped / total), 12);
    expect(outOfBandFraction(randomBand(30, b, 9), b)).toBe(0);
  });

  it('rejects a band of the wrong size', () => {
    expect(() => bandTridiagonalForm(new Float64Array(10), 4, 2)).toThrow(/\[4, 4\] needs 16/);
  });
});

import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, NotPositiveDefiniteError, upperCholesky } from './cholesky.js';
import { symmetricEigen } from './eigen.js';
import { fromArray, gram, hypot, identity, matmul, maxRelativeError, transpose, zeros, type Matrix } from './matrix.js';
import { rng } from './random.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  return fromArray(rows, cols, Array.from({ length: rows * cols }, () => r.normal()));
}

/** Slow, obviously correct product for checking matmul. */
function naiveProduct(a: Matrix, b: Matrix): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k] * b.data[k * b.cols + j];
      out.push(s);
    }
  return out;
}

describe('matrix', () => {
  it('matmul and gram match the definition', () => {
    const a = randomMatrix(7, 5, 1);
    const b = randomMatrix(5, 3, 2);
    expect(maxRelativeError(matmul(a, b).data, naiveProduct(a, b))).toBeLessThan(1e-14);
    expect(maxRelativeError(gram(a).data, naiveProduct(transpose(a), a))).toBeLessThan(1e-14);
  });
});

describe('cholesky', () => {
  const x = randomMatrix(40, 12, 3);
  const spd = gram(x); // 12×12, positive definite with probability 1

  it('L·Lᵀ reproduces the matrix and L is lower triangular', () => {
    const l = cholesky(spd);
    expect(maxRelativeError(matmul(l, transpose(l)).data, spd.data)).toBeLessThan(1e-13);
    for (let i = 0; i < 12; i++) for (let j = i + 1; j < 12; j++) expect(l.data[i * 12 + j]).toBe(0);
  });

  it('choleskyInverse is the inverse', () => {
    expect(maxRelativeError(matmul(spd, choleskyInverse(spd)).data, identity(12).data)).toBeLessThan(1e-10);
  });

  it('upperCholesky gives Uᵀ·U', () => {
    const u = upperCholesky(spd);
    expect(maxRelativeError(matmul(transpose(u), u).data, spd.data)).toBeLessThan(1e-13);
  });

  it('names the failing pivot of an indefinite matrix', () => {
    const m = fromArray(2, 2, [1, 2, 2, 1]);
    expect(() => cholesky(m)).toThrow(NotPositiveDefiniteError);
    expect(() => cholesky(m)).toThrow(/pivot 1/);
  });
});

describe('symmetricEigen', () => {
  for (const n of [1, 2, 9, 60]) {
    it(`decomposes a random symmetric ${n}×${n}: A·q = λ·q, Qᵀ·Q = I, descending`, () => {
      const r = randomMatrix(n, n, 10 + n);
      const a = zeros(n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.data[i * n + j] = r.data[i * n + j] + r.data[j * n + i];
      const { values, vectors } = symmetricEigen(a);
      const av = matmul(a, vectors);
      for (let c = 0; c < n; c++) for (let i = 0; i < n; i++) av.data[i * n + c] -= values[c] * vectors.data[i * n + c];
      const scale = Math.max(...values.map(Math.abs));
      expect(Math.max(...av.data.map(Math.abs)) / scale).toBeLessThan(1e-12);
      expect(maxRelativeError(matmul(transpose(vectors), vectors).data, identity(n).data)).toBeLessThan(1e-12);
      for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    });
  }

  it('handles a rank-deficient Gram matrix (zero eigenvalues, trace preserved)', () => {
    const x = randomMatrix(3, 10, 5); // rank 3
    const { values } = symmetricEigen(gram(x));
    const total = values.reduce((s, v) => s + v, 0);
    expect(Math.abs(total - gram(x).data.filter((_, i) => i % 11 === 0).reduce((s, v) => s + v, 0)) / total).toBeLessThan(1e-12);
    for (let i = 3; i < 10; i++) expect(Math.abs(values[i]) / values[0]).toBeLessThan(1e-12);
  });
});

describe('hypot', () => {
  it('equals Math.hypot to rounding over the whole float64 range, zero and extremes included', () => {
    const r = rng(41);
    for (let i = 0; i < 2000; i++) {
      const [a, b] = [r.normal() * 10 ** Math.round(600 * r.uniform() - 300), r.normal() * 10 ** Math.round(600 * r.uniform() - 300)];
      const want = Math.hypot(a, b);
      expect(Math.abs(hypot(a, b) - want), `hypot(${a}, ${b})`).toBeLessThanOrEqual(4 * Number.EPSILON * want);
    }
    expect(hypot(0, 0)).toBe(0);
    expect(hypot(3e200, 4e200)).toBeCloseTo(5e200, -190);
    expect(hypot(3e-200, 4e-200) / 5e-200).toBeCloseTo(1, 14);
  });
});

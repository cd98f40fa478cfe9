import { describe, expect, it } from 'vitest';
import { choleskyInverse, NotPositiveDefiniteError, upperCholesky } from './cholesky.js';
import { invertUpper, upperCholeskyOfInverse, upperTimesTranspose } from './inverse-cholesky.js';
import { fromArray, gram, identity, matmul, maxRelativeError, transpose, type Matrix } from './matrix.js';
import { rng } from './random.js';

function spd(n: number, seed: number): Matrix {
  const r = rng(seed);
  return gram(fromArray(3 * n, n, Array.from({ length: 3 * n * n }, () => r.normal())));
}

describe('upperCholeskyOfInverse', () => {
  const a = spd(30, 9);

  it('a = U·Uᵀ with U upper triangular, and U·U⁻¹ = I', () => {
    const u = upperTimesTranspose(a);
    expect(maxRelativeError(matmul(u, transpose(u)).data, a.data)).toBeLessThan(1e-13);
    for (let i = 0; i < 30; i++) for (let j = 0; j < i; j++) expect(u.data[i * 30 + j]).toBe(0);
    expect(maxRelativeError(matmul(u, invertUpper(u)).data, identity(30).data)).toBeLessThan(1e-12);
  });

  it('equals torch’s chain cholesky → cholesky_inverse → cholesky(upper=True)', () => {
    const v = upperCholeskyOfInverse(a);
    expect(maxRelativeError(v.data, upperCholesky(choleskyInverse(a)).data)).toBeLessThan(1e-10);
    expect(maxRelativeError(matmul(transpose(v), v).data, choleskyInverse(a).data)).toBeLessThan(1e-10);
  });

  it('names the failing pivot of a matrix that is not positive definite', () => {
    const bad = identity(4);
    bad.data[2 * 4 + 2] = -1;
    expect(() => upperCholeskyOfInverse(bad)).toThrow(NotPositiveDefiniteError);
    expect(() => upperCholeskyOfInverse(bad)).toThrow('pivot 2');
  });
});

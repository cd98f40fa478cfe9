import { describe, expect, it } from 'vitest';
import { NotPositiveDefiniteError } from './cholesky.js';
import { choleskyQR2, shiftedCholeskyQR3 } from './cholesky-qr.js';
import { gemm } from './gemm.js';
import { fromArray, identity, matmul, maxRelativeError, transpose, type Matrix } from './matrix.js';
import { rng } from './random.js';

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  return fromArray(rows, cols, Array.from({ length: rows * cols }, () => r.normal()));
}

describe('gemm', () => {
  it('gives matmul’s result bit for bit, including the row tail', () => {
    const a = randomMatrix(11, 7, 1);
    const b = randomMatrix(7, 5, 2);
    expect(Array.from(gemm(a, b).data)).toEqual(Array.from(matmul(a, b).data));
    expect(() => gemm(a, a)).toThrow(/gemm/);
  });
});

describe('Cholesky-QR', () => {
  const orthogonality = (Q: Matrix) => maxRelativeError(matmul(transpose(Q), Q).data, identity(Q.cols).data);

  it('choleskyQR2: Qᵀ·Q = I to rounding, Q·R = Y, R upper triangular', () => {
    const Y = randomMatrix(300, 20, 3);
    const { Q, R } = choleskyQR2(Y);
    expect(orthogonality(Q)).toBeLessThan(1e-14);
    expect(maxRelativeError(matmul(Q, R).data, Y.data)).toBeLessThan(1e-14);
    for (let i = 0; i < 20; i++) for (let j = 0; j < i; j++) expect(R.data[i * 20 + j]).toBe(0);
  });

  it('κ = 1e12 breaks the plain Gram; the shifted variant still orthonormalizes', () => {
    // Y = U·diag(1 … 1e-12)·Vᵀ with orthonormal U, V: nearly dependent columns, not just scaled ones.
    const U = choleskyQR2(randomMatrix(200, 12, 4)).Q;
    const V = choleskyQR2(randomMatrix(12, 12, 5)).Q;
    const Y = matmul(matmul(U, fromArray(12, 12, Array.from({ length: 144 }, (_, k) => (k % 13 === 0 ? 10 ** (-(k / 13)) : 0)))), transpose(V));
    expect(() => choleskyQR2(Y)).toThrow(NotPositiveDefiniteError);
    const { Q, R } = shiftedCholeskyQR3(Y);
    expect(orthogonality(Q)).toBeLessThan(1e-13);
    expect(maxRelativeError(matmul(Q, R).data, Y.data)).toBeLessThan(1e-13);
  });
});

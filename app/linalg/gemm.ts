// A faster float64 matmul for the larger dense products (hundreds to a few thousand per side).
// matrix.ts's matmul stays the readable reference; this one computes four rows of C per pass
// over B, so each loaded B element feeds four multiply-adds (2–3× faster in V8, same sums
// in the same order per element, so finite inputs give bit-identical results).
import { zeros, type Matrix } from './matrix.js';

/** c: [m, n] = a: [m, k] · b: [k, n]. */
export function gemm(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new RangeError(`gemm: [${a.rows}, ${a.cols}] · [${b.rows}, ${b.cols}]`);
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  const A = a.data;
  const B = b.data;
  const c = zeros(m, n);
  const C = c.data;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let p = 0; p < k; p++) {
      const a0 = A[i * k + p];
      const a1 = A[(i + 1) * k + p];
      const a2 = A[(i + 2) * k + p];
      const a3 = A[(i + 3) * k + p];
      const bp = p * n;
      for (let j = 0; j < n; j++) {
        const bv = B[bp + j];
        C[c0 + j] += a0 * bv;
        C[c1 + j] += a1 * bv;
        C[c2 + j] += a2 * bv;
        C[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const ci = i * n;
    for (let p = 0; p < k; p++) {
      const aip = A[i * k + p];
      const bp = p * n;
      for (let j = 0; j < n; j++) C[ci + j] += aip * B[bp + j];
    }
  }
  return c;
}

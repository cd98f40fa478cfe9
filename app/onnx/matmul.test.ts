import { afterAll, describe, expect, it } from 'vitest';
import { gramF32, matmulF32 } from './matmul.js';
import { SessionCache } from './sessionCache.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());

function random(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** float64 reference of op(a)·op(b), stored shapes as in matmulF32. */
function reference(a: Float32Array, [ar, ac]: [number, number], b: Float32Array, [br, bc]: [number, number], tA: boolean, tB: boolean): Float64Array {
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const n = tB ? br : bc;
  const at = (i: number, p: number) => (tA ? a[p * ac + i] : a[i * ac + p]);
  const bt = (p: number, j: number) => (tB ? b[j * bc + p] : b[p * bc + j]);
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += at(i, p) * bt(p, j);
    c[i * n + j] = s;
  }
  return c;
}

function maxRelative(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

describe('matmulF32', () => {
  for (const [tA, tB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matches a float64 reference (transA ${tA}, transB ${tB}) on odd shapes`, async () => {
      const [m, k, n] = [37, 129, 53];
      const aDims: [number, number] = tA ? [k, m] : [m, k];
      const bDims: [number, number] = tB ? [n, k] : [k, n];
      const a = random(m * k, 1);
      const b = random(k * n, 2);
      const c = await matmulF32(cache, a, aDims, b, bDims, { transA: tA, transB: tB });
      expect(c.length).toBe(m * n);
      expect(maxRelative(c, reference(a, aDims, b, bDims, tA, tB))).toBeLessThan(1e-5);
    });
  }

  it('reuses one session per variant across shapes', async () => {
    const before = cache.size;
    await matmulF32(cache, random(6, 3), [2, 3], random(12, 4), [3, 4]);
    await matmulF32(cache, random(20, 3), [4, 5], random(10, 4), [5, 2]);
    expect(cache.size).toBe(before); // the no-transpose variant already exists
  });

  it('rejects mismatched inner dimensions and handles empty ones', async () => {
    await expect(matmulF32(cache, random(6, 1), [2, 3], random(8, 2), [4, 2])).rejects.toThrow(/inner dimensions/);
    expect(await matmulF32(cache, new Float32Array(0), [2, 0], new Float32Array(0), [0, 3])).toEqual(new Float32Array(6));
  });
});

describe('gramF32', () => {
  it('xᵀ·x matches the reference and is symmetric', async () => {
    const dims: [number, number] = [70, 33];
    const x = random(70 * 33, 5);
    const g = await gramF32(cache, x, dims);
    expect(maxRelative(g, reference(x, dims, x, dims, true, false))).toBeLessThan(1e-5);
    for (let i = 0; i < 33; i++) for (let j = 0; j < i; j++) expect(Math.abs(g[i * 33 + j] - g[j * 33 + i])).toBeLessThan(1e-5);
  });
});

// The blockwise symmetric energy against the float64 ⟨A·C, A⟩ on small random inputs, at every
// depth of halving (odd k: uneven blocks), and the block boundaries it uses.
import { afterAll, describe, expect, it } from 'vitest';
import { gemm } from '../linalg/gemm.js';
import { transpose, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import { SessionCache } from './sessionCache.js';
import { blockBounds, rowChunks, symmetricEnergy, symmetricLevels } from './symmetric-energy.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());

/** The obviously-correct float64 reference: ⟨A·C, A⟩ = tr(A·C·Aᵀ). */
async function outputEnergy(A: Matrix, C: Matrix): Promise<number> {
  const AC = gemm(A, C);
  let sum = 0;
  for (let i = 0; i < AC.data.length; i++) sum += AC.data[i] * A.data[i];
  return sum;
}

const gaussian = (rows: number, cols: number, seed: number, scale = 1): Matrix => {
  const r = rng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => scale * r.normal()) };
};

describe('symmetricEnergy', () => {
  const k = 203;
  const A = gaussian(37, k, 1);
  const X = gaussian(300, k, 2);
  // Correlated, indefinite-looking cross blocks: C = XᵀX with a few large channels.
  for (let t = 0; t < 300; t++) for (const j of [3, 150, 201]) X.data[t * k + j] *= 30;
  const C = gemm(transpose(X), X);
  for (const levels of [0, 1, 2, 3, 4])
    it(`equals the float64 tr(A·C·Aᵀ) to float32 accuracy with ${levels} halvings`, async () => {
      const want = await outputEnergy(A, C);
      const got = await symmetricEnergy(cache, Float32Array.from(A.data), Float32Array.from(C.data), A.rows, k, levels);
      expect(Math.abs(got / want - 1)).toBeLessThan(2e-5);
    });

  it('property: the energy of a sum of rows is additive (row i of A contributes aᵢ·C·aᵢᵀ ≥ 0)', async () => {
    const single = await Promise.all([0, 1, 2].map((i) => symmetricEnergy(cache, Float32Array.from(A.data.subarray(i * k, (i + 1) * k)), Float32Array.from(C.data), 1, k, 2)));
    const together = await symmetricEnergy(cache, Float32Array.from(A.data.subarray(0, 3 * k)), Float32Array.from(C.data), 3, k, 2);
    for (const e of single) expect(e).toBeGreaterThan(0);
    expect(Math.abs(together / (single[0] + single[1] + single[2]) - 1)).toBeLessThan(1e-6);
  });

  it('in row chunks (views of A, one run each) equals the float64 tr(A·C·Aᵀ)', async () => {
    const want = await outputEnergy(A, C);
    const a = Float32Array.from(A.data);
    const c = Float32Array.from(C.data);
    for (const maxElements of [k, 5 * k, 10 * k + 1]) {
      const got = await symmetricEnergy(cache, a, c, A.rows, k, 2, maxElements);
      expect(Math.abs(got / want - 1)).toBeLessThan(2e-5);
      // float64 A, converted chunk by chunk into one buffer: the same float32 operands, the same sum
      expect(await symmetricEnergy(cache, A.data, c, A.rows, k, 2, maxElements)).toBe(got);
    }
  });

  it('row chunks cover [0, m] evenly, each within the element limit', () => {
    expect(rowChunks(37, 203, 5 * 203)).toEqual([0, 5, 9, 14, 19, 23, 28, 32, 37]);
    expect(rowChunks(4096, 4096)).toEqual([0, 4096]);
    const chunks = rowChunks(4096, 14336);
    expect(chunks.length).toBe(5);
    for (let i = 0; i + 1 < chunks.length; i++) expect((chunks[i + 1] - chunks[i]) * 14336).toBeLessThanOrEqual(1 << 24);
  });

  it('halves while blocks stay ≥ 512 wide, at most four times; boundaries cover [0, k]', () => {
    expect([1000, 1023, 1024, 4096, 8192, 14336, 1 << 20].map(symmetricLevels)).toEqual([0, 0, 1, 3, 4, 4, 4]);
    expect(blockBounds(203, 2)).toEqual([0, 51, 102, 152, 203]);
    expect(blockBounds(10, 0)).toEqual([0, 10]);
  });
});

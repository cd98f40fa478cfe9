import { describe, expect, it } from 'vitest';
import { choleskyInverse } from '../linalg/cholesky.js';
import { maxRelativeError, type Matrix } from '../linalg/matrix.js';
import { addToMoment, prepareHessian, upperCholeskyOfInverse } from './hessian.js';
import { correlatedMoment } from './testing/layers.js';

/** UᵀU for U: [n, n]. */
function gramOfUpper(U: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j] += U[k * n + i] * U[k * n + j];
  return out;
}

describe('hessian', () => {
  const n = 20;
  const moment = correlatedMoment(n, 5, { dead: [3, 11] });

  it('addToMoment sums x xᵀ over tokens', () => {
    const C = new Float64Array(4);
    addToMoment(C, [1, 2, 3, -1], 2, 2); // tokens (1, 2) and (3, −1)
    expect(Array.from(C)).toEqual([1 + 9, 2 - 3, 2 - 3, 4 + 1]);
  });

  it('H = 2C/N with dead columns set to 1, damped by percdamp·mean(diag), and UᵀU = H⁻¹', () => {
    const p = prepareHessian(moment, n, { percdamp: 0.05 });
    expect(Array.from(p.dead).flatMap((d, i) => (d ? [i] : []))).toEqual([3, 11]);
    const H = Float64Array.from(moment.C, (v) => (2 * v) / moment.nTokens);
    H[3 * n + 3] = 1;
    H[11 * n + 11] = 1;
    let mean = 0;
    for (let i = 0; i < n; i++) mean += H[i * n + i] / n;
    expect(p.damp).toBeCloseTo(0.05 * mean, 12);
    for (let i = 0; i < n; i++) H[i * n + i] += p.damp;
    expect(maxRelativeError(gramOfUpper(p.Hinv, n), choleskyInverse({ rows: n, cols: n, data: H }).data)).toBeLessThan(1e-10);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(p.Hinv[i * n + j]).toBe(0);
  });

  it('act-order sorts columns by descending diag(H) and permutes H with them', () => {
    const p = prepareHessian(moment, n, { actOrder: true });
    const diag = (i: number) => (p.dead[i] ? 1 : (2 * moment.C[i * n + i]) / moment.nTokens);
    const perm = Array.from(p.perm!);
    for (let j = 1; j < n; j++) expect(diag(perm[j - 1])).toBeGreaterThanOrEqual(diag(perm[j]));
    expect(Array.from(p.invPerm!, (j) => perm[j])).toEqual(Array.from({ length: n }, (_, i) => i));
    const plain = prepareHessian(moment, n);
    // Same H⁻¹ up to the permutation: entry (i, j) of the permuted inverse is (perm i, perm j) of the plain one.
    const a = gramOfUpper(p.Hinv, n);
    const b = gramOfUpper(plain.Hinv, n);
    expect(maxRelativeError(a, Float64Array.from({ length: n * n }, (_, k) => b[perm[Math.floor(k / n)] * n + perm[k % n]]))).toBeLessThan(1e-10);
  });

  it('act-order hands the factor exactly H[perm i, perm j] (H permuted in place, no second [n, n])', () => {
    let seen: Float64Array | undefined;
    const p = prepareHessian(moment, n, { actOrder: true, factor: (H) => ((seen = Float64Array.from(H.data)), upperCholeskyOfInverse(H)) });
    const s = 2 / moment.nTokens;
    const perm = p.perm!;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const [a, b] = [perm[i], perm[j]];
        let want = s * 0.5 * (moment.C[a * n + b] + moment.C[b * n + a]);
        if (a === b && p.dead[a]) want = 1;
        if (i === j) want += p.damp;
        expect(seen![i * n + j], `(${i}, ${j})`).toBe(want);
      }
    }
  });

  it('the O(n³) factorization is swappable', () => {
    let calls = 0;
    const spy = (H: Matrix) => {
      calls++;
      return upperCholeskyOfInverse(H);
    };
    const p = prepareHessian(moment, n, { factor: spy });
    expect(calls).toBe(1);
    expect(Array.from(p.Hinv)).toEqual(Array.from(prepareHessian(moment, n).Hinv));
    expect(() => prepareHessian(moment, n, { factor: () => ({ rows: 2, cols: 2, data: new Float64Array(4) }) })).toThrow('inverse factor returned [2, 2], expected [20, 20]');
  });

  it('rejects non-finite statistics', () => {
    const C = moment.C.slice();
    C[n + 2] = NaN;
    expect(() => prepareHessian({ C, nTokens: 10 }, n)).toThrow('calibration moment has a non-finite value at [1, 2]');
  });
});

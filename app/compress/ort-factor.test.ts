import { afterAll, describe, expect, it } from 'vitest';
import { upperCholeskyOfInverse } from '../linalg/inverse-cholesky.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { gptqWithHessian, type GptqOptions } from './gptq.js';
import { prepareHessian } from './hessian.js';
import { linearMetrics } from './metrics.js';
import { ortUpperCholeskyOfInverse, prepareHessianOrt } from './ort-factor.js';
import { correlatedMoment, randomLayer } from './testing/layers.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());

/** ‖a − b‖_F / ‖b‖_F */
function relativeFrobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    s += b[i] ** 2;
  }
  return Math.sqrt(d / s);
}

const n = 512;
const moment = correlatedMoment(n, 3, { tokens: 2 * n, dead: [7, 300] });

describe('ortUpperCholeskyOfInverse', () => {
  it('n = 512 random SPD: matches the float64 JS factor to 1e-4 relative, upper triangular', async () => {
    const h = captureH(); // the dampened H GPTQ factors (two dead columns)
    const want = upperCholeskyOfInverse(h);
    for (const leafSize of [64, 100, 256]) {
      const got = await ortUpperCholeskyOfInverse(cache, h, { leafSize });
      expect(relativeFrobenius(got.data, want.data), `leaf ${leafSize}`).toBeLessThan(1e-4);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(got.data[i * n + j]).toBe(0);
    }
  });

  it('rejects a matrix that is not positive definite', async () => {
    const m = 300;
    const bad = { rows: m, cols: m, data: new Float64Array(m * m) };
    for (let i = 0; i < m; i++) bad.data[i * m + i] = i === 10 ? -1 : 1;
    await expect(ortUpperCholeskyOfInverse(cache, bad, { leafSize: 64 })).rejects.toThrow();
  });
});

/** The H prepareHessian hands its factor. */
function captureH() {
  let captured: { rows: number; cols: number; data: Float64Array } | undefined;
  prepareHessian(moment, n, { factor: (h) => (captured = { rows: h.rows, cols: h.cols, data: h.data.slice() }) });
  return captured!;
}

describe('prepareHessianOrt + GPTQ', () => {
  for (const actOrder of [false, true]) {
    it(`w4g128${actOrder ? ' act-order' : ''}: same dead columns, permutation and damp; GPTQ result close to the JS factor's`, async () => {
      const layer = randomLayer(96, n, 5);
      const options: GptqOptions = { bits: 4, groupSize: 128, sym: false, actOrder };
      const js = prepareHessian(moment, n, { actOrder });
      const ort = await prepareHessianOrt(cache, moment, n, { actOrder, minSize: 0, leafSize: 128 });
      expect(ort.dead).toEqual(js.dead);
      expect(ort.perm).toEqual(js.perm);
      expect(ort.damp).toBe(js.damp);
      expect(relativeFrobenius(ort.Hinv, js.Hinv)).toBeLessThan(1e-4);

      const a = gptqWithHessian(layer, js, options);
      const b = gptqWithHessian(layer, ort, options);
      let same = 0;
      for (let i = 0; i < a.quant!.codes.length; i++) same += +(a.quant!.codes[i] === b.quant!.codes[i]);
      expect(same / a.quant!.codes.length).toBeGreaterThan(0.995);
      expect(Math.abs(b.loss - a.loss) / a.loss).toBeLessThan(1e-3);
      const ma = linearMetrics(layer, a, moment);
      const mb = linearMetrics(layer, b, moment);
      expect(Math.abs(mb.relOutputError! - ma.relOutputError!) / ma.relOutputError!).toBeLessThan(1e-2);
      expect(relativeFrobenius(b.wc, a.wc)).toBeLessThan(1e-2);
    });
  }

  it('below minSize it is exactly prepareHessian', async () => {
    const js = prepareHessian(moment, n, {});
    const ort = await prepareHessianOrt(cache, moment, n, {});
    expect(ort.Hinv).toEqual(js.Hinv);
  });
});

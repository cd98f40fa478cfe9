import { afterAll, describe, expect, it } from 'vitest';
import { SessionCache } from '../onnx/sessionCache.js';
import { compressLinear } from './index.js';
import { linearMetrics } from './metrics.js';
import { linearMetricsOrt, quadraticTraceOrt } from './ort-metrics.js';
import { correlatedMoment, randomLayer } from './testing/layers.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());

describe('linearMetricsOrt', () => {
  const n = 160;
  const moment = correlatedMoment(n, 11, { tokens: 200, dead: [3] });
  const layer = randomLayer(300, n, 12);
  const result = compressLinear('rtn:w3g32', layer, moment);

  it('equals the float64 JS metrics: traces and output error to float32 accuracy, the rest bitwise', async () => {
    const js = linearMetrics(layer, result, moment);
    const ort = await linearMetricsOrt(cache, layer, result, moment, { minIn: 0 });
    expect(ort.relOutputError).not.toBeNull();
    for (const key of ['relOutputError', 'outputEnergy', 'errorOutputEnergy'] as const) expect(Math.abs(ort[key]! / js[key]! - 1)).toBeLessThan(1e-5);
    expect(ort.relOutputError).toBe(ort.errorOutputEnergy! / ort.outputEnergy!);
    const traces = { relOutputError: 0, outputEnergy: 0, errorOutputEnergy: 0 };
    expect({ ...ort, ...traces }).toEqual({ ...js, ...traces });
    expect(js.relOutputError).toBeGreaterThan(1e-4); // w3 leaves a visible error
  });

  it("GPTQ's error on outlier features (C's diagonal over 4 orders), split blocks: the float32 traces within 1e-5 of float64", async () => {
    // GPTQ pushes ΔW towards C's weak directions, where float32 rounding of C weighs most.
    const n = 1152; // one halving of the symmetric energy (blocks ≥ 512)
    const wide = correlatedMoment(n, 5, { tokens: 1500 });
    const gptqLayer = randomLayer(96, n, 6);
    const gptq = compressLinear('gptq:w4g128', gptqLayer, wide);
    const js = linearMetrics(gptqLayer, gptq, wide);
    const ort = await linearMetricsOrt(cache, gptqLayer, gptq, wide, { minIn: 0 });
    const worst = Math.max(...(['relOutputError', 'outputEnergy', 'errorOutputEnergy'] as const).map((key) => Math.abs(ort[key]! / js[key]! - 1)));
    console.log(`GPTQ w4g128, n ${n}: float32 traces vs float64, worst relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('below minIn it is the JS path itself (bitwise)', async () => {
    expect(await linearMetricsOrt(cache, layer, result, moment)).toEqual(linearMetrics(layer, result, moment));
    expect((await linearMetricsOrt(cache, layer, result, undefined, { minIn: 0 })).relOutputError).toBeNull();
  });
});

describe('quadraticTraceOrt', () => {
  it('tr(A XᵀX Aᵀ) = ‖A Xᵀ‖²_F over several row chunks (n 4100: 1023 rows a chunk)', async () => {
    const n = 4100;
    const out = 2100; // three chunks, the last one short
    const tokens = 3;
    const X = Float64Array.from({ length: tokens * n }, (_, i) => Math.sin(i * 0.37) + 0.3);
    const C = new Float64Array(n * n); // rank-3 C = XᵀX, built directly (addToMoment would be O(t·n²) too, but this is clearer)
    for (let t = 0; t < tokens; t++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] += X[t * n + i] * X[t * n + j];
    const a = (r: number, i: number) => Math.cos(r * 1.3 + i * 0.011) * (1 + (r % 7));
    let want = 0; // Σ_r Σ_t (a_r · x_t)²
    for (let r = 0; r < out; r++) {
      for (let t = 0; t < tokens; t++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += a(r, i) * X[t * n + i];
        want += s * s;
      }
    }
    const fill = (r0: number, r1: number, dst: Float64Array) => {
      for (let r = r0; r < r1; r++) for (let i = 0; i < n; i++) dst[(r - r0) * n + i] = a(r, i);
    };
    const got = await quadraticTraceOrt(cache, fill, out, n, C);
    expect(Math.abs(got / want - 1)).toBeLessThan(1e-10);
  });
});

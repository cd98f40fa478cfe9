import { describe, expect, it } from 'vitest';
import { choleskyInverse, upperCholesky } from '../linalg/cholesky.js';
import { maxRelativeError } from '../linalg/matrix.js';
import { magnitude } from './magnitude.js';
import { linearMetrics } from './metrics.js';
import { GroupQuantizer, dequantize } from './quantizer.js';
import { rtn } from './rtn.js';
import { sparsegpt, type SparseGptOptions } from './sparsegpt.js';
import { correlatedMoment, randomLayer, sameFloats } from './testing/layers.js';
import type { CompressResult, LinearWeight, SecondMoment, Sparsity } from './types.js';
import { wanda } from './wanda.js';

/** Every window of m consecutive inputs of every row keeps exactly n, and W_c is 0 where pruned. */
function expectNM(result: CompressResult, n: number, m: number): void {
  const { mask, wc } = result;
  for (let r = 0; r < result.out; r++) {
    for (let c = 0; c < result.in; c += m) {
      let kept = 0;
      for (let t = 0; t < m; t++) kept += mask![r * result.in + c + t];
      expect(kept).toBe(n);
    }
  }
  for (let i = 0; i < wc.length; i++) if (!mask![i]) expect(wc[i]).toBe(0);
}

/**
 * SparseGPT without lazy updates: one column at a time, err = (w − q)/Hinv_jj spread onto every
 * later column at once. Unstructured masks are still chosen per block of `blockSize` columns (the
 * algorithm's adaptive mask), from the current weights, lowest w²/Hinv_jj² first.
 */
function referenceSparseGpt(layer: LinearWeight, moment: SecondMoment, o: SparseGptOptions & { blockSize: number }): Float32Array {
  const { out } = layer;
  const n = layer.in;
  const H = Float64Array.from(moment.C, (v) => (2 * v) / moment.nTokens);
  const W = Float64Array.from(layer.w);
  for (let i = 0; i < n; i++) {
    if (H[i * n + i] !== 0) continue;
    H[i * n + i] = 1;
    for (let r = 0; r < out; r++) W[r * n + i] = 0;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += H[i * n + i] / n;
  for (let i = 0; i < n; i++) H[i * n + i] += 0.01 * mean;
  const U = upperCholesky(choleskyInverse({ rows: n, cols: n, data: H })).data;
  const score = (r: number, c: number) => W[r * n + c] ** 2 / U[c * n + c] ** 2;
  const keep = new Uint8Array(out * n).fill(1);
  const quantizer = o.quant ? new GroupQuantizer(o.quant, out, n) : null;
  const g = o.quant && o.quant.groupSize !== -1 ? o.quant.groupSize : n;
  const Q = new Float32Array(out * n);
  for (let j = 0; j < n; j++) {
    const s = o.sparsity;
    if (s.kind === 'unstructured' && j % o.blockSize === 0) {
      const cols = Math.min(o.blockSize, n - j);
      const cand: [number, number, number][] = [];
      for (let r = 0; r < out; r++) for (let c = j; c < j + cols; c++) cand.push([score(r, c), r * cols + (c - j), r * n + c]);
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const [, , at] of cand.slice(0, Math.floor(out * cols * s.p))) keep[at] = 0;
    }
    if (s.kind === 'nm' && j % s.m === 0) {
      for (let r = 0; r < out; r++) {
        const order = Array.from({ length: s.m }, (_, t) => j + t).sort((a, b) => score(r, a) - score(r, b) || a - b);
        for (const c of order.slice(0, s.m - s.n)) keep[r * n + c] = 0;
      }
    }
    if (quantizer && j % g === 0) quantizer.fit(j / g, W, n, j, j + g);
    for (let r = 0; r < out; r++) {
      const w = W[r * n + j];
      let q = keep[r * n + j] ? w : 0;
      if (quantizer) q = quantizer.quantizeAt(r, j, Math.floor(j / g), q);
      Q[r * n + j] = q;
      const err = (w - q) / U[j * n + j];
      for (let k = j + 1; k < n; k++) W[r * n + k] -= err * U[j * n + k];
    }
  }
  return Q;
}

describe('magnitude and wanda', () => {
  const layer = randomLayer(16, 64, 31);
  const moment = correlatedMoment(64, 32);

  it('magnitude at 50% drops exactly half of the layer, the smallest |W|', () => {
    const result = magnitude(layer, { kind: 'unstructured', p: 0.5 });
    expect(linearMetrics(layer, result).sparsity).toBe(0.5);
    let maxPruned = 0;
    let minKept = Infinity;
    for (let i = 0; i < layer.w.length; i++) {
      if (result.mask![i]) {
        minKept = Math.min(minKept, Math.abs(layer.w[i]));
        expect(result.wc[i]).toBe(layer.w[i]);
      } else maxPruned = Math.max(maxPruned, Math.abs(layer.w[i]));
    }
    expect(maxPruned).toBeLessThanOrEqual(minKept);
  });

  it('wanda prunes the same count in every output row, lowest |W|·‖X‖ first', () => {
    const result = wanda(layer, moment, { kind: 'unstructured', p: 0.3 });
    const norm = (j: number) => Math.sqrt(moment.C[j * 64 + j]);
    for (let r = 0; r < 16; r++) {
      const row = Array.from({ length: 64 }, (_, j) => ({ s: Math.abs(layer.w[r * 64 + j]) * norm(j), kept: result.mask![r * 64 + j] }));
      expect(row.filter((x) => !x.kept).length).toBe(Math.floor(64 * 0.3));
      expect(Math.max(...row.filter((x) => !x.kept).map((x) => x.s))).toBeLessThanOrEqual(Math.min(...row.filter((x) => x.kept).map((x) => x.s)));
    }
  });

  for (const [n, m] of [[2, 4], [4, 8], [1, 4]]) {
    it(`${n}:${m} masks are exact for magnitude and wanda`, () => {
      expectNM(magnitude(layer, { kind: 'nm', n, m }), n, m);
      expectNM(wanda(layer, moment, { kind: 'nm', n, m }), n, m);
    });
  }

  it('rejects bad sparsity with clear messages', () => {
    expect(() => magnitude(layer, { kind: 'nm', n: 5, m: 4 })).toThrow('N:M sparsity keeps N of every M weights, so N must not exceed M; got 5:4');
    expect(() => magnitude(randomLayer(2, 10, 1), { kind: 'nm', n: 2, m: 4 })).toThrow('N:M group size M = 4 does not divide the 10 input columns');
    expect(() => wanda(layer, moment, { kind: 'unstructured', p: 1 })).toThrow('sparsity must be in [0, 1), got 1');
    expect(() => wanda(layer, undefined as unknown as SecondMoment, { kind: 'unstructured', p: 0.5 })).toThrow('wanda needs calibration statistics (C = Σ x xᵀ and nTokens)');
  });
});

describe('sparsegpt', () => {
  const layer = randomLayer(24, 64, 41);
  const moment = correlatedMoment(64, 42, { dead: [7] });

  const cases: [string, SparseGptOptions & { blockSize: number }][] = [
    ['50%, blocks 16', { sparsity: { kind: 'unstructured', p: 0.5 }, blockSize: 16 }],
    ['30%, blocks 24 (ragged)', { sparsity: { kind: 'unstructured', p: 0.3 }, blockSize: 24 }],
    ['2:4, blocks 16', { sparsity: { kind: 'nm', n: 2, m: 4 }, blockSize: 16 }],
    ['4:8, blocks 12 (windows cross block edges)', { sparsity: { kind: 'nm', n: 4, m: 8 }, blockSize: 12 }],
    ['2:4 + w4g16, blocks 32', { sparsity: { kind: 'nm', n: 2, m: 4 }, quant: { bits: 4, groupSize: 16, sym: false }, blockSize: 32 }],
    ['50% + w3 per channel, blocks 16', { sparsity: { kind: 'unstructured', p: 0.5 }, quant: { bits: 3, groupSize: -1, sym: true }, blockSize: 16 }],
  ];
  for (const [name, options] of cases) {
    it(`equals the column-by-column rule: ${name}`, () => {
      const result = sparsegpt(layer, moment, options);
      expect(maxRelativeError(result.wc, referenceSparseGpt(layer, moment, options))).toBeLessThan(1e-5);
      for (let r = 0; r < 24; r++) expect(result.wc[r * 64 + 7]).toBe(0); // dead column
    });
  }

  it('reaches the requested sparsity and keeps exact N:M masks', () => {
    const half = sparsegpt(layer, moment, { sparsity: { kind: 'unstructured', p: 0.5 } });
    expect(linearMetrics(layer, half).sparsity).toBe(0.5);
    expectNM(sparsegpt(layer, moment, { sparsity: { kind: 'nm', n: 2, m: 4 } }), 2, 4);
    expectNM(sparsegpt(layer, moment, { sparsity: { kind: 'nm', n: 4, m: 8 } }), 4, 8);
    const none = sparsegpt(layer, moment, { sparsity: { kind: 'unstructured', p: 0 } });
    for (let i = 0; i < layer.w.length; i++) expect(none.wc[i]).toBe(i % 64 === 7 ? 0 : layer.w[i]);
  });

  it('has a lower output error than magnitude (and Wanda) on correlated inputs', () => {
    const big = randomLayer(64, 128, 51);
    const x = correlatedMoment(128, 52);
    const sparsities: Sparsity[] = [{ kind: 'unstructured', p: 0.5 }, { kind: 'nm', n: 2, m: 4 }];
    for (const s of sparsities) {
      const err = (r: CompressResult) => linearMetrics(big, r, x).relOutputError!;
      const sgpt = err(sparsegpt(big, x, { sparsity: s }));
      expect(sgpt).toBeLessThan(err(magnitude(big, s)));
      expect(sgpt).toBeLessThan(err(wanda(big, x, s)));
    }
  });

  it('joint 2:4 + 4-bit: the mask is 2:4, survivors sit on the grid, pruned weights are 0', () => {
    const big = randomLayer(64, 128, 61);
    const x = correlatedMoment(128, 62);
    const result = sparsegpt(big, x, { sparsity: { kind: 'nm', n: 2, m: 4 }, quant: { bits: 4, groupSize: 32, sym: false } });
    expectNM(result, 2, 4);
    const q = result.quant!;
    expect(sameFloats(dequantize(q, 64, 128), result.wc)).toBe(true);
    for (let r = 0; r < 64; r++) {
      for (let c = 0; c < 128; c++) {
        const slot = r * 4 + Math.floor(c / 32);
        const code = result.wc[r * 128 + c] / q.scales[slot] + q.zeros[slot];
        expect(Math.abs(code - Math.round(code))).toBeLessThan(1e-4);
        expect(Math.round(code)).toBeGreaterThanOrEqual(0);
        expect(Math.round(code)).toBeLessThanOrEqual(15);
      }
    }
    // Better than pruning by magnitude and then rounding to nearest.
    const baseline = rtn({ ...big, w: magnitude(big, { kind: 'nm', n: 2, m: 4 }).wc }, { bits: 4, groupSize: 32, sym: false });
    expect(linearMetrics(big, result, x).relOutputError!).toBeLessThan(linearMetrics(big, baseline, x).relOutputError!);
  });

  it('rejects bad inputs with clear messages', () => {
    expect(() => sparsegpt(layer, moment, { sparsity: { kind: 'nm', n: 2, m: 3 } })).toThrow('N:M group size M = 3 does not divide the 64 input columns');
    expect(() => sparsegpt(layer, moment, { sparsity: { kind: 'unstructured', p: -0.1 } })).toThrow('sparsity must be in [0, 1), got -0.1');
    expect(() => sparsegpt(layer, moment, { sparsity: { kind: 'nm', n: 2, m: 4 }, quant: { bits: 9, groupSize: -1, sym: false } })).toThrow('bits must be 2–8, got 9');
  });
});

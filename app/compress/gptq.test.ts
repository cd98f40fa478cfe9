import { describe, expect, it } from 'vitest';
import { choleskyInverse, upperCholesky } from '../linalg/cholesky.js';
import { maxRelativeError } from '../linalg/matrix.js';
import { gptq, gptqWithHessian, type GptqOptions } from './gptq.js';
import { prepareHessian } from './hessian.js';
import { linearMetrics } from './metrics.js';
import { GroupQuantizer, dequantize } from './quantizer.js';
import { rtn } from './rtn.js';
import { correlatedMoment, randomLayer, sameFloats } from './testing/layers.js';
import type { LinearWeight, SecondMoment } from './types.js';

/**
 * The published update rule, float64, one column at a time, no blocks:
 *   q = quant(w_j);  err = (w_j − q) / Hinv_jj;  W[:, j+1:] −= err · Hinv[j, j+1:]
 * with Hinv = upper Cholesky of (2C/N + damp·I)⁻¹, dead columns zeroed, act-order by descending
 * diag(H), dynamic group grids fitted on the current columns of a group when the sweep enters it.
 */
function referenceGptq(layer: LinearWeight, moment: SecondMoment, o: GptqOptions): Float32Array {
  const { out } = layer;
  const n = layer.in;
  const H = Array.from(moment.C, (v) => (2 * v) / moment.nTokens);
  const W = Float64Array.from(layer.w);
  for (let i = 0; i < n; i++) {
    if (H[i * n + i] !== 0) continue;
    H[i * n + i] = 1;
    for (let r = 0; r < out; r++) W[r * n + i] = 0;
  }
  const grouped = o.groupSize !== -1;
  const g = grouped ? o.groupSize : n;
  const quantizer = new GroupQuantizer(o, out, n);
  if (!grouped || o.staticGroups) for (let k = 0; k < n / g; k++) quantizer.fit(k, W, n, k * g, (k + 1) * g);

  const perm = Array.from({ length: n }, (_, i) => i);
  if (o.actOrder) perm.sort((a, b) => H[b * n + b] - H[a * n + a] || a - b);
  const P = new Float64Array(n * n); // H with rows and columns in sweep order
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] = H[perm[i] * n + perm[j]];
  let mean = 0;
  for (let i = 0; i < n; i++) mean += P[i * n + i] / n;
  for (let i = 0; i < n; i++) P[i * n + i] += (o.percdamp ?? 0.01) * mean;
  const U = upperCholesky(choleskyInverse({ rows: n, cols: n, data: P })).data;

  const Ws = new Float64Array(out * n); // W in sweep order
  for (let r = 0; r < out; r++) for (let j = 0; j < n; j++) Ws[r * n + j] = W[r * n + perm[j]];
  const Q = new Float32Array(out * n); // original order
  for (let j = 0; j < n; j++) {
    const group = !grouped ? 0 : o.staticGroups ? Math.floor(perm[j] / g) : Math.floor(j / g);
    if (grouped && !o.staticGroups && j % g === 0) quantizer.fit(group, Ws, n, j, j + g);
    for (let r = 0; r < out; r++) {
      const w = Ws[r * n + j];
      const q = quantizer.quantizeAt(r, perm[j], group, w);
      Q[r * n + perm[j]] = q;
      const err = (w - q) / U[j * n + j];
      for (let k = j + 1; k < n; k++) Ws[r * n + k] -= err * U[j * n + k];
    }
  }
  return Q;
}

describe('gptq', () => {
  const layer = randomLayer(24, 64, 11);
  const moment = correlatedMoment(64, 12, { dead: [5, 40] });

  const cases: [string, GptqOptions][] = [
    ['blocks 16, groups 16', { bits: 4, groupSize: 16, sym: false, blockSize: 16 }],
    ['blocks 16, groups 32 (a group spans two blocks)', { bits: 3, groupSize: 32, sym: false, blockSize: 16 }],
    ['blocks 32, groups 16 (a group starts mid-block)', { bits: 4, groupSize: 16, sym: true, blockSize: 32 }],
    ['blocks 24, groups 16 (ragged last block; group 16–31 crosses a block edge)', { bits: 3, groupSize: 16, sym: false, blockSize: 24 }],
    ['per channel, blocks 16', { bits: 3, groupSize: -1, sym: false, blockSize: 16 }],
    ['act-order, groups 16, blocks 16', { bits: 4, groupSize: 16, sym: false, blockSize: 16, actOrder: true }],
    ['act-order, groups 16, blocks 24', { bits: 2, groupSize: 16, sym: false, blockSize: 24, actOrder: true }],
    ['act-order + static groups', { bits: 3, groupSize: 16, sym: false, blockSize: 16, actOrder: true, staticGroups: true }],
    ['act-order, per channel, damp 0.1', { bits: 3, groupSize: -1, sym: true, blockSize: 16, actOrder: true, percdamp: 0.1 }],
    // The sweep works in sub-blocks of 16 columns inside a block (sweep.ts). A group starting
    // inside a sub-block and reaching past it reads columns still awaiting that sub-block's
    // updates: 'blocks 24, groups 16' above (the group at 32 starts 8 columns into block 24–47).
    ['blocks 64, groups 8 (groups inside 16-column sub-blocks)', { bits: 4, groupSize: 8, sym: false, blockSize: 64 }],
    ['act-order, blocks 40, groups 8 (ragged sub-blocks)', { bits: 3, groupSize: 8, sym: false, blockSize: 40, actOrder: true }],
  ];
  for (const [name, options] of cases) {
    it(`equals the column-by-column rule: ${name}`, () => {
      const result = gptq(layer, moment, options);
      expect(maxRelativeError(result.wc, referenceGptq(layer, moment, options))).toBeLessThan(1e-5);
      expect(sameFloats(dequantize(result.quant!, 24, 64), result.wc)).toBe(true);
    });
  }

  it('zeroes dead columns and returns g_idx only for dynamic act-order groups', () => {
    const dyn = gptq(layer, moment, { bits: 4, groupSize: 16, sym: false, actOrder: true });
    for (let r = 0; r < 24; r++) expect([dyn.wc[r * 64 + 5], dyn.wc[r * 64 + 40]]).toEqual([0, 0]);
    const gIdx = dyn.quant!.gIdx!;
    expect(gIdx.length).toBe(64);
    // Group k holds the columns at sweep positions 16k … 16k+15.
    const { invPerm } = prepareHessian(moment, 64, { actOrder: true });
    expect(Array.from(gIdx)).toEqual(Array.from(invPerm!, (j) => Math.floor(j / 16)));
    for (let k = 0; k < 4; k++) expect(gIdx.filter((x) => x === k).length).toBe(16);
    expect(gptq(layer, moment, { bits: 4, groupSize: 16, sym: false, actOrder: true, staticGroups: true }).quant!.gIdx).toBeUndefined();
    expect(gptq(layer, moment, { bits: 4, groupSize: 16, sym: false }).quant!.gIdx).toBeUndefined();
  });

  it('has a lower output error than RTN on correlated inputs', () => {
    const big = randomLayer(64, 128, 21);
    const x = correlatedMoment(128, 22);
    for (const q of [
      { bits: 4, groupSize: 32, sym: false },
      { bits: 3, groupSize: -1, sym: false },
      { bits: 3, groupSize: 128, sym: true },
    ]) {
      const rtnError = linearMetrics(big, rtn(big, q), x).relOutputError!;
      const gptqError = linearMetrics(big, gptq(big, x, q), x).relOutputError!;
      const actError = linearMetrics(big, gptq(big, x, { ...q, actOrder: true }), x).relOutputError!;
      expect(gptqError).toBeLessThan(rtnError);
      expect(actError).toBeLessThan(rtnError);
    }
  });

  it('reuses one prepared Hessian across linears sharing an input', () => {
    const prepared = prepareHessian(moment, 64, { actOrder: true });
    const a = gptqWithHessian(layer, prepared, { bits: 4, groupSize: 16, sym: false, actOrder: true });
    expect(sameFloats(a.wc, gptq(layer, moment, { bits: 4, groupSize: 16, sym: false, actOrder: true }).wc)).toBe(true);
    expect(() => gptqWithHessian(layer, prepared, { bits: 4, groupSize: 16, sym: false })).toThrow('Hessian was prepared with act-order, GPTQ asked without');
    expect(() => gptqWithHessian(randomLayer(4, 32, 1), prepared, { bits: 4, groupSize: 16, sym: false, actOrder: true })).toThrow('Hessian is for 64 input columns, the weight has 32');
  });

  it('rejects bad inputs with clear messages', () => {
    expect(() => gptq(layer, moment, { bits: 4, groupSize: -1, sym: false, staticGroups: true })).toThrow('static groups need a group size (e.g. w4g128)');
    expect(() => gptq(layer, moment, { bits: 4, groupSize: 24, sym: false })).toThrow('group size 24 does not divide the 64 input columns');
    expect(() => gptq(layer, { C: new Float64Array(10), nTokens: 5 }, { bits: 4, groupSize: -1, sym: false })).toThrow('calibration moment has 10 values, expected [64, 64] = 4096');
    expect(() => gptq(layer, { C: moment.C, nTokens: 0 }, { bits: 4, groupSize: -1, sym: false })).toThrow('nTokens must be positive, got 0');
    expect(() => gptq(layer, moment, { bits: 4, groupSize: -1, sym: false, percdamp: -1 })).toThrow('percdamp must be a finite number ≥ 0, got -1');
    // Rank-deficient C (8 tokens for 64 inputs) without dampening: the factorization fails and says what to do.
    const thin = correlatedMoment(64, 3, { tokens: 8 });
    expect(() => gptq(layer, thin, { bits: 4, groupSize: -1, sym: false, percdamp: 0 })).toThrow(/not positive definite .*increase dampening/);
    expect(() => gptq(layer, moment, { bits: 4, groupSize: -1, sym: false, blockSize: 0 })).toThrow('block size must be a positive integer, got 0');
  });
});

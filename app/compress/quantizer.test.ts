import { describe, expect, it } from 'vitest';
import { linearMetrics } from './metrics.js';
import { rng } from '../linalg/random.js';
import { GroupQuantizer, checkQuantConfig, dequantize, dequantizeValue, roundHalfEven } from './quantizer.js';
import { rtn } from './rtn.js';
import { randomLayer, randomOrder, sameFloats } from './testing/layers.js';

describe('quantizer', () => {
  it('rounds halves to even, as torch.round', () => {
    expect([0.5, 1.5, 2.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, -2, -2, 2, 3]);
  });

  it('quantizeColumn gives the codes and values of quantizeAt: ties, clamped outliers, signed zeros, huge values', () => {
    const out = 64;
    for (const sym of [false, true]) {
      const quantizer = new GroupQuantizer({ bits: 3, groupSize: 4, sym }, out, 8);
      const fitted = Float64Array.from({ length: out * 8 }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
      quantizer.fit(1, fitted, 8, 4, 8);
      const reference = new GroupQuantizer(quantizer.config, out, 8);
      reference.fit(1, fitted, 8, 4, 8);
      const w = new Float64Array(out);
      for (let r = 0; r < out; r++) {
        const scale = quantizer.scales[r * 2 + 1];
        // Exact half steps (ties), ±0, values far outside the grid, and ordinary values.
        w[r] = [scale * (r - 32 + 0.5), r % 2 ? -0 : 0, 1e300 * (r % 2 ? -1 : 1), Math.cos(r) * 3][r % 4];
      }
      const q = new Float64Array(out);
      quantizer.quantizeColumn(6, 1, w, q);
      for (let r = 0; r < out; r++) {
        expect(Object.is(q[r], reference.quantizeAt(r, 6, 1, w[r])), `row ${r}, w = ${w[r]}`).toBe(true);
        expect(quantizer.codes[r * 8 + 6]).toBe(reference.codes[r * 8 + 6]);
      }
    }
  });

  it('matches hand-computed asymmetric 2-bit values', () => {
    // xmin = −1, xmax = 2 → s = 3/3 = 1, z = 1; x/s + z with halves to even: −1→0, 0→1, 0.5→0+1, 1.5→2+1, 2→3.
    const result = rtn({ w: Float32Array.from([-1, 0, 0.5, 1.5, 2]), out: 1, in: 5 }, { bits: 2, groupSize: -1, sym: false });
    const q = result.quant!;
    expect(q.scales[0]).toBe(1);
    expect(q.zeros[0]).toBe(1);
    expect(Array.from(q.codes)).toEqual([0, 1, 1, 3, 3]);
    expect(Array.from(result.wc)).toEqual([-1, 0, 0, 2, 2]);
  });

  it('symmetric grids put the zero point at (maxq+1)/2 and do not clip an all-positive group', () => {
    const result = rtn({ w: Float32Array.from([0.1, 0.2, 0.4, 0.05]), out: 1, in: 4 }, { bits: 4, groupSize: -1, sym: true });
    expect(result.quant!.zeros[0]).toBe(8);
    expect(result.quant!.scales[0]).toBe(Math.fround(0.8 / 15));
    // 0.4 / s = 7.5 → 8 + 8 = 16 → clamp 15 → 7·s: within one step, not clipped to xmax/2.
    expect(Math.abs(result.wc[2] - 0.4)).toBeLessThanOrEqual(result.quant!.scales[0]);
  });

  for (const sym of [false, true]) {
    for (const bits of [2, 3, 4, 8]) {
      it(`${sym ? 'sym' : 'asym'} ${bits}-bit: codes in range, zero points integral, dequantize reproduces W_c bit for bit`, () => {
        const layer = randomLayer(12, 64, 100 + bits);
        for (const groupSize of [-1, 16, 64]) {
          const result = rtn(layer, { bits, groupSize, sym });
          const q = result.quant!;
          const maxq = 2 ** bits - 1;
          expect(q.codes.every((c) => c <= maxq)).toBe(true);
          expect(q.zeros.every((z) => Number.isInteger(z) && z >= 0 && z <= maxq)).toBe(true);
          expect(q.scales.length).toBe(12 * (groupSize === -1 ? 1 : 64 / groupSize));
          expect(sameFloats(dequantize(q, 12, 64), result.wc)).toBe(true);
          // Round to nearest: no weight is further than half a step from its value, unless clipped at the top.
          for (let r = 0; r < 12; r++) {
            for (let c = 0; c < 64; c++) {
              const g = groupSize === -1 ? 0 : Math.floor(c / groupSize);
              const s = q.scales[r * q.scales.length / 12 + g];
              const clipped = q.codes[r * 64 + c] === maxq;
              if (!clipped) expect(Math.abs(result.wc[r * 64 + c] - layer.w[r * 64 + c])).toBeLessThanOrEqual(s / 2 + 1e-7);
            }
          }
        }
      });
    }
  }

  it('8 bits is nearly lossless; smaller groups are more accurate than per channel', () => {
    const layer = randomLayer(32, 128, 7);
    const err = (bits: number, groupSize: number) => linearMetrics(layer, rtn(layer, { bits, groupSize, sym: false })).relWeightError;
    // One step is ~6σ/255 per channel, so the relative RMS error is ~6/(255·√12) ≈ 0.007.
    expect(err(8, -1)).toBeLessThan(0.01);
    expect(err(8, 32)).toBeLessThan(err(8, -1));
    expect(err(8, -1)).toBeLessThan(err(4, -1) / 10);
    expect(err(4, 32)).toBeLessThan(err(4, -1));
    expect(err(3, 16)).toBeLessThan(err(3, 128));
    expect(err(2, -1)).toBeGreaterThan(err(3, -1));
  });

  it('an all-zero row stays zero', () => {
    const result = rtn({ w: new Float32Array(8), out: 1, in: 8 }, { bits: 3, groupSize: 4, sym: false });
    expect(Array.from(result.wc)).toEqual(new Array(8).fill(0));
  });

  it('rejects bad configurations with clear messages', () => {
    expect(() => checkQuantConfig({ bits: 9, groupSize: -1, sym: false })).toThrow('bits must be 2–8, got 9');
    expect(() => checkQuantConfig({ bits: 1, groupSize: -1, sym: false })).toThrow('bits must be 2–8, got 1');
    expect(() => checkQuantConfig({ bits: 4, groupSize: 0, sym: false })).toThrow('group size must be a positive integer, or -1 for one group per output channel; got 0');
    expect(() => new GroupQuantizer({ bits: 4, groupSize: 48, sym: false }, 4, 64)).toThrow('group size 48 does not divide the 64 input columns');
    expect(() => rtn({ w: new Float32Array(5), out: 2, in: 3 }, { bits: 4, groupSize: -1, sym: false })).toThrow('weight has 5 values, expected [2, 3] = 6');
    expect(() => rtn({ w: Float32Array.from([1, NaN]), out: 1, in: 2 }, { bits: 4, groupSize: -1, sym: false })).toThrow('weight has a non-finite value NaN at [0, 1]');
  });
});

describe('dequantize', () => {
  it('the per-row table path equals dequantizeValue per weight, also for act-order g_idx and for codes past 2^bits', () => {
    const out = 5;
    const n = 64;
    const random = rng(9);
    const codes = Uint8Array.from({ length: out * n }, () => Math.floor(random.uniform() * 8));
    codes[2 * n + 7] = 200; // not a 3-bit code: that row is computed directly
    const nGroups = 4;
    const scales = Float32Array.from({ length: out * nGroups }, () => random.uniform() + 0.1);
    const zeros = Float32Array.from({ length: out * nGroups }, () => Math.floor(random.uniform() * 8));
    const gIdx = Int32Array.from({ length: n }, (_, c) => (c * 7) % nGroups);
    for (const g of [undefined, gIdx]) {
      const q = { bits: 3, groupSize: 16, sym: false, codes, scales, zeros, ...(g ? { gIdx: g } : {}) };
      const wc = dequantize(q, out, n);
      for (let r = 0; r < out; r++) {
        for (let c = 0; c < n; c++) {
          const slot = r * nGroups + (g ? g[c] : Math.floor(c / 16));
          expect(Object.is(wc[r * n + c], dequantizeValue(codes[r * n + c], scales[slot], zeros[slot])), `[${r}, ${c}]`).toBe(true);
        }
      }
    }
  });
});

describe('placeColumns', () => {
  it('places codes given column by column in sweep order and returns dequantize’s W_c bit for bit (table and direct paths, g_idx, rows not a multiple of the tile)', () => {
    const out = 37;
    const n = 64;
    const random = rng(21);
    const { position } = randomOrder(n, random); // position[original column] = its place in sweep order
    for (const config of [
      { bits: 3, groupSize: 16, sym: false }, // 4 groups × 8 codes ≤ n/2: the table
      { bits: 8, groupSize: 16, sym: false }, // 4 × 256 > n/2: each value computed
      { bits: 4, groupSize: -1, sym: true },
    ]) {
      for (const pos of [null, position]) {
        const quantizer = new GroupQuantizer(config, out, n);
        quantizer.scales.set(Float32Array.from(quantizer.scales, () => random.uniform() + 0.01));
        quantizer.zeros.set(Float32Array.from(quantizer.zeros, () => Math.floor(random.uniform() * (quantizer.maxq + 1))));
        const columns = Uint8Array.from({ length: n * out }, () => Math.floor(random.uniform() * (quantizer.maxq + 1)));
        // Act-order groups: by sweep position, as gptq.ts's g_idx.
        const gIdx = pos && config.groupSize !== -1 ? Int32Array.from(pos, (j) => Math.floor(j / config.groupSize)) : undefined;
        const wc = quantizer.placeColumns(columns, pos, gIdx);
        for (let r = 0; r < out; r++) {
          for (let c = 0; c < n; c++) expect(quantizer.codes[r * n + c]).toBe(columns[(pos ? pos[c] : c) * out + r]);
        }
        expect(sameFloats(wc, dequantize(quantizer.state(gIdx), out, n))).toBe(true);
      }
    }
  });
});

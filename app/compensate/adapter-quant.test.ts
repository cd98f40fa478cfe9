import { describe, expect, it } from 'vitest';
import { fromArray } from '../linalg/matrix.js';
import { adapterQuantization, quantizeRtn } from './adapter-quant.js';
import { decomposeLayer } from './decomposition.js';
import { randomLayer } from './random-layer.js';

describe('RTN', () => {
  it('puts every value on its group grid, within half a step, and keeps zeros exact', () => {
    const m = fromArray(2, 6, [0.1, -0.4, 0.25, 0, 1, 0.3, 5, 5, 5, -2, 0, 7]);
    const q = quantizeRtn(m, 4, 3); // groups: [0.1 −0.4 0.25] [0 1 0.3] [5 5 5] [−2 0 7]
    const step = [0.5 / 15, 1 / 15, 5 / 15, 9 / 15];
    for (let k = 0; k < 12; k++) expect(Math.abs(q.data[k] - m.data[k])).toBeLessThanOrEqual(step[Math.floor(k / 3)] / 2 + 1e-15);
    expect(q.data[3]).toBe(0);
    expect(q.data[10]).toBe(0);
    expect(Array.from(q.data.subarray(6, 9))).toEqual([5, 5, 5]); // max of the group is on the grid
  });

  it('rejects nonsense bit widths and group sizes', () => {
    const m = fromArray(1, 2, [1, 2]);
    expect(() => quantizeRtn(m, 1, 2)).toThrow(/bits/);
    expect(() => quantizeRtn(m, 8, 0)).toThrow(/groupSize/);
  });
});

const layer = randomLayer({ out: 160, in: 256, tokens: 600, seed: 9, errorDecay: 0.97 });
const d = await decomposeLayer(layer, { methods: ['eora'], rMax: 64 });

describe('quantized adapters', () => {
  const r = 32;
  const curve = d.methods.eora!.curves.output;
  const gain = curve[0] - curve[r]; // what the float adapter wins back

  it('reports the extra output error: ≥ 0 (EoRA is optimal at rank r), tiny at 8 bits, larger at 4', async () => {
    const eight = await adapterQuantization(layer, d.adapterAt('eora', r, 'sqrt'), { bits: 8 });
    const four = await adapterQuantization(layer, d.adapterAt('eora', r, 'sqrt'), { bits: 4 });
    expect(Math.abs(eight.outputError - curve[r])).toBeLessThan(1e-12);
    expect(eight.extra).toBeGreaterThanOrEqual(0);
    expect(eight.extra).toBeLessThan(1e-3 * gain);
    expect(four.extra).toBeGreaterThan(eight.extra);
    expect(four.extra).toBeLessThan(0.1 * gain);
  });

  it("'sqrt' quantizes better than putting all of Σ in B", async () => {
    const sqrt = await adapterQuantization(layer, d.adapterAt('eora', r, 'sqrt'), { bits: 4, groupSize: 64 });
    const inB = await adapterQuantization(layer, d.adapterAt('eora', r, 'B'), { bits: 4, groupSize: 64 });
    expect(sqrt.extra).toBeLessThan(inB.extra);
  });
});

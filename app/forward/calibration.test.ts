import { describe, expect, it } from 'vitest';
import { GramAccumulator, gramNames, type GramStats } from './calibration.js';
import { ModelRunner, type LayerEvent } from './runner.js';
import { randomModel } from './testing/randomModel.js';
import { ReferenceLlama } from './testing/reference.js';

/** XᵀX of rows X [n][k], float64. */
function gramOf(rows: Float64Array[]): Float64Array {
  const k = rows[0].length;
  const out = new Float64Array(k * k);
  for (const row of rows) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[i * k + j] += row[i] * row[j];
  return out;
}

function maxRelative(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

describe('calibration statistics', () => {
  it('each layer hands the hook XᵀX of every linear input, matching the float64 reference', async () => {
    const model = randomModel({ heads: 4, kvHeads: 2, bias: true, layers: 3, seed: 5 });
    const runner = await ModelRunner.create(model);
    const rows = [
      [1, 4, 9, 16, 25, 36, 49, 64],
      [1, 3, 5, 7, 11, 13, 17, 19],
    ];
    const events: LayerEvent[] = [];
    const plain = await runner.forwardLogits(Int32Array.from(rows.flat()), [2, 8]);
    const withStats = await runner.forwardLogits(Int32Array.from(rows.flat()), [2, 8], { collectStats: true, onLayer: (e) => void events.push(e) });
    expect(maxRelative(withStats, plain)).toBeLessThan(1e-6); // the stats variant computes the same forward

    expect(events.map((e) => e.layer)).toEqual([0, 1, 2]);
    expect(events[1].input).toBe(events[0].output); // hidden state passes block to block
    const reference = new ReferenceLlama(model);
    const taps = rows.map((r) => reference.linearInputs(r));
    for (const { layer, stats } of events) {
      expect(stats!.tokens).toBe(16);
      for (const name of gramNames) {
        const expected = gramOf([...taps[0][layer][name], ...taps[1][layer][name]]);
        expect(maxRelative(stats![name]!, expected), `layer ${layer} ${name}`).toBeLessThan(1e-5);
      }
    }
    await runner.release();
  });

  it('GramAccumulator sums batches in float64 and averages per token', async () => {
    const model = randomModel({ seed: 6 });
    const runner = await ModelRunner.create(model);
    const tokens = Int32Array.from([1, 5, 6, 7, 1, 8, 9, 10]);
    const together = new GramAccumulator(runner.block);
    const separate = new GramAccumulator(runner.block);
    const collect = (acc: GramAccumulator) => ({ collectStats: true, onLayer: (e: LayerEvent) => void (e.layer === 0 && acc.add(e.stats as GramStats)) });
    await runner.forwardHidden(tokens, [2, 4], collect(together));
    await runner.forwardHidden(tokens.subarray(0, 4), [1, 4], collect(separate));
    await runner.forwardHidden(tokens.subarray(4), [1, 4], collect(separate));
    expect(separate.tokens).toBe(8);
    for (const name of gramNames) expect(maxRelative(separate.sums[name], together.sums[name])).toBeLessThan(1e-6);
    const mean = separate.mean('mlp_in');
    expect(mean[0]).toBeCloseTo(separate.sums.mlp_in[0] / 8, 10);
    expect(() => new GramAccumulator(runner.block).mean('o_in')).toThrow('no tokens');
    await runner.release();
  });

  it('runBlock with a list of Grams computes only those, bitwise equal to the full stats graph, and the same output', async () => {
    const model = randomModel({ heads: 4, kvHeads: 2, layers: 2, seed: 7 });
    const runner = await ModelRunner.create(model);
    const d = runner.block.hidden;
    const x = Float32Array.from({ length: 2 * 5 * d }, (_, i) => Math.sin(i * 0.7));
    const all = await runner.runBlock(1, x, [2, 5], true);
    for (const subset of [['o_in'], ['attn_in'], ['down_in'], ['mlp_in', 'attn_in']] as const) {
      const some = await runner.runBlock(1, x, [2, 5], subset);
      expect(Object.keys(some.stats!).sort()).toEqual([...subset, 'tokens'].sort());
      for (const name of subset) expect(some.stats![name]).toEqual(all.stats![name]);
      expect(some.hidden).toEqual(all.hidden);
      const acc = new GramAccumulator(runner.block, subset);
      acc.add(some.stats!);
      for (const name of gramNames) expect(acc.sums[name].length).toBe(subset.includes(name as never) ? acc.widths[name] ** 2 : 0);
      expect(() => acc.add({ tokens: 10 })).toThrow(`no ${acc.names[0]} statistics`);
    }
    expect((await runner.runBlock(1, x, [2, 5], [])).stats).toBeUndefined();
    await runner.release();
  });
});

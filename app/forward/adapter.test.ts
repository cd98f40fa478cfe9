// Unmerged low-rank adapters (W·x + B·(A·x), as deployed) vs the same adapters merged into the
// weight (W + B·A, formed in float64, cast to float32, through setWeight): same logits.
import { afterAll, describe, expect, it } from 'vitest';
import { rng } from '../linalg/random.js';
import { openModel } from '../model/open.js';
import type { Model } from '../model/types.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { ModelRunner } from './runner.js';
import { randomModel } from './testing/randomModel.js';

const sessions = new SessionCache('cpu');
afterAll(() => sessions.release());

interface TestAdapter {
  name: string;
  rank: number;
  A: Float32Array;
  B: Float32Array;
}

/** Random rank-r adapters on `names`, scaled so B·A is a visible but modest change of W. */
function randomAdapters(model: Model, names: string[], rank: number, seed: number): TestAdapter[] {
  const { uniform } = rng(seed);
  return names.map((name) => {
    const [out, inDim] = model.tensors.get(`${name}.weight`)!.shape;
    const A = Float32Array.from({ length: rank * inDim }, () => (2 * uniform() - 1) * Math.sqrt(3 / inDim));
    const B = Float32Array.from({ length: out * rank }, () => (2 * uniform() - 1) * 0.3 * Math.sqrt(3 / rank));
    return { name, rank, A, B };
  });
}

/** W + B·A in float64, cast to float32. */
function mergedWeight(W: Float32Array, { A, B, rank }: TestAdapter): Float32Array {
  const inDim = A.length / rank;
  const out = B.length / rank;
  const merged = new Float32Array(W.length);
  for (let i = 0; i < out; i++)
    for (let c = 0; c < inDim; c++) {
      let sum = W[i * inDim + c];
      for (let j = 0; j < rank; j++) sum += B[i * rank + j] * A[j * inDim + c];
      merged[i * inDim + c] = sum;
    }
  return merged;
}

/** max |a − b| / max |b|. */
function maxRelativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return diff / ref;
}

/** Logits and NLL (and the cached-decoding logits) with the adapters unmerged, then merged. */
async function compare(model: Model, runner: ModelRunner, adapters: TestAdapter[], rows: number[][]) {
  const [B, T] = [rows.length, rows[0].length];
  const tokens = Int32Array.from(rows.flat());
  const targets = Int32Array.from(rows.flat().map((_, i, all) => all[(i + 1) % all.length]));
  const plain = await runner.forwardLogits(tokens, [B, T]);

  for (const a of adapters) runner.setAdapter(a.name, a.A, a.B, a.rank);
  expect(runner.adapterCount).toBe(adapters.length);
  const unmerged = {
    logits: await runner.forwardLogits(tokens, [B, T]),
    nll: await runner.forwardNll(tokens, targets, [B, T]),
    stats: await runner.forwardLogits(tokens, [B, T], { collectStats: true }),
    cached: (await runner.forwardCached(tokens, [B, T])).logits,
  };
  runner.clearAdapters();
  expect(runner.adapterCount).toBe(0);
  expect(await runner.forwardLogits(tokens, [B, T])).toEqual(plain); // plain graph, bit for bit

  for (const a of adapters) runner.setWeight(`${a.name}.weight`, mergedWeight(model.readTensor(`${a.name}.weight`), a));
  const merged = {
    logits: await runner.forwardLogits(tokens, [B, T]),
    nll: await runner.forwardNll(tokens, targets, [B, T]),
    cached: (await runner.forwardCached(tokens, [B, T])).logits,
  };
  runner.resetWeights();
  return {
    plainChange: maxRelativeError(plain, merged.logits),
    logits: maxRelativeError(unmerged.logits, merged.logits),
    stats: maxRelativeError(unmerged.stats, merged.logits),
    nll: maxRelativeError(unmerged.nll, merged.nll),
    cached: maxRelativeError(unmerged.cached, merged.cached),
  };
}

describe('unmerged low-rank adapters', () => {
  it('match the merged weights on a random GQA Llama with q/k/v bias', async () => {
    const model = randomModel({ heads: 8, kvHeads: 2, headDim: 4, bias: true, tied: false, layers: 3, seed: 21 });
    const runner = await ModelRunner.create(model, { sessions });
    const names = [
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.k_proj',
      'model.layers.1.self_attn.o_proj',
      'model.layers.1.mlp.gate_proj',
      'model.layers.2.mlp.up_proj',
      'model.layers.2.mlp.down_proj',
    ];
    const rows = [
      [1, 5, 9, 33, 2, 17, 60, 4, 8, 90, 3],
      [1, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41],
    ];
    const errors = await compare(model, runner, randomAdapters(model, names, 4, 5), rows);
    console.log('random Llama, max relative error unmerged vs merged:', errors);
    expect(errors.plainChange).toBeGreaterThan(1e-2); // the adapters matter
    expect(errors.logits).toBeLessThan(1e-5);
    expect(errors.stats).toBeLessThan(1e-5);
    expect(errors.nll).toBeLessThan(1e-5);
    expect(errors.cached).toBeLessThan(1e-5);
    await runner.release();
  });

  it('match the merged weights on the bundled model', async () => {
    const model = await openModel();
    try {
      const runner = await ModelRunner.create(model, { sessions });
      const last = model.config.num_layers - 1;
      const names = [
        'model.layers.0.self_attn.q_proj',
        'model.layers.0.mlp.down_proj',
        `model.layers.${last}.self_attn.v_proj`,
        `model.layers.${last}.self_attn.o_proj`,
        `model.layers.${last}.mlp.up_proj`,
      ];
      const text = model.tokenizer.encode('Once upon a time, there was a little girl named Lily. She loved to play');
      const T = Math.min(16, text.length - 1);
      const rows = [text.slice(0, T), text.slice(1, T + 1)];
      const errors = await compare(model, runner, randomAdapters(model, names, 4, 6), rows);
      console.log('bundled model, max relative error unmerged vs merged:', errors);
      expect(errors.plainChange).toBeGreaterThan(1e-3);
      expect(errors.logits).toBeLessThan(1e-5);
      expect(errors.stats).toBeLessThan(1e-5);
      expect(errors.nll).toBeLessThan(1e-5);
      expect(errors.cached).toBeLessThan(1e-5);
      await runner.release();
    } finally {
      model.close();
    }
  });

  it('validates names and shapes, and clearAdapters brings back the plain sessions', async () => {
    const model = randomModel({ seed: 22 }); // d = 32, I = 96
    const runner = await ModelRunner.create(model, { sessions });
    const q = 'model.layers.0.self_attn.q_proj';
    const rank = 4;
    const A = new Float32Array(rank * 32);
    const B = new Float32Array(32 * rank);
    expect(() => runner.setAdapter('model.layers.2.self_attn.q_proj', A, B, rank)).toThrow('is not a linear of this model');
    expect(() => runner.setAdapter('model.layers.0.input_layernorm', A, B, rank)).toThrow('is not a linear of this model');
    expect(() => runner.setAdapter(q, A, B, 2.5)).toThrow('rank must be a non-negative integer, got 2.5');
    expect(() => runner.setAdapter(q, A, B, -1)).toThrow('rank must be a non-negative integer');
    expect(() => runner.setAdapter(q, new Float32Array(33 * 32), new Float32Array(32 * 33), 33)).toThrow('rank 33 exceeds min(out, in) = 32');
    expect(() => runner.setAdapter(q, A, B, 3)).toThrow('A has 128 values, but rank 3 needs [3, 32] = 96');
    expect(() => runner.setAdapter(q, A, new Float32Array(31 * rank), rank)).toThrow('B has 124 values, but rank 4 needs [32, 4] = 128');
    expect(() => runner.setAdapter('model.layers.1.mlp.down_proj', new Float32Array(rank * 32), new Float32Array(32 * rank), rank)).toThrow(
      'A has 128 values, but rank 4 needs [4, 96] = 384',
    );
    expect(runner.adapterCount).toBe(0);

    const tokens = Int32Array.from([1, 7, 8, 9, 10]);
    const plain = await runner.forwardLogits(tokens, [1, 5]);
    const size = sessions.size;
    // Zero adapters change nothing numerically but run the adapter graph; '.weight' names are accepted.
    runner.setAdapter(`${q}.weight`, A, B, rank);
    runner.setAdapter('model.layers.1.mlp.down_proj', new Float32Array(rank * 96), new Float32Array(32 * rank), rank);
    expect(runner.adapterCount).toBe(2);
    const zero = await runner.forwardLogits(tokens, [1, 5]);
    expect(sessions.size).toBe(size + 2); // one session per set of adapted kinds
    expect(maxRelativeError(zero, plain)).toBeLessThan(1e-6);
    // Rank 0 removes one adapter; clearAdapters removes all and the plain graph runs again.
    runner.setAdapter(q, new Float32Array(0), new Float32Array(0), 0);
    expect(runner.adapterCount).toBe(1);
    runner.clearAdapters();
    expect(await runner.forwardLogits(tokens, [1, 5])).toEqual(plain);
    expect(sessions.size).toBe(size + 2);
    await runner.release();
  });
});

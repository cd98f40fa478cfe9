import { afterAll, describe, expect, it } from 'vitest';
import { SessionCache } from '../onnx/sessionCache.js';
import { ModelRunner } from './runner.js';
import { randomModel, type RandomLlama } from './testing/randomModel.js';
import { ReferenceLlama, relativeError } from './testing/reference.js';

const sessions = new SessionCache('cpu');
afterAll(() => sessions.release());

const configs: [string, RandomLlama][] = [
  ['MHA (group 1), tied', { heads: 4, kvHeads: 4, tied: true }],
  ['GQA group 2, untied', { heads: 4, kvHeads: 2, tied: false, seed: 2 }],
  ['GQA group 4, q/k/v bias', { heads: 8, kvHeads: 2, headDim: 4, bias: true, seed: 3 }],
  ['GQA group 4, untied, bias, 3 layers', { heads: 4, kvHeads: 1, layers: 3, tied: false, bias: true, intermediate: 40, seed: 4 }],
];

describe('ModelRunner vs the float64 reference', () => {
  for (const [label, options] of configs) {
    it(`logits match on ${label}`, async () => {
      const model = randomModel(options);
      const runner = await ModelRunner.create(model, { sessions });
      const reference = new ReferenceLlama(model);
      const rows = [
        [1, 5, 9, 33, 2, 17, 60, 4, 8, 90, 3],
        [1, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41],
      ];
      const tokens = Int32Array.from(rows.flat());
      const logits = await runner.forwardLogits(tokens, [2, 11]);
      const V = model.config.vocab_size;
      for (let b = 0; b < 2; b++) {
        const expected = reference.logits(rows[b]);
        expect(relativeError(logits.subarray(b * 11 * V, (b + 1) * 11 * V), expected)).toBeLessThan(1e-4);
      }
      // The last-position and NLL heads agree with the full logits.
      const last = await runner.forwardLastLogits(tokens, [2, 11]);
      expect(relativeError(last.subarray(0, V), [reference.logits(rows[0], true)[0]])).toBeLessThan(1e-4);
      const targets = Int32Array.from(rows.flat().map((_, i, all) => all[(i + 1) % all.length]));
      const nll = await runner.forwardNll(tokens, targets, [2, 11]);
      const row = reference.logits(rows[0])[3];
      const max = Math.max(...row);
      const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      expect(nll[3]).toBeCloseTo(logSum - row[targets[3]], 4);
      await runner.release();
    });
  }

  it('shares one block session across layers and models of the same shape', async () => {
    const before = sessions.size;
    const a = await ModelRunner.create(randomModel({ heads: 4, kvHeads: 4, seed: 9 }), { sessions });
    const b = await ModelRunner.create(randomModel({ heads: 4, kvHeads: 4, seed: 10 }), { sessions });
    expect(sessions.size).toBe(before);
    await a.release();
    await b.release();
  });
});

describe('ModelRunner checks its inputs', () => {
  it('rejects a checkpoint whose tensors disagree with the config', async () => {
    const model = randomModel({ seed: 12 });
    const wrongShape = { ...model, tensors: new Map(model.tensors) };
    wrongShape.tensors.set('model.layers.1.mlp.up_proj.weight', { name: 'model.layers.1.mlp.up_proj.weight', dtype: 'F32', shape: [96, 31] });
    await expect(ModelRunner.create(wrongShape, { sessions })).rejects.toThrow(
      'random-llama-12: model.layers.1.mlp.up_proj.weight has shape [96, 31], but the config implies [96, 32]',
    );
    const missing = { ...model, tensors: new Map(model.tensors) };
    missing.tensors.delete('model.norm.weight');
    await expect(ModelRunner.create(missing, { sessions })).rejects.toThrow('the tensor model.norm.weight is missing');
    const shortData = { ...model, readTensor: (name: string) => model.readTensor(name).subarray(1) };
    const runner = await ModelRunner.create(shortData, { sessions });
    await expect(runner.forwardLogits(Int32Array.from([1, 2]), [1, 2])).rejects.toThrow(
      'random-llama-12: model.embed_tokens.weight has 3103 values, but the config implies [97, 32] = 3104',
    );
  });

  it('rejects bad tokens, dims, layers and substitutions', async () => {
    const runner = await ModelRunner.create(randomModel({ seed: 13 }), { sessions });
    await expect(runner.forwardLogits(Int32Array.from([1, 97]), [1, 2])).rejects.toThrow('token id 97 at position 1 is outside the vocabulary (0..96)');
    await expect(runner.forwardLogits(Int32Array.from([1, 2, 3]), [1, 2])).rejects.toThrow('expected 1·2 = 2 token ids for dims [1, 2], got 3');
    await expect(runner.runBlock(2, new Float32Array(32), [1, 1])).rejects.toThrow('layer 2 is out of range (0..1)');
    expect(() => runner.setWeight('model.layers.0.self_attn.q_proj.weight', new Float32Array(5))).toThrow('has 5 values, but the config implies [32, 32] = 1024');
    expect(() => runner.setWeight('model.layers.9.mlp.up_proj.weight', new Float32Array(5))).toThrow('is not a tensor the forward pass uses');
  });

  it('setWeight substitutes a tensor without new sessions', async () => {
    const model = randomModel({ seed: 14 });
    const runner = await ModelRunner.create(model, { sessions });
    const tokens = Int32Array.from([1, 7, 8, 9]);
    const before = await runner.forwardLogits(tokens, [1, 4]);
    const size = sessions.size;
    runner.setWeight('model.layers.0.mlp.down_proj.weight', new Float32Array(32 * 96)); // MLP of layer 0 contributes nothing
    const after = await runner.forwardLogits(tokens, [1, 4]);
    expect(sessions.size).toBe(size);
    expect(after).not.toEqual(before);
    runner.resetWeights();
    expect(await runner.forwardLogits(tokens, [1, 4])).toEqual(before);
  });
});

describe('ModelRunner.forwardCached', () => {
  it('decoding in chunks with the KV cache equals the full forward', async () => {
    const model = randomModel({ heads: 8, kvHeads: 2, headDim: 4, bias: true, tied: false, seed: 15 });
    const runner = await ModelRunner.create(model, { sessions });
    const rows = [
      [1, 5, 9, 33, 2, 17, 60, 4, 8],
      [1, 50, 49, 48, 47, 46, 45, 44, 43],
    ];
    const V = model.config.vocab_size;
    const take = (from: number, to: number) => Int32Array.from(rows.flatMap((r) => r.slice(from, to)));
    const full = await runner.forwardLogits(take(0, 9), [2, 9]); // [2, 9, V]
    let step = await runner.forwardCached(take(0, 5), [2, 5]); // prefill positions 0..4
    for (const [from, to] of [
      [5, 6],
      [6, 9],
    ]) {
      step = await runner.forwardCached(take(from, to), [2, to - from], step.cache);
      for (let b = 0; b < 2; b++) {
        const expected = full.subarray((b * 9 + to - 1) * V, (b * 9 + to) * V);
        expect(relativeError(step.logits.subarray(b * V, (b + 1) * V), [Float64Array.from(expected)])).toBeLessThan(1e-5);
      }
    }
    expect(step.cache.length).toBe(9);
    expect(step.cache.keys[0].length).toBe(2 * 2 * 9 * 4); // [B, nKv, 1, P, hd]
    await expect(runner.forwardCached(take(0, 1).subarray(0, 1), [1, 1], step.cache)).rejects.toThrow('the cache holds batch 2');
  });
});

// The streaming path of ModelRunner (one block resident, embedding rows read by row, lm_head
// in row-chunks with a running log-sum-exp) against the resident path on the same model, and
// the weight account it keeps.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SessionCache } from '../onnx/sessionCache.js';
import { weightAccount } from './memory.js';
import { ModelRunner } from './runner.js';
import type { Model } from '../model/types.js';
import { randomModel } from './testing/randomModel.js';
import { relativeError } from './testing/reference.js';

const sessions = new SessionCache('cpu');
afterAll(() => sessions.release());
const defaults = { cacheBytes: weightAccount.cacheBytes, headChunkBytes: weightAccount.headChunkBytes };
afterEach(() => Object.assign(weightAccount, defaults));

/** Float32 bytes of one decoder block of `model`. */
function blockBytes(c: ReturnType<typeof randomModel>['config']): number {
  const d = c.hidden_size;
  const q = c.num_heads * c.head_dim;
  const kv = c.num_kv_heads * c.head_dim;
  return 4 * (2 * d + 2 * q * d + 2 * kv * d + 3 * c.intermediate_size * d + (c.attention_bias ? q + 2 * kv : 0));
}

/** `model` behind a reader that fills `into` like the safetensors reader, logging which reads did. */
function fillingReader(model: Model, filled: Float32Array[]): Model {
  const read = model.readTensor.bind(model);
  return {
    ...model,
    readTensor(name: string, into?: Float32Array) {
      const data = read(name);
      if (into?.length !== data.length) return data.slice();
      into.set(data);
      filled.push(into);
      return into;
    },
  };
}

describe('ModelRunner streaming', () => {
  for (const tied of [true, false]) {
    it(`gives the resident runner's logits, last logits and NLL (${tied ? 'tied' : 'untied'}, 6 layers, 7-row head chunks)`, async () => {
      const model = randomModel({ layers: 6, tied, bias: !tied, vocab: 61, seed: 7 });
      const resident = await ModelRunner.create(model, { sessions });
      weightAccount.cacheBytes = 0;
      weightAccount.headChunkBytes = 7 * 4 * model.config.hidden_size; // 61 = 8 chunks of 7 + 5
      const streaming = await ModelRunner.create(model, { sessions });
      const tokens = Int32Array.from({ length: 2 * 9 }, (_, i) => (i * 17 + 3) % 61);
      const targets = Int32Array.from(tokens, (_, i) => (i * 29 + 1) % 61);
      const dims = [2, 9] as const;
      expect(relativeError(await streaming.forwardLogits(tokens, dims), [Float64Array.from(await resident.forwardLogits(tokens, dims))])).toBeLessThan(1e-6);
      expect(relativeError(await streaming.forwardLastLogits(tokens, dims), [Float64Array.from(await resident.forwardLastLogits(tokens, dims))])).toBeLessThan(1e-6);
      const nllS = await streaming.forwardNll(tokens, targets, dims);
      const nllR = await resident.forwardNll(tokens, targets, dims);
      for (let i = 0; i < nllR.length; i++) expect(Math.abs(nllS[i] - nllR[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(nllR[i])));

      // Streaming: at most one block, the embedding rows, the final norm and one head chunk were resident.
      await resident.release();
      weightAccount.resetPeak();
      await streaming.forwardNll(tokens, targets, dims);
      const d = model.config.hidden_size;
      const bound = blockBytes(model.config) + 4 * d * (tokens.length + 7 + 1);
      expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeLessThanOrEqual(bound);
      expect(weightAccount.peak).toBeGreaterThanOrEqual(blockBytes(model.config));
      await streaming.release();
      expect(weightAccount.resident).toBe(0);
    });
  }

  it("runs a model kept resident with ORT's memory arena, a streamed one without unless asked (plain passes), and keeps a cache's policy once it has sessions", async () => {
    const model = randomModel({ layers: 3, tied: true, vocab: 61, seed: 11 });
    const resident = await ModelRunner.create(model);
    weightAccount.cacheBytes = 0;
    const streamed = await ModelRunner.create(model);
    const plain = await ModelRunner.create(model, { memArena: true });
    try {
      expect(resident.sessions.memArenaOn).toBe(true);
      expect(streamed.sessions.memArenaOn).toBe(false);
      expect(plain.sessions.memArenaOn).toBe(true);
      expect(Array.from(await plain.forwardNll(Int32Array.of(1, 2, 3), Int32Array.of(2, 3, 4), [1, 3]))).toEqual(Array.from(await streamed.forwardNll(Int32Array.of(1, 2, 3), Int32Array.of(2, 3, 4), [1, 3])));
      expect(() => streamed.sessions.useMemArena(true)).toThrow(/fixed once a session exists/);
    } finally {
      await resident.release();
      await streamed.release();
      await plain.release();
    }
  });

  it('setWeightSource substitutes block by block, and setWeight wins over it', async () => {
    weightAccount.cacheBytes = 0;
    const model = randomModel({ layers: 3, seed: 9 });
    const runner = await ModelRunner.create(model, { sessions });
    const name = 'model.layers.1.mlp.down_proj.weight';
    const zeros = new Float32Array(model.readTensor(name).length);
    const asked: string[] = [];
    runner.setWeightSource((n) => (asked.push(n), n === name ? zeros : undefined));
    expect(runner.blockTensor(1, 'mlp.down_proj.weight')).toBe(zeros);
    expect(asked.every((n) => n.startsWith('model.layers.1.'))).toBe(true);
    expect(runner.blockTensor(0, 'mlp.down_proj.weight')).toEqual(model.readTensor('model.layers.0.mlp.down_proj.weight'));
    const ones = new Float32Array(zeros.length).fill(1);
    runner.setWeight(name, ones);
    expect(runner.blockTensor(1, 'mlp.down_proj.weight')).toBe(ones);
    runner.releaseLayer(1);
    expect(runner.blockTensor(1, 'mlp.down_proj.weight')).toBe(zeros);
    runner.setWeightSource(null);
    expect(runner.blockTensor(1, 'mlp.down_proj.weight')).toEqual(model.readTensor(name));
    await runner.release();
  });

  it("reuses a dropped block's arrays for the next block, never one lent out (blockTensor) or substituted, and the numbers do not change", async () => {
    const base = randomModel({ layers: 4, vocab: 61, seed: 5 });
    const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 13 + 2) % 61);
    const targets = Int32Array.from(tokens, (_, i) => (i * 7 + 5) % 61);
    const dims = [1, 12] as const;
    const resident = await ModelRunner.create(base, { sessions });
    const expected = await resident.forwardNll(tokens, targets, dims);
    await resident.release();

    weightAccount.cacheBytes = 0;
    const filled: Float32Array[] = [];
    const runner = await ModelRunner.create(fillingReader(base, filled), { sessions });
    const first = await runner.forwardNll(tokens, targets, dims);
    const second = await runner.forwardNll(tokens, targets, dims);
    expect(Array.from(first)).toEqual(Array.from(second));
    for (let i = 0; i < expected.length; i++) expect(Math.abs(first[i] - expected[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected[i])));
    // 9 tensors a block, 4 blocks a pass, 2 passes: after block 0 every read refills a recycled array.
    const distinct = new Set(filled);
    expect(filled.length).toBe(2 * 4 * 9);
    expect(distinct.size).toBeLessThanOrEqual(9);

    // A tensor handed out by blockTensor (compress keeps W) and a substitution survive later blocks' reads.
    const name = 'model.layers.0.mlp.down_proj.weight';
    const lent = runner.blockTensor(0, 'mlp.down_proj.weight');
    const lentCopy = lent.slice();
    const substitute = base.readTensor('model.layers.1.mlp.up_proj.weight').map((x) => 2 * x);
    const substituteCopy = substitute.slice();
    runner.setWeight('model.layers.1.mlp.up_proj.weight', substitute);
    filled.length = 0;
    await runner.forwardNll(tokens, targets, dims);
    await runner.forwardNll(tokens, targets, dims);
    expect(filled).not.toContain(lent);
    expect(filled).not.toContain(substitute);
    expect(Array.from(lent)).toEqual(Array.from(lentCopy));
    expect(Array.from(substitute)).toEqual(Array.from(substituteCopy));
    expect(Array.from(runner.blockTensor(0, 'mlp.down_proj.weight'))).toEqual(Array.from(base.readTensor(name)));
    await runner.release();
    expect(weightAccount.resident).toBe(0);
  });
});

// The streaming path of ModelRunner (one block resident, embedding rows read by row, lm_head
// in row-chunks with a running log-sum-exp) against the resident path on the same model, and
// the weight account it keeps.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SessionCache } from '../onnx/sessionCache.js';
import { weightAccount } from './memory.js';
import { ModelRunner } from './runner.js';
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

  it("runs a model kept resident with ORT's memory arena, a streamed one without, and keeps a cache's policy once it has sessions", async () => {
    const model = randomModel({ layers: 3, tied: true, vocab: 61, seed: 11 });
    const resident = await ModelRunner.create(model);
    weightAccount.cacheBytes = 0;
    const streamed = await ModelRunner.create(model);
    try {
      expect(resident.sessions.memArenaOn).toBe(true);
      expect(streamed.sessions.memArenaOn).toBe(false);
      expect(() => streamed.sessions.useMemArena(true)).toThrow(/fixed once a session exists/);
    } finally {
      await resident.release();
      await streamed.release();
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
});

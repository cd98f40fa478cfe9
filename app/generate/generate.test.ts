import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../forward/runner.js';
import { randomModel } from '../forward/testing/randomModel.js';
import { ReferenceLlama } from '../forward/testing/reference.js';
import { generate } from './generate.js';
import { argmax, createSampler, sample } from './sampler.js';

describe('sampler', () => {
  const logits = Float32Array.from([1, 3, 3, 0, 2]);

  it('greedy takes the argmax, lowest id on ties', () => {
    expect(argmax(logits)).toBe(1);
    expect(createSampler({ temperature: 0 })(logits)).toBe(1);
  });

  it('samples by inverse CDF over the nucleus', () => {
    // softmax([1,3,3,0,2]) ≈ [.060, .443, .443, .022, .163]; sorted: 1, 2, 4, 0, 3.
    expect(sample(logits, 1, 1, 0)).toBe(1);
    expect(sample(logits, 1, 1, 0.5)).toBe(2);
    expect(sample(logits, 1, 1, 0.95)).toBe(0);
    expect(sample(logits, 1, 1, 0.999)).toBe(3);
    // top-p 0.5 keeps {1, 2} (mass .886): u = 0.999 stays inside it.
    expect(sample(logits, 1, 0.5, 0.999)).toBe(2);
    // A tiny top-p keeps one token: greedy.
    expect(sample(logits, 5, 1e-9, 0.7)).toBe(1);
  });

  it('is reproducible for a seed and follows the distribution', () => {
    const draw = (seed: number) => {
      const s = createSampler({ temperature: 1, seed });
      return Array.from({ length: 4000 }, () => s(logits));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    const counts = draw(5).reduce((c, id) => (c[id]++, c), [0, 0, 0, 0, 0]);
    expect(counts[4] / 4000).toBeCloseTo(0.163, 1);
  });

  it('rejects bad options', () => {
    expect(() => createSampler({ temperature: -1 })).toThrow('temperature must be ≥ 0');
    expect(() => createSampler({ topP: 0 })).toThrow('topP must be in (0, 1]');
  });
});

describe('generate', () => {
  const model = randomModel({ heads: 4, kvHeads: 2, maxPositions: 48, vocab: 61, seed: 11 });
  let runner: ModelRunner;
  beforeAll(async () => {
    runner = await ModelRunner.create(model);
  });
  afterAll(() => runner.release());

  it('greedy ids equal the float64 reference greedy ids', async () => {
    const result = await generate(runner, 'abc', { maxNewTokens: 24, stopAtEos: false });
    expect(result.promptIds).toEqual(model.tokenizer.encode('abc'));
    expect(result.tokenIds).toEqual(new ReferenceLlama(model).greedy(result.promptIds, 24));
    expect(result.stopReason).toBe('max_new_tokens');
    expect(result.text).toBe(model.tokenizer.decode(result.tokenIds));
  });

  it('stops at the context length and at EOS', async () => {
    const long = await generate(runner, 'x'.repeat(40), { maxNewTokens: 100, stopAtEos: false });
    expect(long.tokenIds.length).toBe(48 - 41);
    expect(long.stopReason).toBe('max_positions');
    // Declare the first greedy token to be EOS: generation must stop right after it.
    const eosRunner = await ModelRunner.create({ ...model, config: { ...model.config, eos_token_id: long.tokenIds[0] } });
    const stopped = await generate(eosRunner, 'x'.repeat(40), { maxNewTokens: 100 });
    expect(stopped.tokenIds).toEqual([long.tokenIds[0]]);
    expect(stopped.stopReason).toBe('eos');
    await eosRunner.release();
  });

  it('sampling is reproducible for a seed', async () => {
    const a = await generate(runner, 'hello', { maxNewTokens: 16, temperature: 1, topP: 0.9, seed: 42, stopAtEos: false });
    const b = await generate(runner, 'hello', { maxNewTokens: 16, temperature: 1, topP: 0.9, seed: 42, stopAtEos: false });
    expect(a.tokenIds).toEqual(b.tokenIds);
  });

  it('checks options and the signal', async () => {
    await expect(generate(runner, 'x'.repeat(60))).rejects.toThrow("the prompt has 61 tokens; the model's context is 48");
    await expect(generate(runner, 'a', { maxNewTokens: 0 })).rejects.toThrow('maxNewTokens must be a positive integer');
    const controller = new AbortController();
    const run = generate(runner, 'a', { maxNewTokens: 10, signal: controller.signal, onToken: () => controller.abort(new Error('cancelled')) });
    await expect(run).rejects.toThrow('cancelled');
  });
});

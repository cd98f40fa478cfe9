// The bundled TinyStories model end to end: ONNX logits and greedy generation against the
// float64 reference (a golden test in the spirit of llama2.c's test_all.py).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../forward/runner.js';
import { ReferenceLlama, relativeError } from '../forward/testing/reference.js';
import { openModel } from '../model/open.js';
import type { Model } from '../model/types.js';
import { generate } from './generate.js';

describe('bundled tinystories-656k', () => {
  let model: Model;
  let runner: ModelRunner;
  let reference: ReferenceLlama;
  beforeAll(async () => {
    model = await openModel();
    runner = await ModelRunner.create(model);
    reference = new ReferenceLlama(model);
  });
  afterAll(async () => {
    await runner.release();
    model.close();
  });

  it('has the expected shape', () => {
    expect(runner.block).toMatchObject({ hidden: 128, heads: 8, kvHeads: 4, headDim: 16, intermediate: 384, eps: 1e-6 });
    expect(model.config.tie_word_embeddings).toBe(true);
  });

  it('ONNX logits match the float64 reference (max relative error < 1e-4)', async () => {
    const ids = model.tokenizer.encode('One day, Tom and his dog went to the park. They played with a red ball.');
    const logits = await runner.forwardLogits(Int32Array.from(ids), [1, ids.length]);
    expect(relativeError(logits, reference.logits(ids))).toBeLessThan(1e-4);
  });

  it('greedy generation from BOS + "Once upon a time" equals the reference for 40 tokens', async () => {
    const result = await generate(runner, 'Once upon a time', { maxNewTokens: 40, stopAtEos: false });
    expect(result.promptIds[0]).toBe(1); // BOS
    expect(result.tokenIds).toEqual(reference.greedy(result.promptIds, 40));
    // A coherent children's story (the text as of this model and tokenizer).
    expect(result.text).toMatch(/^, a little girl named Lily lived in a small house with her mom/);
  }, 300_000);
});

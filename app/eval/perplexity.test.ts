import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../forward/runner.js';
import { randomModel } from '../forward/testing/randomModel.js';
import { ReferenceLlama } from '../forward/testing/reference.js';
import type { Model } from '../model/types.js';
import { perplexity, rollingWindows } from './perplexity.js';

describe('rollingWindows', () => {
  it('scores each of the N − 1 targets exactly once, with windows of at most seqLen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 40 }), (N, seqLen, s) => {
        const stride = Math.min(s, seqLen);
        const scored = new Array<number>(N - 1).fill(0);
        for (const w of rollingWindows(N, seqLen, stride)) {
          expect(w.end - w.start).toBeLessThanOrEqual(seqLen);
          expect(w.scoreFrom).toBeGreaterThanOrEqual(w.start);
          for (let j = w.scoreFrom; j < w.end; j++) scored[j]++; // input j predicts target j + 1
        }
        expect(scored.every((n) => n === 1)).toBe(true);
      }),
    );
  });

  it('matches the documented layouts', () => {
    // Disjoint (stride = seqLen): each window predicts seqLen targets, one token of context for the first.
    expect(rollingWindows(10, 4, 4)).toEqual([
      { start: 0, end: 4, scoreFrom: 0 },
      { start: 4, end: 8, scoreFrom: 4 },
      { start: 8, end: 9, scoreFrom: 8 },
    ]);
    // Overlapping (stride 2): later windows score only their last 2 targets.
    expect(rollingWindows(8, 4, 2)).toEqual([
      { start: 0, end: 4, scoreFrom: 0 },
      { start: 2, end: 6, scoreFrom: 4 },
      { start: 4, end: 7, scoreFrom: 6 },
    ]);
  });
});

describe('perplexity', () => {
  let model: Model;
  let runner: ModelRunner;
  const text = 'the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.';
  beforeAll(async () => {
    model = randomModel({ heads: 4, kvHeads: 2, maxPositions: 32, seed: 7 });
    runner = await ModelRunner.create(model);
  });
  afterAll(() => runner.release());

  /** The same quantity from the float64 reference, window by window. */
  function referenceNll(seqLen: number, stride: number): number {
    const ids = model.tokenizer.encode(text);
    const reference = new ReferenceLlama(model);
    let sum = 0;
    for (const w of rollingWindows(ids.length, seqLen, stride)) {
      const logits = reference.logits(ids.slice(w.start, w.end));
      for (let j = w.scoreFrom; j < w.end; j++) {
        const row = logits[j - w.start];
        const max = Math.max(...row);
        const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
        sum += logSum - row[ids[j + 1]];
      }
    }
    return sum / (ids.length - 1);
  }

  for (const [seqLen, stride] of [
    [16, 16],
    [16, 5],
    [32, 32],
  ]) {
    it(`matches the float64 reference with seqLen ${seqLen}, stride ${stride}`, async () => {
      const result = await perplexity(runner, text, { seqLen, stride, batchSize: 2 });
      expect(result.tokens).toBe(model.tokenizer.encode(text).length - 1);
      expect(result.nll).toBeCloseTo(referenceNll(seqLen, stride), 5);
      expect(result.ppl).toBeCloseTo(Math.exp(result.nll), 8);
    });
  }

  it('gives the same result for any batch size, reports progress, honours maxTokens', async () => {
    const progress: [number, number][] = [];
    const a = await perplexity(runner, text, { seqLen: 8, batchSize: 1, onProgress: (d, t) => progress.push([d, t]) });
    const b = await perplexity(runner, text, { seqLen: 8, batchSize: 64 });
    expect(a.nll).toBeCloseTo(b.nll, 6);
    expect(progress.at(-1)).toEqual([a.tokens, a.tokens]);
    expect(progress.length).toBe(Math.ceil(a.tokens / 8));
    // Per-window records add up to the whole: Σ n_w = N − 1 and Σ n_w·m_w / N = nll.
    expect(a.windows.length).toBe(Math.ceil(a.tokens / 8));
    expect(a.windows.reduce((x, w) => x + w.tokens, 0)).toBe(a.tokens);
    expect(a.windows.reduce((x, w) => x + w.tokens * w.nll, 0) / a.tokens).toBeCloseTo(a.nll, 12);
    expect((await perplexity(runner, text, { seqLen: 8, maxTokens: 20 })).tokens).toBe(19);
  });

  it('stops between windows when aborted', async () => {
    const controller = new AbortController();
    const run = perplexity(runner, text, { seqLen: 4, batchSize: 1, signal: controller.signal, onProgress: () => controller.abort(new Error('stop')) });
    await expect(run).rejects.toThrow('stop');
  });

  it('rejects bad inputs with clear messages', async () => {
    await expect(perplexity(runner, '', { source: 'notes.txt' })).rejects.toThrow('notes.txt: the text is empty');
    await expect(perplexity(runner, ' \n\t', { source: 'notes.txt' })).rejects.toThrow('notes.txt: the text is empty');
    const oneToken = { ...runner, model: { ...model, tokenizer: { ...model.tokenizer, encode: () => [1] } } } as unknown as ModelRunner;
    await expect(perplexity(oneToken, 'x', { source: 'a.txt' })).rejects.toThrow('a.txt: the text has 1 token; perplexity needs at least 2');
    await expect(perplexity(runner, text, { seqLen: 64 })).rejects.toThrow("seqLen (64) exceeds the model's max_position_embeddings (32)");
    await expect(perplexity(runner, text, { seqLen: 1 })).rejects.toThrow('seqLen must be at least 2, got 1');
    await expect(perplexity(runner, text, { seqLen: 8, stride: 9 })).rejects.toThrow('stride (9) exceeds seqLen (8)');
    await expect(perplexity(runner, text, { stride: 1.5 })).rejects.toThrow('stride must be an integer, got 1.5');
  });
});

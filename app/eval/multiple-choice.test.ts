import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../forward/runner.js';
import { randomModel } from '../forward/testing/randomModel.js';
import { openModel } from '../model/open.js';
import type { Model } from '../model/types.js';
import { choiceBytes, encodePair, layoutRow, loglikelihoods, meanStderr, repeatRows, scoreTask, summarize, type EncodedPair } from './multiple-choice.js';
import { bundledTasks, loadTask, type ChoiceItem, type TaskSet } from './tasks/index.js';

const task = (items: ChoiceItem[], name = 't'): TaskSet => ({ name, file: `${name}.jsonl`, format: 'jsonl', items, skipped: [] });

/** The slow reference: each (context, continuation) alone through the runner, log-softmax summed in float64. */
async function referenceLoglik(runner: ModelRunner, pair: EncodedPair): Promise<number> {
  const { inputs, targets, scored } = layoutRow(pair, runner.config.max_position_embeddings);
  const T = inputs.length;
  const V = runner.config.vocab_size;
  const logits = await runner.forwardLogits(Int32Array.from(inputs), [1, T]); // [1, T, V]
  let sum = 0;
  for (let j = T - scored; j < T; j++) {
    const row = logits.subarray(j * V, (j + 1) * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += row[targets[j]] - max - Math.log(z);
  }
  return sum;
}

describe('encoding and layout (lm-eval conventions)', () => {
  const model = randomModel({ seed: 3 }); // one token per character, BOS = 1
  const id = (ch: string) => model.tokenizer.encode(ch, { addBos: false })[0];

  it('moves trailing context whitespace to the continuation and prepends BOS to the context', () => {
    expect(encodePair(model.tokenizer, 'ab ', 'c')).toEqual({ context: [1, id('a'), id('b')], continuation: [id(' '), id('c')] });
    expect(encodePair(model.tokenizer, 'ab', ' c')).toEqual(encodePair(model.tokenizer, 'ab ', 'c'));
    expect(encodePair(model.tokenizer, '', 'c')).toEqual({ context: [1], continuation: [id('c')] }); // BOS added by encode
    const noBos = { ...model.tokenizer, bosId: null, encode: (text: string) => model.tokenizer.encode(text, { addBos: false }) };
    expect(encodePair(noBos, '', 'c')).toEqual({ context: [2], continuation: [id('c')] }); // lm-eval's prefix token: EOS
    expect(encodePair(noBos, 'ab', 'c')).toEqual({ context: [id('a'), id('b')], continuation: [id('c')] });
  });

  it('keeps the last L + 1 tokens: the context is cut from the left, inputs drop the last token', () => {
    const row = layoutRow({ context: [1, 10, 11, 12, 13, 14], continuation: [20, 21] }, 5);
    expect(row).toEqual({ request: 0, inputs: [11, 12, 13, 14, 20], targets: [12, 13, 14, 20, 21], scored: 2, truncated: true });
    expect(layoutRow({ context: [1, 10], continuation: [20] }, 5)).toEqual({ request: 0, inputs: [1, 10], targets: [10, 20], scored: 1, truncated: false });
  });
});

describe('repeatRows', () => {
  it('repeats each cache row its count of times, per layer', () => {
    const cache = { batch: 2, length: 1, keys: [Float32Array.from([1, 2, 3, 4])], values: [Float32Array.from([5, 6, 7, 8])] };
    expect(repeatRows(cache, [1, 2])).toEqual({ batch: 3, length: 1, keys: [Float32Array.from([1, 2, 3, 4, 3, 4])], values: [Float32Array.from([5, 6, 7, 8, 7, 8])] });
  });
});

describe('acc, acc_norm and standard errors', () => {
  it('match a hand-computed example (bytes for acc_norm, first index on ties)', () => {
    const items: ChoiceItem[] = [
      { id: 'a', context: 'c', choices: [' a', ' bbb'], gold: 1 }, // acc: 0 (−1 > −2); norm: −1/1 < −2/3 → 1 ✓
      { id: 'b', context: 'c', choices: [' x', ' y', ' z'], gold: 2 }, // both pick 2 ✓
      { id: 'c', context: 'c', choices: [' é', ' e'], gold: 0 }, // acc: 1 ✗; norm: −2/2 bytes > −1.5/1 → 0 ✓ (chars would say 1)
      { id: 'd', context: 'c', choices: [' a', ' b'], gold: 0 }, // tie → index 0 ✓
    ];
    const result = summarize(items, [[-1, -2], [-3, -2, -1], [-2, -1.5], [-1, -1]]);
    expect(result.predictions.map((p) => [p.pred, p.pred_norm])).toEqual([[0, 1], [2, 2], [1, 0], [0, 0]]);
    expect(result.n).toBe(4);
    expect(result.acc).toBe(0.5);
    expect(result.acc_norm).toBe(1);
    // sample std of [0, 1, 0, 1] = sqrt(1 / 3); / sqrt(4)
    expect(result.stderr.acc).toBeCloseTo(Math.sqrt(1 / 3) / 2, 15);
    expect(result.stderr.acc_norm).toBe(0);
    expect(meanStderr([1])).toBeNaN();
    expect([' é', 'é', ' ', ' ab'].map(choiceBytes)).toEqual([2, 2, 1, 2]);
  });
});

describe('scoreTask on a model', () => {
  let model: Model;
  let runner: ModelRunner;
  const items: ChoiceItem[] = [
    { id: 'i0', context: 'the cat sat on the', choices: [' mat', ' hat', ' moon over the hills'], gold: 0 },
    { id: 'i1', context: 'Question: 2+2?\nAnswer:', choices: [' 4', ' five', ' 22'], gold: 1 },
    { id: 'i2', context: 'once upon a time ', choices: ['there', 'a dog barked loudly at night'], gold: 1 },
    { id: 'i3', context: 'x', choices: [' y', ' yy', ' yyy', ' yyyy'], gold: 3 },
    // 40 characters + BOS: longer than the 32 positions, so the context is cut from the left (as
    // are i0's and i2's long choices)
    { id: 'long', context: 'abcdefghij'.repeat(4), choices: [' klm', ' nop qrs'], gold: 0 },
  ];
  beforeAll(async () => {
    model = randomModel({ heads: 4, kvHeads: 2, maxPositions: 32, seed: 11 });
    runner = await ModelRunner.create(model);
  });
  afterAll(() => runner.release());

  it('equals the one-pair-at-a-time float64 reference, batched or not', async () => {
    const reference: number[][] = [];
    for (const item of items) {
      const row: number[] = [];
      for (const choice of item.choices) row.push(await referenceLoglik(runner, encodePair(model.tokenizer, item.context, choice)));
      reference.push(row);
    }
    const batched = await scoreTask(runner, task(items), { shareContext: true }); // shared contexts
    const full = await scoreTask(runner, task(items), { shareContext: false }); // padded full sequences
    const single = await scoreTask(runner, task(items), { shareContext: true, batchTokens: 1 }); // one context per forward
    const singleFull = await scoreTask(runner, task(items), { shareContext: false, batchTokens: 1 }); // one row per forward
    const err = (result: typeof batched) => Math.max(...result.predictions.flatMap((p, i) => p.loglik.map((v, j) => Math.abs(v - reference[i][j]) / Math.max(1, Math.abs(reference[i][j])))));
    expect(err(batched)).toBeLessThan(1e-5);
    expect(err(full)).toBeLessThan(1e-5);
    expect(err(single)).toBeLessThan(1e-5);
    expect(err(singleFull)).toBeLessThan(1e-5);
    expect(full.truncated).toBe(3);
    expect(batched.predictions.map((p) => p.pred)).toEqual(single.predictions.map((p) => p.pred));
    expect(batched.truncated).toBe(3); // i0's and i2's longest choices, and 'long'
    expect(batched.n).toBe(5);
    const expected = summarize(items, reference);
    expect(batched.predictions.map((p) => [p.pred, p.pred_norm])).toEqual(expected.predictions.map((p) => [p.pred, p.pred_norm]));
    expect([batched.acc, batched.acc_norm]).toEqual([expected.acc, expected.acc_norm]);
  });

  it('shares contexts of equal length in one batch and equals unshared scoring on many items', async () => {
    // 60 items, distinct contexts of 1..12 characters (+ BOS; five per length), 2–4 choices.
    const many: ChoiceItem[] = Array.from({ length: 60 }, (_, i) => ({
      id: `m${i}`,
      context: 'abcdefghijklmnopq'.slice(Math.floor(i / 12), Math.floor(i / 12) + 1 + (i % 12)),
      choices: [' x', ' yz', ' uvw', ' stuv'].slice(0, 2 + (i % 3)).map((c) => c + 'pq'.repeat(i % 4)),
      gold: 0,
    }));
    const pairs = many.flatMap((item) => item.choices.map((c) => encodePair(model.tokenizer, item.context, c)));
    let forwards = 0;
    const shared = await loglikelihoods(runner, pairs, { shareContext: true, onBatch: () => forwards++ });
    expect(forwards).toBe(12); // one per distinct context length
    const full = await loglikelihoods(runner, pairs, { shareContext: false });
    const err = Math.max(...shared.loglik.map((v, i) => Math.abs(v - full.loglik[i]) / Math.max(1, Math.abs(full.loglik[i]))));
    expect(err).toBeLessThan(1e-5);
    const reference = await referenceLoglik(runner, pairs[pairs.length - 1]);
    expect(Math.abs(shared.loglik[pairs.length - 1] - reference)).toBeLessThan(1e-5 * Math.max(1, Math.abs(reference)));
  });

  it("'auto' shares contexts only when that saves a quarter of the tokens fed", async () => {
    const pairsOf = (context: string, choices: string[]) => choices.map((c) => encodePair(model.tokenizer, context, c));
    let forwards = 0;
    const onBatch = () => forwards++;
    await loglikelihoods(runner, pairsOf('a long shared context', [' p', ' q', ' r']), { onBatch }); // 22 + 3 vs 3 · 24
    expect(forwards).toBe(1);
    forwards = 0;
    await loglikelihoods(runner, pairsOf('ab', [' a long choice', ' another long one']), { onBatch }); // (3 − 1) + 14 + 17 vs 16 + 19 tokens: full, 2 rows in one batch
    expect(forwards).toBe(1);
    forwards = 0;
    await loglikelihoods(runner, [...pairsOf('a long shared context', [' p', ' q', ' r', ' s']), ...pairsOf('another long context', [' r', ' s', ' t', ' u'])], { onBatch });
    expect(forwards).toBe(2); // shared: two context lengths (21 and 20 characters + BOS)
  });

  it('scores every pair exactly once, reports progress up to n, and stops when aborted', async () => {
    const pairs = items.flatMap((item) => item.choices.map((c) => encodePair(model.tokenizer, item.context, c)));
    for (const shareContext of [true, false]) {
      const seen: number[] = [];
      await loglikelihoods(runner, pairs, { batchTokens: 64, shareContext, onBatch: (requests) => seen.push(...requests) });
      expect([...seen].sort((a, b) => a - b)).toEqual(pairs.map((_, i) => i));
    }

    const progress: number[] = [];
    await scoreTask(runner, task(items), { batchTokens: 64, onProgress: (done, total) => progress.push(done / total) });
    expect(progress.at(-1)).toBe(1);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const controller = new AbortController();
    const aborted = scoreTask(runner, task(items), { batchTokens: 16, signal: controller.signal, onProgress: () => controller.abort(new Error('stop here')) });
    await expect(aborted).rejects.toThrow('stop here');
  });

  it('names the item when a choice adds no tokens', async () => {
    await expect(scoreTask(runner, task([{ id: 'e', context: 'abc', choices: [' x', ''], gold: 0 }]))).rejects.toThrow('t.jsonl: item e: the choice "" encodes to no tokens');
  });
});

describe('the bundled model on the bundled tasks', () => {
  let model: Model;
  let runner: ModelRunner;
  beforeAll(async () => {
    model = await openModel();
    runner = await ModelRunner.create(model);
  });
  afterAll(async () => {
    await runner.release();
    model.close();
  });

  it('does the TinyStories cloze task clearly above chance (0.25)', { timeout: 300_000 }, async () => {
    const cloze = loadTask(bundledTasks()[0]);
    const result = await scoreTask(runner, cloze);
    console.log(`cloze: n ${result.n}, acc ${result.acc.toFixed(4)} ± ${result.stderr.acc.toFixed(4)}, acc_norm ${result.acc_norm.toFixed(4)} ± ${result.stderr.acc_norm.toFixed(4)}, ${(result.n / result.seconds).toFixed(1)} items/s`);
    expect(result.n).toBe(400);
    expect(result.truncated).toBe(0);
    expect(result.acc).toBeGreaterThan(0.25 + 4 * result.stderr.acc);
    expect(result.acc_norm).toBeGreaterThan(0.25 + 4 * result.stderr.acc_norm);
  });

  it('is near chance on ARC-Easy (first 200 items)', { timeout: 300_000 }, async () => {
    const arc = loadTask({ ...bundledTasks()[1], limit: 200 });
    const result = await scoreTask(runner, arc);
    console.log(`arc_easy: n ${result.n}, acc ${result.acc.toFixed(4)} ± ${result.stderr.acc.toFixed(4)}, acc_norm ${result.acc_norm.toFixed(4)} ± ${result.stderr.acc_norm.toFixed(4)}, ${(result.n / result.seconds).toFixed(1)} items/s`);
    expect(result.n).toBe(200);
    expect(Math.abs(result.acc - 0.25)).toBeLessThan(4 * result.stderr.acc);
  });
});

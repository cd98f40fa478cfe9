// runner.nllAt: the NLL head on gathered rows (what multiple choice and perplexity score),
// against the float64 reference and against forwardNll on every row, with the head resident
// (one chunk) and streamed in row-chunks (running log-sum-exp from lse = logit − logp).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SessionCache } from '../onnx/sessionCache.js';
import { weightAccount } from './memory.js';
import { ModelRunner } from './runner.js';
import { randomModel } from './testing/randomModel.js';
import { ReferenceLlama } from './testing/reference.js';

const sessions = new SessionCache('cpu');
afterAll(() => sessions.release());
const defaults = { cacheBytes: weightAccount.cacheBytes, headChunkBytes: weightAccount.headChunkBytes };
afterEach(() => Object.assign(weightAccount, defaults));

describe('ModelRunner.nllAt', () => {
  const model = randomModel({ layers: 2, vocab: 61, seed: 11 });
  const [B, T] = [3, 10];
  const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 17 + 5) % 61);
  const targets = Int32Array.from(tokens, (_, i) => (i * 29 + 2) % 61);
  // Unordered, with a repeat: rows are independent, any subset in any order.
  const rows = Int32Array.from([29, 0, 7, 13, 13, 22, 9, 10]);

  /** −log p(targets[r]) from the float64 reference, per batch row run alone. */
  function referenceNll(r: number): number {
    const b = Math.floor(r / T);
    const logits = new ReferenceLlama(model).logits([...tokens.subarray(b * T, (b + 1) * T)])[r % T];
    const max = Math.max(...logits);
    const logSum = max + Math.log(logits.reduce((s, v) => s + Math.exp(v - max), 0));
    return logSum - logits[targets[r]];
  }

  for (const streamed of [false, true]) {
    it(`equals forwardNll at the chosen rows and the float64 reference (${streamed ? 'head in 7-row chunks' : 'one chunk'})`, async () => {
      if (streamed) {
        weightAccount.cacheBytes = 0;
        weightAccount.headChunkBytes = 7 * 4 * model.config.hidden_size; // 61 = 8 chunks of 7 + 5
      }
      const runner = await ModelRunner.create(model, { sessions });
      try {
        const hidden = await runner.forwardHidden(tokens, [B, T]);
        const picked = await runner.nllAt(hidden, [B, T], rows, rows.map((r) => targets[r]));
        const all = await runner.forwardNll(tokens, targets, [B, T]);
        expect(picked).toHaveLength(rows.length);
        for (const [i, r] of rows.entries()) {
          // Same head, same row: the same float32 number whatever else is in the batch.
          expect(picked[i]).toBe(all[r]);
          expect(Math.abs(picked[i] - referenceNll(r))).toBeLessThan(1e-5 * Math.max(1, referenceNll(r)));
        }
        expect(await runner.nllAt(hidden, [B, T], new Int32Array(0), new Int32Array(0))).toHaveLength(0);
      } finally {
        await runner.release();
      }
    });
  }

  it('rejects rows outside the batch, mismatched targets and a wrong hidden size', async () => {
    const runner = await ModelRunner.create(model, { sessions });
    try {
      const hidden = await runner.forwardHidden(tokens, [B, T]);
      await expect(runner.nllAt(hidden, [B, T], Int32Array.from([30]), Int32Array.from([1]))).rejects.toThrow('nllAt: row 30 is outside the 3·10 positions');
      await expect(runner.nllAt(hidden, [B, T], Int32Array.from([1, 2]), Int32Array.from([1]))).rejects.toThrow('nllAt: 2 rows but 1 targets');
      await expect(runner.nllAt(hidden.subarray(1), [B, T], Int32Array.from([1]), Int32Array.from([1]))).rejects.toThrow(`nllAt: hidden has ${hidden.length - 1} values`);
      await expect(runner.nllAt(hidden, [B, T], Int32Array.from([1]), Int32Array.from([61]))).rejects.toThrow('outside the vocabulary');
    } finally {
      await runner.release();
    }
  });
});

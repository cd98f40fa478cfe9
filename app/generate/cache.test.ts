// Generation on a streamed model keeps decoded weights across tokens within its cache budget
// instead of reading every block from the file once per token (README "Memory model").
import { afterEach, describe, expect, it } from 'vitest';
import { weightAccount } from '../forward/memory.js';
import { ModelRunner } from '../forward/runner.js';
import { randomModel } from '../forward/testing/randomModel.js';
import { generate } from './generate.js';

const defaults = { cacheBytes: weightAccount.cacheBytes };
afterEach(() => Object.assign(weightAccount, defaults));

/** A 4-layer random model that streams (cacheBytes 0) and counts the reads of each tensor. */
function countingModel() {
  const model = randomModel({ layers: 4, heads: 4, kvHeads: 2, maxPositions: 64, vocab: 61, seed: 21 });
  const reads = new Map<string, number>();
  const count = (name: string) => reads.set(name, (reads.get(name) ?? 0) + 1);
  const readTensor = model.readTensor.bind(model);
  const readRows = model.readRows!.bind(model);
  Object.assign(model, {
    readTensor: (name: string) => (count(name), readTensor(name)),
    readRows: (name: string, start: number, n: number) => (count(name), readRows(name, start, n)),
  });
  const readsOf = (layer: number) => reads.get(`model.layers.${layer}.mlp.down_proj.weight`) ?? 0;
  return { model, reads, readsOf };
}

/** Float32 bytes of one block of the counting model (read back from the runner). */
function blockBytes(runner: ModelRunner): number {
  const b = runner.block;
  const q = b.heads * b.headDim;
  const kv = b.kvHeads * b.headDim;
  return 4 * (2 * b.hidden + 2 * q * b.hidden + 2 * kv * b.hidden + 3 * b.intermediate * b.hidden);
}

describe('generate on a streamed model', () => {
  const steps = 6;
  const run = async (cacheBytes: number | ((runner: ModelRunner) => number)) => {
    weightAccount.cacheBytes = 0; // stream, as a model larger than 64 MB would
    const { model, readsOf } = countingModel();
    const runner = await ModelRunner.create(model);
    const budget = typeof cacheBytes === 'number' ? cacheBytes : cacheBytes(runner);
    const result = await generate(runner, [1, 5, 9], { maxNewTokens: steps, stopAtEos: false, cacheBytes: budget });
    const reads = [0, 1, 2, 3].map(readsOf);
    const residentAfter = weightAccount.resident;
    await runner.release();
    return { ids: result.tokenIds, reads, residentAfter };
  };

  it('with no budget re-reads every block per token; with room for the model reads each once; same tokens', async () => {
    const streamed = await run(0);
    expect(streamed.reads).toEqual([steps, steps, steps, steps]);
    const cached = await run(1 << 30);
    expect(cached.reads).toEqual([1, 1, 1, 1]);
    expect(cached.ids).toEqual(streamed.ids);
    expect(cached.residentAfter).toBeLessThan(streamed.residentAfter + 1); // back to streaming: nothing kept after
  });

  it('a budget of two blocks pins the first two and streams the rest', async () => {
    const partial = await run((runner) => 2 * blockBytes(runner) + 16);
    expect(partial.reads).toEqual([1, 1, steps, steps]);
  });
});

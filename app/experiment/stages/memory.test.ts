// The memory model, checked by the engine's own account (forward/memory.ts): on a checkpoint
// of 12 small layers, ppl, compress (with its evaluation) and compensate (with its variants'
// evaluation) never hold more than two decoder blocks of float32 weights, plus the embedding
// rows of the tokens being embedded, one lm_head chunk and the final norm. Resident caching is
// switched off (cacheBytes 0), so the streaming path real checkpoints take is what runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perplexity } from '../../eval/perplexity.js';
import { weightAccount } from '../../forward/memory.js';
import { ModelRunner } from '../../forward/runner.js';
import { openModel, resourcesPath } from '../../model/open.js';
import { writeRandomCheckpoint, type RandomShape } from '../../model/random-checkpoint.js';
import { runCompensate } from '../commands.js';
import { runCompress } from '../commands.js';
import { checkActivationMemory } from './compress.js';

const shape: RandomShape = { architecture: 'LlamaForCausalLM', hidden: 64, intermediate: 160, layers: 12, heads: 4, kvHeads: 2, vocab: 2048, tied: false, bias: false, ropeTheta: 10000, maxPositions: 128 };
const d = shape.hidden;
const kv = (shape.kvHeads * d) / shape.heads;
const blockBytes = 4 * (2 * d + 2 * d * d + 2 * kv * d + 3 * shape.intermediate * d);
const headRows = 256;
const dir = mkdtempSync(join(tmpdir(), 'eora-memory-'));
const modelDir = join(dir, 'model');
const defaults = { cacheBytes: weightAccount.cacheBytes, headChunkBytes: weightAccount.headChunkBytes };
const text = resourcesPath('data', 'tinystories', 'validation.txt');

/** Two blocks, `tokens` embedding rows, one head chunk, the final norm. */
const bound = (tokens: number) => 2 * blockBytes + 4 * d * (Math.min(tokens, shape.vocab) + headRows + 1);

beforeAll(() => {
  writeRandomCheckpoint(modelDir, shape, { dtype: 'F32', shardBytes: 2_000_000, seed: 3 }); // sharded, with an index
  weightAccount.cacheBytes = 0;
  weightAccount.headChunkBytes = 4 * d * headRows; // 2048 rows = 8 chunks
});
afterAll(() => {
  Object.assign(weightAccount, defaults);
  rmSync(dir, { recursive: true, force: true });
});

describe('memory model: resident weight bytes stay below two blocks', () => {
  it('ppl', async () => {
    const model = await openModel(modelDir);
    const runner = await ModelRunner.create(model);
    weightAccount.resetPeak();
    const r = await perplexity(runner, readFileSync(text, 'utf8').slice(0, 4000), { seqLen: 64, maxTokens: 300 });
    expect(r.tokens).toBe(299);
    expect(Number.isFinite(r.nll)).toBe(true);
    // The whole model is 12 blocks + embedding + head; streaming holds a fraction of it.
    console.log(`ppl: peak ${weightAccount.peak} B resident, bound ${bound(300)} B, one block ${blockBytes} B`);
    expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeLessThan(bound(300));
    expect(weightAccount.peak).toBeGreaterThanOrEqual(blockBytes);
    await runner.release();
    model.close();
    expect(weightAccount.resident).toBe(0);
  });

  it('compress (GPTQ, sequential, with its evaluation) and compensate (EoRA, with every variant scored)', async () => {
    const model = await openModel(modelDir);
    const out = join(dir, 'run');
    weightAccount.resetPeak();
    try {
      const summary = await runCompress(model, { quant: 'gptq:w4g32', prune: 'none', calibFile: resourcesPath('data', 'tinystories', 'calibration.txt'), samples: 4, seqLen: 32, seed: 0, activations: 'sequential', evalTokens: 200, evalFile: text, evalSeqLen: 64, device: 'cpu', out });
      expect(summary.linears).toHaveLength(7 * shape.layers);
      expect(summary.ppl!.compressed).not.toBe(summary.ppl!.original);
    } finally {
      model.close();
    }
    expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeLessThan(bound(4 * 32));
    weightAccount.resetPeak();
    const compensated = await runCompensate(out, { methods: ['svd', 'eora'], ranks: [4], budget: 4 * 7 * shape.layers * (d + d), device: 'cpu' });
    expect(compensated.methods[1].ranks[0].ppl).not.toBeNull();
    expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeLessThan(bound(200));
    expect(weightAccount.resident).toBe(0);
  });

  it('refuses calibration activations beyond half the memory, naming the sizes', () => {
    expect(() => checkActivationMemory(128, 2048, 4096, 12 * 1024 ** 3)).toThrow("calibration activations need 8.0 GiB (2 × 128 samples × 2048 tokens × d 4096 × 4 bytes), more than half of this machine's 12.0 GiB");
    expect(() => checkActivationMemory(8, 256, 4096, 16 * 1024 ** 3)).not.toThrow();
  });
});

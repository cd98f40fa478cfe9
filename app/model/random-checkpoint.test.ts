import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from './open.js';
import { checkpointBytes, plannedTensors, writeRandomCheckpoint, type RandomShape } from './random-checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-random-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const qwenLike: RandomShape = { architecture: 'Qwen2ForCausalLM', hidden: 32, intermediate: 80, layers: 3, heads: 4, kvHeads: 2, vocab: 2100, tied: true, bias: true, ropeTheta: 1e6, maxPositions: 256 };

describe('random checkpoints of real shapes', () => {
  it('writes a sharded bf16 Hugging Face folder the reader opens, with q/k/v biases and row reads equal to whole reads', async () => {
    const out = join(dir, 'qwen');
    const files = writeRandomCheckpoint(out, qwenLike, { shardBytes: 100_000 });
    expect(files.length).toBeGreaterThan(1);
    const index = JSON.parse(readFileSync(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(index.metadata.total_size).toBe(checkpointBytes(qwenLike));
    expect(Object.keys(index.weight_map).sort()).toEqual(plannedTensors(qwenLike).map((t) => t.name).sort());
    const model = await openModel(out);
    try {
      expect(model.config).toMatchObject({ architecture: 'Qwen2ForCausalLM', hidden_size: 32, num_layers: 3, num_kv_heads: 2, vocab_size: 2100, tie_word_embeddings: true, attention_bias: true, torch_dtype: 'BF16' });
      const embed = model.readTensor('model.embed_tokens.weight'); // [2100, 32]
      expect(model.readRows!('model.embed_tokens.weight', 1000, 3)).toEqual(embed.slice(1000 * 32, 1003 * 32));
      expect(model.readRows!('lm_head.weight', 2099, 1)).toEqual(embed.slice(2099 * 32)); // tied: the same rows
      const q = model.readTensor('model.layers.2.self_attn.q_proj.weight');
      const bound = Math.sqrt(3 / 32);
      expect(Math.max(...q.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...q.map(Math.abs))).toBeGreaterThan(0.8 * bound); // uniform ±√(3/in), not zeros
      expect(() => model.readRows!('model.embed_tokens.weight', 2099, 2)).toThrow(/rows \[2099, 2101\) are outside its 2100 rows/);
    } finally {
      model.close();
    }
    expect(() => writeRandomCheckpoint(out, qwenLike)).toThrow(/already holds a checkpoint/);
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(true);
  });
});

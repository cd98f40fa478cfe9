// Merged and compressed checkpoints of a real GPTQ w4g32 + EoRA run: they reload through the
// workbench's own reader (single file and sharded) with the run's perplexities; --force and
// atomic writes (a failing export leaves nothing behind, an existing one intact).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompensate, runCompress } from '../experiment/commands.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../forward/runner.js';
import { openModel } from '../model/open.js';
import { scoreVariant, heldOutPrefix, readText } from '../experiment/evaluate.js';
import { exportVariant } from './index.js';
import { makeRun, recordedPpl } from './testing/fixture.js';

let run: string;
const out = mkdtempSync(join(tmpdir(), 'eora-merged-'));

beforeAll(async () => {
  run = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32', { ranks: [8] });
}, 240_000);

async function pplOf(dir: string): Promise<number> {
  const { config } = recordedPpl(run, 'compressed');
  const model = await openModel(dir);
  const runner = await ModelRunner.create(model);
  try {
    const text = heldOutPrefix(readText(config.file), model.tokenizer, config.tokens);
    return (await scoreVariant(runner, text, config)).ppl;
  } finally {
    await runner.release();
    model.close();
  }
}

describe('merged and compressed checkpoints', () => {
  it('merged f32 reloads with the run’s perplexity of the variant; tied embeddings stay tied', async () => {
    const dir = join(out, 'merged');
    const summary = await exportVariant(run, 'eora-r8', 'merged', dir);
    const expected = recordedPpl(run, 'eora-r8').ppl;
    const ppl = await pplOf(dir);
    expect(Math.abs(ppl - expected) / expected).toBeLessThan(1e-5);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config.tie_word_embeddings).toBe(true);
    expect(config.torch_dtype).toBe('float32');
    const header = readFileSync(join(dir, 'model.safetensors'));
    const json = JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8'));
    expect(json['lm_head.weight']).toBeUndefined();
    expect(json['model.embed_tokens.weight'].dtype).toBe('F32');
    for (const f of ['tokenizer.json', 'generation_config.json', 'README.md', 'export.json']) expect(existsSync(join(dir, f))).toBe(true);
    expect(summary.bytes).toBeGreaterThan(2_500_000);
  });

  it('sharded above the size limit, with an index; f16 weights; same perplexity to f16 precision', async () => {
    const dir = join(out, 'sharded');
    await exportVariant(run, 'eora-r8', 'merged', dir, { dtype: 'f16', shardBytes: 300_000 });
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shards = readdirSync(dir).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(2);
    expect(new Set(Object.values(index.weight_map))).toEqual(new Set(shards));
    expect(index.metadata.total_size).toBeGreaterThan(1_000_000);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    const expected = recordedPpl(run, 'eora-r8').ppl;
    expect(Math.abs((await pplOf(dir)) - expected) / expected).toBeLessThan(2e-3);
  });

  it('compressed (dequantized) reloads with the run’s compressed perplexity', async () => {
    const dir = join(out, 'compressed');
    await exportVariant(run, 'compressed', 'compressed', dir);
    const expected = recordedPpl(run, 'compressed').ppl;
    expect(Math.abs((await pplOf(dir)) - expected) / expected).toBeLessThan(1e-6);
    expect(existsSync(join(dir, 'gptq', 'quantize_config.json'))).toBe(true);
  });

  it('a non-empty folder that is not an export is never replaced, not even with force; an earlier export needs force', async () => {
    const dir = join(out, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    for (const force of [false, true]) {
      await expect(exportVariant(run, 'eora-r8', 'peft', dir, { force })).rejects.toThrow(/is not empty and is not an earlier export \(no export.json\)/);
    }
    expect(readdirSync(dir)).toEqual(['keep.txt']);
    // The run folder itself (the mistake that would lose the most): untouched.
    const runFiles = readdirSync(run).sort();
    await expect(exportVariant(run, 'eora-r8', 'peft', run, { force: true })).rejects.toThrow(/not an earlier export/);
    expect(readdirSync(run).sort()).toEqual(runFiles);

    const exported = join(out, 'exported');
    await exportVariant(run, 'eora-r8', 'merged', exported);
    await expect(exportVariant(run, 'eora-r8', 'peft', exported)).rejects.toThrow(/holds an earlier export; use --force to replace it/);
    await exportVariant(run, 'eora-r8', 'peft', exported, { force: true });
    expect(readdirSync(exported).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'base', 'export.json']);
  });

  it('a write failing halfway leaves no half-written export, and the old one intact', async () => {
    const dir = join(out, 'atomic');
    await exportVariant(run, 'eora-r8', 'peft', dir);
    const before = readFileSync(join(dir, 'adapter_model.safetensors'));
    let calls = 0;
    const failing = exportVariant(run, 'eora-r8', 'merged', dir, {
      force: true,
      onProgress: () => {
        if (++calls === 5) throw new Error('ENOSPC: no space left on device (simulated)');
      },
    });
    await expect(failing).rejects.toThrow(/ENOSPC/);
    expect(calls).toBe(5);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'base', 'export.json']);
    expect(readFileSync(join(dir, 'adapter_model.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(out).filter((f) => f.includes('.partial-') || f.includes('.old-'))).toEqual([]);
    const fresh = join(out, 'never');
    const controller = new AbortController();
    const cancelled = exportVariant(run, 'eora-r8', 'merged', fresh, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(cancelled).rejects.toThrow();
    expect(existsSync(fresh)).toBe(false);
  });

  it('unknown variants name the available ones', async () => {
    await expect(exportVariant(run, 'eora-r99', 'merged', join(out, 'x'))).rejects.toThrow(/no variant "eora-r99" \(available: compressed, eora-r8\)/);
  });
});

// The compression driver on the bundled TinyStories-656K model, small settings (16 windows of
// 64 calibration tokens, 4000 held-out tokens) so the file runs in well under a minute.
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressError } from '../../compress/index.js';
import { openModel, resourcesPath } from '../../model/open.js';
import type { Model } from '../../model/types.js';
import { RunFolder } from '../../run/run.js';
import { TensorFile } from '../../run/safetensors-writer.js';
import { runCompress, type CompressOptions, type CompressSummary } from '../commands.js';
import { resolveMethod } from './compress.js';
import { runDiskNeed } from './disk.js';
import { linears } from '../../model/inspect.js';
import { heldOutPrefix, readText } from '../evaluate.js';
import { smallCompressOptions } from '../../model/testing/small-compress.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-compress-'));
let model: Model;
beforeAll(async () => {
  model = await openModel();
});
afterAll(() => model.close());

const base = (out: string): CompressOptions => smallCompressOptions(join(dir, out), 'none', 4000);

describe('compress pipeline', () => {
  it('--quant and --prune resolve to one method, joint only through SparseGPT', () => {
    expect(resolveMethod('gptq:w3g32', 'none')).toMatchObject({ method: 'gptq', quant: { bits: 3, groupSize: 32 } });
    expect(resolveMethod('none', 'sparsegpt:2:4')).toMatchObject({ method: 'sparsegpt', sparsity: { kind: 'nm', n: 2, m: 4 } });
    expect(resolveMethod('gptq:w4g128', 'sparsegpt:2:4')).toMatchObject({ method: 'sparsegpt', sparsity: { kind: 'nm', n: 2, m: 4 }, quant: { bits: 4, groupSize: 128 } });
    expect(() => resolveMethod('rtn:w4', 'magnitude:0.5')).toThrow(CompressError);
    expect(() => resolveMethod('rtn:w4', 'sparsegpt:0.5')).toThrow(/use --quant gptq/);
    expect(() => resolveMethod('wanda:0.5', 'none')).toThrow(/--quant takes/);
  });

  it('held-out prefix tokenizes like the whole text over the scored tokens', () => {
    const text = readText(resourcesPath('data', 'tinystories', 'validation.txt'));
    const prefix = heldOutPrefix(text, model.tokenizer, 4000);
    expect(prefix.length).toBeLessThan(text.length);
    // Against a 3× longer cut (tokenizing the whole 390 KB file twice would double this test's time).
    expect(model.tokenizer.encode(prefix).slice(0, 4000)).toEqual(model.tokenizer.encode(text.slice(0, 3 * prefix.length)).slice(0, 4000));
  });

  it('perplexity: GPTQ w3g32 < RTN w3g32, SparseGPT 50% < magnitude 50%; the run folder is complete', async () => {
    const runs: Record<string, CompressSummary> = {};
    for (const [name, quant, prune] of [
      ['gptq', 'gptq:w3g32', 'none'],
      ['rtn', 'rtn:w3g32', 'none'],
      ['sparsegpt', 'none', 'sparsegpt:0.5'],
      ['magnitude', 'none', 'magnitude:0.5'],
    ] as const) {
      runs[name] = await runCompress(model, { ...base(name), quant, prune });
    }
    const ppl = Object.fromEntries(Object.entries(runs).map(([k, s]) => [k, s.ppl!.compressed]));
    const err = Object.fromEntries(Object.entries(runs).map(([k, s]) => [k, s.mean_rel_output_error]));
    console.log(`held-out ppl (4000 tokens, 16×64 calibration): original ${runs.gptq.ppl!.original.toFixed(3)}`, ppl, 'mean rel output error', err);
    expect(ppl.gptq).toBeLessThan(ppl.rtn);
    expect(ppl.sparsegpt).toBeLessThan(ppl.magnitude);
    expect(err.gptq!).toBeLessThan(err.rtn!);
    expect(err.sparsegpt!).toBeLessThan(err.magnitude!);
    for (const s of Object.values(runs)) expect(s.ppl!.compressed).toBeGreaterThan(s.ppl!.original);

    const run = RunFolder.open(runs.gptq.run);
    expect(run.manifest.config).toMatchObject({ method: 'gptq:w3g32', activations: 'sequential', sequential_groups: [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']] });
    expect((run.manifest.records.calibration as { windows: number[] }).windows).toHaveLength(16);
    expect(run.manifest.model.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(run.manifest.stages.compress).toMatchObject({ status: 'done', layers_done: 2 });
    expect(run.manifest.stages.compress!.layer_seconds).toHaveLength(2);
    expect(existsSync(run.path('partial'))).toBe(false);
    // The disk check's estimate of the assembled files is their size, but for the headers (and
    // g_idx, which it counts and a run without act-order does not write).
    for (const [name, quant] of [['gptq', { groupSize: 32 }], ['sparsegpt', null]] as const) {
      const files = ['compressed.safetensors', 'calibration.safetensors', 'quantized.safetensors'].map((f) => join(runs[name].run, f)).filter(existsSync);
      const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
      const { assembled } = runDiskNeed(linears(model), 0, quant, 0);
      expect(Math.abs(bytes - assembled)).toBeLessThan(64 * 1024 * files.length);
      expect(Math.abs(bytes - assembled)).toBeLessThan(0.01 * bytes);
    }
    const layers = JSON.parse(readFileSync(run.path('layers.json'), 'utf8')) as { name: string; bits_per_weight: number; sparsity: number }[];
    expect(layers).toHaveLength(14);
    expect(layers[0]).toMatchObject({ name: 'model.layers.0.self_attn.q_proj', bits_per_weight: 4 }); // 3 + 2·16/32
    const calibration = TensorFile.open(run.path('calibration.safetensors'));
    expect(calibration.shape('model.layers.1.down_in')).toEqual([384, 384]);
    expect(calibration.metadata['model.layers.1.down_in.tokens']).toBe(String(16 * 64));
    calibration.close();
    const sparse = JSON.parse(readFileSync(join(runs.sparsegpt.run, 'layers.json'), 'utf8')) as { sparsity: number }[];
    for (const l of sparse) expect(l.sparsity).toBeCloseTo(0.5, 2);
  });

  it('a run stopped after layer 0 resumes to the same bytes as an uninterrupted run', async () => {
    const options = { ...base('resume'), quant: 'gptq:w3g32', evalTokens: 0 };
    const controller = new AbortController();
    await expect(runCompress(model, { ...options, signal: controller.signal, onLayerDone: (layer) => layer === 0 && controller.abort(new Error('test stop')) })).rejects.toThrow('test stop');
    const stopped = RunFolder.open(options.out).manifest.stages.compress!;
    expect(stopped).toMatchObject({ status: 'stopped', layers_done: 1 });
    const resumed = await runCompress(model, options);
    expect(resumed.resumed_from_layer).toBe(1);
    const straight = await runCompress(model, { ...options, out: join(dir, 'straight') });
    expect(straight.resumed_from_layer).toBeNull();
    for (const file of ['compressed.safetensors', 'calibration.safetensors', 'layers.json']) {
      expect(readFileSync(join(options.out, file)).equals(readFileSync(join(straight.run, file))), file).toBe(true);
    }
    // Killed after assembly removed partial/ but before run.json said done: resuming keeps the
    // assembled files instead of failing on the missing checkpoint.
    const killed = RunFolder.open(straight.run);
    expect(killed.stage('compress').layers_done).toBe(model.config.num_layers);
    killed.stage('compress').status = 'stopped';
    killed.save();
    const assembled = ['compressed.safetensors', 'layers.json'].map((file) => readFileSync(join(straight.run, file)));
    await runCompress(model, { ...options, out: straight.run });
    expect(RunFolder.open(straight.run).stage('compress').status).toBe('done');
    ['compressed.safetensors', 'layers.json'].forEach((file, i) => expect(readFileSync(join(straight.run, file)).equals(assembled[i]), file).toBe(true));
    // A different config in the same folder is refused, not overwritten.
    await expect(runCompress(model, { ...options, quant: 'rtn:w3g32' })).rejects.toThrow(/different configuration/);
  });
});

// The packed GPTQ export of real runs (with and without act-order) read back by the GPTQ
// reader: the run's exact codes and, with float32 scales, W_c bit for bit; then the importer
// turns that checkpoint into a run that `eora compensate` works on.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompensate, runCompress } from '../experiment/commands.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { openModel, bundledModelPath, resourcesPath } from '../model/open.js';
import { linears } from '../model/inspect.js';
import type { GptqModel } from '../model/gptq.js';
import { RunFolder } from '../run/run.js';
import { TensorFile } from '../run/safetensors-writer.js';
import { importGptq } from '../experiment/stages/import-gptq.js';
import { exportVariant } from './index.js';
import { readQuantStates } from '../run/files/quantized.js';
import { makeRun } from './testing/fixture.js';

const out = mkdtempSync(join(tmpdir(), 'eora-gptq-'));
let plain: string;
let act: string;

beforeAll(async () => {
  plain = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32', { ranks: [8] });
  act = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32,act', { ranks: [8] });
}, 300_000);

async function checkRoundTrip(run: string, dtype: 'f32' | 'f16'): Promise<void> {
  const dir = join(out, `${run.split('/').at(-2)}-${dtype}`);
  await exportVariant(run, 'compressed', 'compressed', dir, { dtype });
  const qc = JSON.parse(readFileSync(join(dir, 'gptq', 'quantize_config.json'), 'utf8'));
  const states = readQuantStates(run)!;
  expect(qc).toMatchObject({ bits: 4, group_size: 32, sym: false, quant_method: 'gptq', desc_act: [...states.values()].some((s) => s.gIdx !== undefined) });
  expect(JSON.parse(readFileSync(join(dir, 'gptq', 'config.json'), 'utf8')).quantization_config).toEqual(qc);
  const model = (await openModel(join(dir, 'gptq'))) as GptqModel;
  const compressed = TensorFile.open(join(run, 'compressed.safetensors'));
  try {
    expect(model.gptq.checkpoint_format).toBe(qc.checkpoint_format);
    for (const l of linears(model)) {
      const q = model.quantized(l.name);
      const s = states.get(l.name)!;
      expect(Array.from(q.codes)).toEqual(Array.from(s.codes));
      expect(Array.from(q.zeros)).toEqual(Array.from(s.zeros));
      expect(q.gIdx ? Array.from(q.gIdx) : null).toEqual(s.gIdx ? Array.from(s.gIdx) : null);
      const wc = compressed.f32(`${l.name}.weight`);
      const w = model.readTensor(`${l.name}.weight`);
      if (dtype === 'f32') expect(Array.from(w)).toEqual(Array.from(wc));
      else {
        let worst = 0;
        for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - wc[i]) / (Math.abs(wc[i]) + 1e-3));
        expect(worst).toBeLessThan(1e-3); // scales rounded to float16
      }
    }
  } finally {
    compressed.close();
    model.close();
  }
}

describe('GPTQ checkpoints', () => {
  it('without act-order: codes exact, W_c exact with f32 scales, f16-rounded with f16', async () => {
    await checkRoundTrip(plain, 'f32');
    await checkRoundTrip(plain, 'f16');
  });

  it('with act-order (desc_act, g_idx): codes and W_c exact', async () => {
    expect([...readQuantStates(act)!.values()].every((s) => s.gIdx !== undefined)).toBe(true);
    await checkRoundTrip(act, 'f32');
  });

  it('import: a GPTQ checkpoint + its original become a run that eora compensate works on', async () => {
    const gptqDir = join(out, `${plain.split('/').at(-2)}-f32`, 'gptq');
    const runDir = join(out, 'imported');
    const summary = await importGptq(gptqDir, bundledModelPath(), runDir, {
      calibFile: resourcesPath('data', 'tinystories', 'calibration.txt'),
      samples: 16,
      seqLen: 64,
      seed: 0,
      device: 'cpu',
    });
    expect(summary.method).toBe('gptq:w4g32');
    const run = RunFolder.open(runDir);
    expect(run.stage('compress').status).toBe('done');
    // Same W_c and codes as the run the checkpoint came from; same calibration windows → same C.
    const a = TensorFile.open(join(plain, 'compressed.safetensors'));
    const b = TensorFile.open(join(runDir, 'compressed.safetensors'));
    const ca = TensorFile.open(join(plain, 'calibration.safetensors'));
    const cb = TensorFile.open(join(runDir, 'calibration.safetensors'));
    try {
      for (const name of a.file.tensors.keys()) expect(Array.from(b.f32(name))).toEqual(Array.from(a.f32(name)));
      const C0 = ca.f64('model.layers.1.down_in');
      const C1 = cb.f64('model.layers.1.down_in');
      let diff = 0;
      let norm = 0;
      for (let i = 0; i < C0.length; i++) {
        diff = Math.max(diff, Math.abs(C0[i] - C1[i]));
        norm = Math.max(norm, Math.abs(C0[i]));
      }
      expect(diff / norm).toBeLessThan(1e-5); // the same statistics up to float32 batch sums
    } finally {
      for (const f of [a, b, ca, cb]) f.close();
    }
    const comp = await runCompensate(runDir, { methods: ['eora'], ranks: [8], device: 'cpu', rMax: 32, evalTokens: 2000 });
    expect(comp.methods[0].ranks[0].ppl!).toBeLessThan(comp.ppl!.compressed);
    expect(comp.ppl!.compressed).toBeGreaterThan(comp.ppl!.original);
  });

  it('import: stopped after a block (its W_c checkpointed, not held), it resumes to the same files as an uninterrupted import', async () => {
    const gptqDir = join(out, `${plain.split('/').at(-2)}-f32`, 'gptq');
    const options = { calibFile: resourcesPath('data', 'tinystories', 'calibration.txt'), samples: 16, seqLen: 64, seed: 0, device: 'cpu' as const };
    const whole = join(out, 'imported-whole');
    await importGptq(gptqDir, bundledModelPath(), whole, options);
    const stopped = join(out, 'imported-stopped');
    const controller = new AbortController();
    const stopAfterFirst = (e: { done: number }) => e.done === 1 && controller.abort(new Error('test stop'));
    await expect(importGptq(gptqDir, bundledModelPath(), stopped, { ...options, signal: controller.signal, onProgress: stopAfterFirst })).rejects.toThrow('test stop');
    expect(RunFolder.open(stopped).stage('compress')).toMatchObject({ status: 'stopped', layers_done: 1 });
    await importGptq(gptqDir, bundledModelPath(), stopped, options);
    for (const file of ['compressed.safetensors', 'calibration.safetensors', 'quantized.safetensors', 'layers.json']) {
      expect(readFileSync(join(stopped, file)).equals(readFileSync(join(whole, file))), file).toBe(true);
    }
  });
});

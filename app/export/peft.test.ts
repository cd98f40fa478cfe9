// PEFT export of a real GPTQ w4g32 + EoRA run of the bundled model: the files match PEFT's
// documented layout (written out here, not snapshotted), and the adapter read back and applied
// through the runner's unmerged path gives the in-run variant's logits.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompensate, runCompress } from '../experiment/commands.js';
import { ModelRunner } from '../forward/runner.js';
import { linears } from '../model/inspect.js';
import { openModel } from '../model/open.js';
import { SafetensorsFile } from '../model/safetensors.js';
import type { Model } from '../model/types.js';
import { TensorFile } from '../run/safetensors-writer.js';
import { exportVariant, listVariants } from './index.js';
import { peftConfig } from './peft.js';
import { makeRun } from './testing/fixture.js';

let run: string;
let model: Model;
const out = mkdtempSync(join(tmpdir(), 'eora-peft-'));

beforeAll(async () => {
  run = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32', { ranks: [8], budget: 20_000 });
  model = await openModel();
}, 240_000);
afterAll(() => model?.close());

/** `dir`'s linear weights are the run's W_c bit for bit (f32 export) and differ from the original W. */
function expectCompressedCheckpoint(dir: string): void {
  const written = SafetensorsFile.open(join(dir, 'model.safetensors'));
  const compressed = TensorFile.open(join(run, 'compressed.safetensors'));
  try {
    for (const l of linears(model).slice(0, 3)) {
      const w = written.read(`${l.name}.weight`);
      expect(Array.from(w)).toEqual(Array.from(compressed.f32(`${l.name}.weight`)));
      const original = model.readTensor(`${l.name}.weight`);
      expect(w.some((v, i) => v !== original[i])).toBe(true);
    }
  } finally {
    written.close();
    compressed.close();
  }
}

describe('peft export', () => {
  it('writes PEFT’s layout: key names, shapes, config fields', async () => {
    const dir = join(out, 'uniform');
    await exportVariant(run, 'eora-r8', 'peft', dir);
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'base', 'export.json']);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 8,
      lora_alpha: 8, // scaling alpha / r = 1
      rank_pattern: {},
      alpha_pattern: {},
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      use_dora: false,
      base_model_name_or_path: join(dir, 'base'), // the compressed model it corrects, not the original
    });
    expect([...config.target_modules].sort()).toEqual(['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    const file = SafetensorsFile.open(join(dir, 'adapter_model.safetensors'));
    try {
      const expected = new Map<string, number[]>();
      for (let i = 0; i < 2; i++) {
        for (const [module, outDim, inDim] of [
          ['self_attn.q_proj', 128, 128], ['self_attn.k_proj', 64, 128], ['self_attn.v_proj', 64, 128], ['self_attn.o_proj', 128, 128],
          ['mlp.gate_proj', 384, 128], ['mlp.up_proj', 384, 128], ['mlp.down_proj', 128, 384],
        ] as const) {
          expected.set(`base_model.model.model.layers.${i}.${module}.lora_A.weight`, [8, inDim]);
          expected.set(`base_model.model.model.layers.${i}.${module}.lora_B.weight`, [outDim, 8]);
        }
      }
      expect(new Map([...file.tensors].map(([k, t]) => [k, t.shape]))).toEqual(expected);
      expect([...file.tensors.values()].every((t) => t.dtype === 'F32')).toBe(true);
    } finally {
      file.close();
    }
  });

  it('read back and applied unmerged: the in-run variant’s logits', async () => {
    const dir = join(out, 'uniform');
    const runner = await ModelRunner.create(model);
    try {
      const compressed = TensorFile.open(join(run, 'compressed.safetensors'));
      for (const l of linears(model)) runner.setWeight(`${l.name}.weight`, compressed.f32(`${l.name}.weight`));
      compressed.close();
      const tokens = Int32Array.from(model.tokenizer.encode('Once upon a time there was a little dog named Max.').slice(0, 12));
      const dims = [1, tokens.length] as const;
      const apply = (file: string, prefix: string) => {
        const f = SafetensorsFile.open(file);
        for (const l of linears(model)) {
          const A = f.read(`${prefix}${l.name}.lora_A.weight`);
          runner.setAdapter(l.name, A, f.read(`${prefix}${l.name}.lora_B.weight`), A.length / l.in);
        }
        f.close();
      };
      apply(join(dir, 'adapter_model.safetensors'), 'base_model.model.');
      const exported = await runner.forwardLogits(tokens, dims);
      apply(join(run, 'adapters', 'eora-r8.safetensors'), '');
      const inRun = await runner.forwardLogits(tokens, dims);
      expect(Array.from(exported)).toEqual(Array.from(inRun)); // same factors, same graph: bit for bit
      runner.clearAdapters();
      const plain = await runner.forwardLogits(tokens, dims);
      expect(Math.max(...exported.map((v, i) => Math.abs(v - plain[i])))).toBeGreaterThan(1e-4); // the adapter does something
    } finally {
      await runner.release();
    }
  });

  it('base/ holds W_c (the weights the adapter was fitted to), not the original W', () => {
    const dir = join(out, 'uniform');
    expectCompressedCheckpoint(join(dir, 'base'));
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(`loads ${join(dir, 'base')} + the adapter`);
  });

  it('compressed format with an adapter variant: W_c at the root, the adapter in adapter/ naming the root as its base', async () => {
    const dir = join(out, 'compressed-eora');
    await exportVariant(run, 'eora-r8', 'compressed', dir);
    expect(readdirSync(dir)).toContain('adapter');
    expectCompressedCheckpoint(dir);
    const config = JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(config.base_model_name_or_path).toBe(dir);
    expect(config.r).toBe(8);
    const exported = SafetensorsFile.open(join(dir, 'adapter', 'adapter_model.safetensors'));
    const inRun = SafetensorsFile.open(join(run, 'adapters', 'eora-r8.safetensors'));
    try {
      const name = linears(model)[3].name;
      expect(Array.from(exported.read(`base_model.model.${name}.lora_B.weight`))).toEqual(Array.from(inRun.read(`${name}.lora_B.weight`)));
    } finally {
      exported.close();
      inRun.close();
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8'));
    expect(manifest).toMatchObject({ variant: 'eora-r8', adapter: { folder: 'adapter', base_model_name_or_path: dir, r: 8 } });
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('`adapter/` holds the eora-r8 adapter');
    // The plain compressed variant writes no adapter folder.
    const plain = join(out, 'compressed-only');
    return exportVariant(run, 'compressed', 'compressed', plain).then(() => expect(readdirSync(plain)).not.toContain('adapter'));
  });

  it('budget variants: per-linear ranks through rank_pattern / alpha_pattern (scaling 1 everywhere)', async () => {
    const budget = listVariants(run).find((v) => v.startsWith('eora-budget'))!;
    expect(budget).toBeDefined();
    const dir = join(out, 'budget');
    await exportVariant(run, budget, 'peft', dir);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    const file = SafetensorsFile.open(join(dir, 'adapter_model.safetensors'));
    try {
      for (const [key, t] of file.tensors) {
        if (!key.endsWith('lora_A.weight')) continue;
        const module = key.slice('base_model.model.'.length, -'.lora_A.weight'.length);
        const r = config.rank_pattern[module] ?? config.r;
        expect(t.shape[0]).toBe(r);
        expect((config.alpha_pattern[module] ?? config.lora_alpha) / r).toBe(1);
      }
    } finally {
      file.close();
    }
  });

  it('peftConfig: most common rank as r, the rest in rank_pattern, rank-0 linears left out by full name', () => {
    const ranks = new Map([['m.layers.0.q_proj', 8], ['m.layers.0.k_proj', 4], ['m.layers.1.q_proj', 8], ['m.layers.1.k_proj', 0]]);
    const c = peftConfig(ranks, (n) => n.split('.').at(-1)!, 'base');
    expect(c.r).toBe(8);
    expect(c.lora_alpha).toBe(8);
    expect(c.rank_pattern).toEqual({ 'm.layers.0.k_proj': 4 });
    expect(c.alpha_pattern).toEqual({ 'm.layers.0.k_proj': 4 });
    expect(c.target_modules).toEqual(['m.layers.0.q_proj', 'm.layers.0.k_proj', 'm.layers.1.q_proj']);
  });
});

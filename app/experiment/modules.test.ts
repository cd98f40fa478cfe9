// compensation.modules end to end on the bundled model (RTN w4g32, 16×64 calibration tokens,
// 1,000 held-out tokens): adapters only on the chosen linears (the MLP), rank_pattern's rank on
// down_proj, the budget allocated over the MLP alone, and the PEFT export's target_modules/rank_pattern naming exactly those linears.
import { mkdtempSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { moduleRanks } from '../contract/modules.js';
import { exportVariant } from '../export/index.js';
import { runCompensate, type CompensateSummary } from './commands.js';
import { experimentSchema } from './schema.js';
import { compressBundled } from './testing/compressed-run.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-modules-'));
const out = join(dir, 'rtn-w4');
const modules = { include: ['*.mlp.*'], rank_pattern: { down_proj: 4 } };
let summary: CompensateSummary;

/** Tensor name → shape, from a safetensors header. */
function shapes(file: string): Record<string, number[]> {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    const json = Buffer.alloc(n);
    readSync(fd, json, 0, n, 8);
    const header = JSON.parse(json.toString('utf8')) as Record<string, { shape: number[] }>;
    return Object.fromEntries(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, v.shape]));
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  await compressBundled(out, 'rtn:w4g32', 1000);
  summary = await runCompensate(out, { methods: ['svd', 'eora'], ranks: [8], budgets: [20_000], rMax: 16, modules, evalTokens: 1000, device: 'cpu' });
});

describe('compensation.modules', () => {
  it('the config accepts include/exclude/rank_pattern and refuses a negative rank', () => {
    expect(experimentSchema.shape.compensation.safeParse({ modules }).success).toBe(true);
    expect(experimentSchema.shape.compensation.safeParse({ modules: { rank_pattern: { q_proj: -1 } } }).success).toBe(false);
    expect(experimentSchema.shape.compensation.safeParse({ modules: { inclde: ['*'] } }).success).toBe(false);
  });

  it('moduleRanks names a pattern that matches nothing and a rank above the decomposition', () => {
    const all = [{ name: 'model.layers.0.self_attn.q_proj', maxRank: 16 }, { name: 'model.layers.0.mlp.up_proj', maxRank: 16 }];
    expect(() => moduleRanks(all, { include: ['*.mpl.*'] })).toThrow('compensation.modules.include: "*.mpl.*" matches no linear of the model');
    expect(() => moduleRanks(all, { rank_pattern: { up_proj: 32 } })).toThrow('"up_proj" gives model.layers.0.mlp.up_proj rank 32, above its decomposition\'s rank 16');
    expect(() => moduleRanks(all, { exclude: ['*'] })).toThrow('leaves no linear');
  });

  it('adapters only on the MLP linears, down_proj at rank_pattern’s rank 4, the others at 8', () => {
    for (const variant of ['svd-r8', 'eora-r8']) {
      const s = shapes(join(out, 'adapters', `${variant}.safetensors`));
      const ranks = Object.fromEntries(Object.entries(s).filter(([k]) => k.endsWith('.lora_A.weight')).map(([k, shape]) => [k.replace('.lora_A.weight', ''), shape[0]]));
      expect(Object.keys(ranks)).toHaveLength(14);
      for (const [name, r] of Object.entries(ranks)) expect(r, name).toBe(name.includes('.self_attn.') ? 0 : name.endsWith('down_proj') ? 4 : 8);
    }
    // Σ r·(in + out): per layer gate 8·512 + up 8·512 + down 4·512, two layers.
    expect(summary.methods[1].ranks[0].adapter_params).toBe(2 * (8 * 512 + 8 * 512 + 4 * 512));
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.variants['eora-r8'].adapter_params).toBe(2 * 20 * 512);
  });

  // (addVariant reads the same selection from run.json's records; it needs an `eora run` folder.)
  it('the budget is spent on the MLP alone', () => {
    const budget = summary.budgets[0];
    for (const [name, r] of Object.entries(budget.ranks)) if (name.includes('.self_attn.')) expect(r, name).toBe(0);
    expect(budget.adapter_params).toBeGreaterThan(0);
    expect(budget.adapter_params).toBeLessThanOrEqual(20_000);
    const s = shapes(join(out, 'adapters', `${budget.name}.safetensors`));
    for (const [k, shape] of Object.entries(s)) if (k.includes('.self_attn.') && k.endsWith('lora_A.weight')) expect(shape[0], k).toBe(0);
  });

  it('PEFT export: target_modules and rank_pattern match the chosen linears', async () => {
    const peftDir = join(dir, 'peft');
    await exportVariant(out, 'eora-r8', 'peft', peftDir);
    const config = JSON.parse(readFileSync(join(peftDir, 'adapter_config.json'), 'utf8'));
    expect(config.target_modules).toEqual(['gate_proj', 'up_proj', 'down_proj']);
    expect(config.r).toBe(8);
    expect(config.rank_pattern).toEqual({ 'model.layers.0.mlp.down_proj': 4, 'model.layers.1.mlp.down_proj': 4 });
    const tensors = Object.keys(shapes(join(peftDir, 'adapter_model.safetensors')));
    expect(tensors).toHaveLength(2 * 2 * 3);
    expect(tensors.every((t) => t.includes('.mlp.'))).toBe(true);
  });
});

// Compensation of a GPTQ w3g32 run of the bundled model (16×64 calibration tokens, 4000
// held-out tokens): the perplexity ordering compressed > +SVD > +EoRA at ranks 8, 16, 32.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../../model/safetensors.js';
import { RunFolder } from '../../run/run.js';
import { runCompensate, type CompensateSummary } from '../commands.js';
import { compressBundled } from '../testing/compressed-run.js';
import type { RunMetrics } from '../../run/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-compensate-'));
const out = join(dir, 'gptq-w3');
let measuredByCompress: RunMetrics['variants'];
let summary: CompensateSummary;

beforeAll(async () => {
  await compressBundled(out, 'gptq:w3g32', 4000);
  measuredByCompress = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics).variants;
  summary = await runCompensate(out, { methods: ['svd', 'eora'], ranks: [8, 16, 32], budget: 77_824, device: 'cpu' });
});

describe('compensate pipeline (GPTQ w3g32 run)', () => {
  it('held-out perplexity: compressed > +SVD > +EoRA at ranks 8, 16, 32', () => {
    const [svd, eora] = summary.methods;
    expect(svd.method).toBe('svd');
    expect(eora.method).toBe('eora');
    const table = svd.ranks.map((row, i) => ({ rank: row.rank, svd: row.ppl, eora: eora.ranks[i].ppl, svd_err: row.mean_rel_output_error, eora_err: eora.ranks[i].mean_rel_output_error }));
    console.log(`ppl original ${summary.ppl!.original.toFixed(3)}, compressed ${summary.ppl!.compressed.toFixed(3)}`);
    console.table(table);
    console.log('eora-budget-77824 (77,824 params = uniform r16):', summary.budget);
    expect(summary.budget!.name).toBe('eora-budget-77824');
    for (const row of table) {
      expect(row.svd!).toBeLessThan(summary.ppl!.compressed);
      expect(row.eora!).toBeLessThan(row.svd!);
      expect(row.eora_err).toBeLessThan(row.svd_err);
    }
    // The first variant is also scored with unmerged adapters (W_c·x + B·(A·x)): same perplexity.
    const first = svd.ranks[0];
    expect(Math.abs(first.unmerged_ppl! - first.ppl!) / first.ppl!).toBeLessThan(1e-5);
    // Σ (in + out) per layer: q 256, k 192, v 192, o 256, gate 512, up 512, down 512 = 2432; two layers.
    expect(eora.ranks.map((r) => r.adapter_params)).toEqual([8, 16, 32].map((r) => r * 2 * 2432));
  });

  it('budget allocation beats uniform at the same parameter count on the predicted objective', () => {
    const b = summary.budget!;
    expect(b.adapter_params).toBeLessThanOrEqual(77_824);
    expect(b.mean_rel_output_error).toBeLessThanOrEqual(b.uniform.mean_rel_output_error);
    expect(b.mean_rel_output_error).toBeLessThan(summary.methods[1].ranks[1].mean_rel_output_error + 1e-15);
    expect(Object.keys(b.ranks)).toHaveLength(14);
  });

  it('writes spectra, adapters and metrics into the run', () => {
    const spectra = JSON.parse(readFileSync(join(out, 'spectra', 'model.layers.0.mlp.down_proj.json'), 'utf8'));
    expect(spectra).toMatchObject({ out: 128, in: 384, r_max: 128 });
    expect(spectra.c_eigenvalues).toHaveLength(128);
    const eoraCurve: number[] = spectra.methods.eora.rel_output_error;
    const svdCurve: number[] = spectra.methods.svd.rel_output_error;
    expect(eoraCurve).toHaveLength(129);
    for (let r = 0; r <= 128; r++) expect(eoraCurve[r]).toBeLessThanOrEqual(svdCurve[r] * (1 + 1e-9) + 1e-15);
    for (let r = 0; r <= 128; r++) expect(spectra.methods.eora.predicted_rel_output_error[r]).toBeCloseTo(eoraCurve[r], 10);

    const adapters = SafetensorsFile.open(join(out, 'adapters', 'eora-r16.safetensors'));
    expect(adapters.tensors.get('model.layers.0.mlp.down_proj.lora_A.weight')!.shape).toEqual([16, 384]);
    expect(adapters.tensors.get('model.layers.0.mlp.down_proj.lora_B.weight')!.shape).toEqual([128, 16]);
    expect(adapters.tensors.size).toBe(28);
    adapters.close();

    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(Object.keys(metrics.variants).sort()).toEqual(['compressed', 'eora-budget-77824', 'eora-r16', 'eora-r32', 'eora-r8', 'original', 'svd-r16', 'svd-r32', 'svd-r8']);
    expect(metrics.eval!.perplexity).toMatchObject([{ name: 'validation', tokens: 4000 }]);
    expect(metrics.variants['eora-r16']).toMatchObject({ name: 'eora-r16', method: 'eora', rank: 16, adapter: 'adapters/eora-r16.safetensors', adapter_params: 16 * 2 * 2432, tasks: {} });
    expect(metrics.variants['eora-budget-77824']).toMatchObject({ method: 'eora', rank: 'budget' });
    expect(metrics.variants.compressed).toMatchObject({ method: 'gptq:w3g32', rank: null, adapter: null });
    expect(metrics.variants.original.ppl.validation.ppl).toBeCloseTo(summary.ppl!.original, 10);
    // Original and compressed were measured by compress under the same setup: not again.
    expect(metrics.variants.original).toEqual(measuredByCompress.original);
    expect(metrics.variants.compressed).toEqual(measuredByCompress.compressed);
    expect(RunFolder.open(out).manifest.stages.compensate!.status).toBe('done');
  });
});

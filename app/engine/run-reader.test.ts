// The UI's run reader on a hand-made run folder: details with deltas and flags, a spectrum,
// the curves in model order, and clear errors naming the file for bad input.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { listRunFolders, readCurves, readRunDetails, readSpectrum } from './run-reader.js';

const root = mkdtempSync(join(tmpdir(), 'eora-reader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const names = ['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.down_proj'];
const task = (acc: number) => ({ acc, acc_norm: acc, stderr: { acc: 0.01, acc_norm: 0.1 }, n: 100, truncated: 0, skipped: 0, seconds: 1 });
const variant = (name: string, method: string | null, rank: number | null, ppl: number, acc: number) => ({
  name, method, rank, adapter: null, adapter_params: null, ppl: { tiny: { ppl, nll: Math.log(ppl), tokens: 100, seconds: 1 } }, tasks: { cloze: task(acc) },
});

function makeRun(name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'spectra'), { recursive: true });
  const manifest = { format: 'eora-run', format_version: 1, workbench_version: '0', created: '2026-01-02T03:04:05.000Z', model: { path: '/m', format: 'huggingface', fingerprint: 'x' }, device: 'cpu', config: { method: 'gptq:w3g32' }, records: { compensate: { methods: ['svd', 'eora'] } }, stages: { compress: { status: 'done' }, compensate: { status: 'done' } } };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'layers.json'), JSON.stringify(names.map((n, i) => ({ name: n, layer: 0, kind: n.split('.').pop(), out: 4, in: 4 + 4 * i, rel_weight_error: 0.1, rel_output_error: 0.01, sparsity: 0, bits_per_weight: 4 }))));
  for (const [i, n] of names.entries()) {
    const curve = (scale: number) => [0.01, 0.005 * scale, 0.002 * scale, 0.001 * scale, 0];
    writeFileSync(join(dir, 'spectra', `${n}.json`), JSON.stringify({ name: n, out: 4, in: 4 + 4 * i, r_max: 4, c_eigenvalues: [4, 3, 2, 1], c_trace: 10, methods: { svd: { singular_values: [2, 1, 0.5, 0.1], rel_output_error: curve(1), rel_frobenius_error: curve(1) }, eora: { singular_values: [3, 1, 0.1, 0.01], rel_output_error: curve(0.5), rel_frobenius_error: curve(1) } } }));
  }
  const metrics = {
    format: 'eora-metrics', version: 2, compression: 'gptq:w3g32',
    eval: { perplexity: [{ name: 'tiny', file: '/t', tokens: 100, seq_len: 64 }], tasks: [{ name: 'cloze', file: '/c', format: 'jsonl', n: 100 }], generation: { prompts: ['Once'], max_new_tokens: 4 } },
    variants: { original: variant('original', null, null, 40, 0.6), compressed: variant('compressed', 'gptq:w3g32', null, 50, 0.5), 'eora-r8': variant('eora-r8', 'eora', 8, 45, 0.58) },
  };
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify(metrics));
  writeFileSync(join(dir, 'samples.json'), JSON.stringify({ prompts: ['Once'], max_new_tokens: 4, variants: { original: [{ prompt: 'Once', text: ' upon', tokens: 1, stop_reason: 'length' }], 'eora-r8': [{ prompt: 'Once', text: ' there', tokens: 1, stop_reason: 'length' }] } }));
  return dir;
}

describe('run reader', () => {
  const dir = makeRun('good');

  it('reads details: layers, spectra index, metrics with deltas and stderr flags, samples', async () => {
    const run = await readRunDetails(dir);
    expect(run.name).toBe('good');
    expect(run.method).toBe('gptq:w3g32');
    expect(run.layers.map((l) => l.name)).toEqual(names);
    expect(run.spectra).toEqual(names);
    expect(run.methods).toEqual(['svd', 'eora']);
    expect(run.metrics.map((m) => m.key)).toEqual(['ppl:tiny', 'acc:cloze', 'acc_norm:cloze']);
    expect(run.metrics[0].lowerIsBetter).toBe(true);
    const eora = run.variants.find((v) => v.name === 'eora-r8')!;
    expect(eora.rank).toBe(8);
    expect(eora.metrics['ppl:tiny']).toMatchObject({ value: 45, delta_compressed: -5, delta_original: 5 });
    // acc: Δ = 0.08 against 1.96·√(0.01² + 0.01²) ≈ 0.028 → significant; acc_norm: against ≈ 0.277 → not.
    expect(eora.metrics['acc:cloze'].delta_compressed).toBeCloseTo(0.08, 12);
    expect(eora.metrics['acc:cloze'].significant_compressed).toBe(true);
    expect(eora.metrics['acc_norm:cloze'].significant_compressed).toBe(false);
    expect(run.samples).toEqual([{ prompt: 'Once', outputs: { original: ' upon', 'eora-r8': ' there' } }]);
  });

  it('reads a spectrum and every curve in model order', async () => {
    const s = await readSpectrum(dir, names[1]);
    expect(s.in).toBe(8);
    expect(s.c_eigenvalues).toEqual([4, 3, 2, 1]);
    const curves = await readCurves(dir, 'eora');
    expect(curves.layers.map((l) => [l.name, l.in, l.error[1]])).toEqual([
      [names[0], 4, 0.0025],
      [names[1], 8, 0.0025],
    ]);
  });

  it('names the file and the problem for bad input', async () => {
    await expect(readSpectrum(dir, 'model.layers.9.nothing')).rejects.toThrow(/spectra\/model\.layers\.9\.nothing\.json: no such file/);
    await expect(readSpectrum(dir, '..')).rejects.toThrow(/not a linear name/);
    await expect(readCurves(dir, 'scaled-svd')).rejects.toThrow(/q_proj\.json: no scaled-svd curve \(the run has svd, eora\)/);
    const broken = makeRun('broken');
    writeFileSync(join(broken, 'spectra', `${names[0]}.json`), '{"c_trace": 1}');
    await expect(readSpectrum(broken, names[0])).rejects.toThrow(/q_proj\.json: c_eigenvalues: expected a list of numbers/);
    writeFileSync(join(broken, 'run.json'), '{not json');
    await expect(readRunDetails(broken)).rejects.toThrow(/broken\/run\.json: not valid JSON/);
  });

  it('lists runs, a corrupt one included', () => {
    const list = listRunFolders(root);
    expect(list.map((r) => [r.name, r.status])).toEqual(expect.arrayContaining([['good', expect.any(String)], ['broken', 'corrupt']]));
  });
});

// A hand-made run folder with known standard errors, for specs that check what the UI and
// `eora show` conclude from metrics.json (no engine run needed; the files are the truth).
//
// Tasks (n = 100 items, paired per item): with k items flipped one way, Δ = k/100 and
// SE = sqrt(k(n−k)/(n²(n−1))), so Δ/SE = sqrt(k(n−1)/(n−k)): k = 1 → 1.00 SE, k = 2 → 1.42 SE
// (starred by the old one-SE rule, not by the 95 % test), k = 6 → 2.51 SE.
//   original    60 right
//   compressed  original with 6 right answers lost           Δ orig −0.06, 2.51 SE → *
//   eora-r8     compressed with 1 of those won back           Δ comp +0.01, 1.00 SE → no *
//   svd-r8      compressed with 2 others (wrong before) right  Δ comp +0.02, 1.42 SE → no *
// Perplexity over W = 10 windows of 50 targets: d_w = Δ ± 0.03 alternating, so
// se(ΔNLL) = sqrt(W/(W−1)·W·0.03²)/W = 0.01: compressed − original ΔNLL = 0.10 (10 SE, *),
// eora-r8 − compressed −0.01 (1 SE, no *), svd-r8 − compressed −0.025 (2.5 SE, *).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, type Page } from '@playwright/test';

export const FIXTURE_LINEARS = [
  { name: 'model.layers.0.self_attn.q_proj', kind: 'q_proj', out: 64, in: 64 },
  { name: 'model.layers.0.self_attn.o_proj', kind: 'o_proj', out: 64, in: 64 },
  { name: 'model.layers.0.mlp.up_proj', kind: 'up_proj', out: 172, in: 64 },
  { name: 'model.layers.0.mlp.down_proj', kind: 'down_proj', out: 64, in: 172 },
];

/** err(r), r = 0…8, per linear and method: decaying at different speeds, EoRA below SVD. */
export const FIXTURE_R_MAX = 8;
export function fixtureCurve(linear: number, method: 'svd' | 'eora'): number[] {
  const speed = [0.5, 0.8, 0.3, 0.6][linear] * (method === 'eora' ? 1.4 : 1);
  return Array.from({ length: FIXTURE_R_MAX + 1 }, (_, r) => (0.02 + 0.01 * linear) * Math.exp(-speed * r));
}

const W = 10;
const base = Array.from({ length: W }, (_, w) => 3.5 + 0.05 * w);
const shifted = (from: number[], delta: number) => from.map((m, w) => m + delta + (w % 2 === 0 ? 0.03 : -0.03));
const nll = { original: base, compressed: shifted(base, 0.1) } as Record<string, number[]>;
nll['eora-r8'] = shifted(nll.compressed, -0.01);
nll['svd-r8'] = shifted(nll.compressed, -0.025);

const right = (ones: number[]) => Array.from({ length: 100 }, (_, i) => (ones.includes(i) ? '1' : '0')).join('');
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const items: Record<string, string> = {
  original: right(range(0, 60)),
  compressed: right(range(6, 60)),
  'eora-r8': right([0, ...range(6, 60)]),
  'svd-r8': right([...range(6, 60), 90, 91]),
};

function entry(name: string, method: string | null, rank: number | null, adapterParams: number | null, nllShift: number) {
  const tokens = Array(W).fill(50);
  const windows = name === 'original' ? nll[name] : nll[name].map((m) => m + nllShift);
  const mean = windows.reduce((a, b) => a + b, 0) / W;
  const bits = items[name];
  const acc = [...bits].filter((b) => b === '1').length / bits.length;
  const se = Math.sqrt((acc * (1 - acc)) / (bits.length - 1));
  return {
    name, method, rank, adapter: adapterParams === null ? null : `adapters/${name}.safetensors`, adapter_params: adapterParams,
    ppl: { tinystories: { ppl: Math.exp(mean), nll: mean, tokens: 50 * W, seconds: 1, windows: { tokens, nll: windows } } },
    tasks: { cloze: { acc, acc_norm: acc, stderr: { acc: se, acc_norm: se }, n: 100, truncated: 0, skipped: 0, seconds: 1, per_item: { acc: bits, acc_norm: bits } } },
  };
}

/** rank-8 adapter parameters: Σ 8·(in + out). */
export const FIXTURE_R8_PARAMS = FIXTURE_LINEARS.reduce((s, l) => s + 8 * (l.in + l.out), 0);

/**
 * Writes the fixture run to root/name; returns its folder. `nllShift` moves every non-original
 * variant's window NLLs (a better or worse compression), `bits` is recorded in the config.
 */
export function writeFixtureRun(root: string, name: string, options: { nllShift?: number; bits?: number } = {}): string {
  const shift = options.nllShift ?? 0;
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const manifest = {
    format: 'eora-run', format_version: 1, workbench_version: '0', created: '2026-01-02T03:04:05.000Z',
    model: { path: '/fixture/model', format: 'huggingface', fingerprint: 'x' }, device: 'cpu',
    config: { method: `gptq:w${options.bits ?? 3}g32`, experiment: { name: `fixture w${options.bits ?? 3}`, compress: { bits: options.bits ?? 3 } } },
    records: { experiment: { stages: ['evaluate'] }, compensate: { methods: ['svd', 'eora'] } }, stages: { evaluate: { status: 'done', seconds: 1 } },
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(manifest));
  mkdirSync(join(dir, 'spectra'), { recursive: true });
  FIXTURE_LINEARS.forEach((l, i) => {
    const method = (m: 'svd' | 'eora') => ({ singular_values: fixtureCurve(i, m).map((e) => Math.sqrt(e)), rel_output_error: fixtureCurve(i, m), rel_frobenius_error: fixtureCurve(i, m) });
    const spectrum = { name: l.name, out: l.out, in: l.in, r_max: FIXTURE_R_MAX, c_eigenvalues: [4, 3, 2, 1], c_trace: 10, methods: { svd: method('svd'), eora: method('eora') } };
    writeFileSync(join(dir, 'spectra', `${l.name}.json`), JSON.stringify(spectrum));
  });
  writeFileSync(join(dir, 'layers.json'), JSON.stringify(FIXTURE_LINEARS.map((l) => ({ ...l, layer: 0, rel_weight_error: 0.1, rel_output_error: 0.01, sparsity: 0, bits_per_weight: 3.5 }))));
  const metrics = {
    format: 'eora-metrics', version: 2, compression: 'gptq:w3g32',
    eval: { perplexity: [{ name: 'tinystories', file: '/t', tokens: 50 * W, seq_len: 51 }], tasks: [{ name: 'cloze', file: '/c', format: 'jsonl', n: 100 }], generation: null },
    variants: {
      original: entry('original', null, null, null, shift),
      compressed: entry('compressed', 'gptq:w3g32', null, null, shift),
      'svd-r8': entry('svd-r8', 'svd', 8, FIXTURE_R8_PARAMS, shift),
      'eora-r8': entry('eora-r8', 'eora', 8, FIXTURE_R8_PARAMS, shift),
    },
  };
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify(metrics, null, 1));
  return dir;
}

/** Opens a run folder from Runs, then the Benchmarks view. */
export async function openInBenchmarks(app: Page, dir: string) {
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Runs', exact: true }).click();
  await app.getByRole('table', { name: 'Runs' }).locator(`tr[data-dir="${dir}"]`).getByRole('button', { name: 'Open' }).click();
  await app.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Benchmarks', exact: true }).click();
  await expect(app.getByTestId('open-run')).toContainText(dir.split('/').pop()!);
}


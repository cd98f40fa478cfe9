// An experiment on the bundled model with tiny settings: metrics.json's schema and variant
// names, samples, the results table's deltas, variants added afterwards (equal to the ones
// the run made), and the runs listing with broken folders beside a good one.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing/run.js';
import { readMetricsJson as readMetricsFile } from '../run/files/metrics-json.js';
import type { RunMetrics, VariantEntry } from '../run/metrics.js';
import { RunFolder } from '../run/run.js';
import { addVariant } from './add-variant.js';
import { parseExperiment } from './config.js';
import type { SamplesFile } from '../run/files/samples-json.js';
import { cellOf, formatResultsTable, pairedStderr, pairedWindowStderr, readRunResults } from './results.js';
import { runExperiment, type ExperimentProgress } from './run.js';
import { whileActive } from './active.js';
import { defaultRunsRoot, deleteRun, listRuns } from './runs.js';

const root = mkdtempSync(join(tmpdir(), 'eora-experiment-'));
const out = join(root, 'tiny');
const config = parseExperiment(
  {
    calibration: { samples: 8, seq_len: 32 },
    compression: { quant: 'gptq:w3g32' },
    compensation: { methods: ['svd', 'eora'], ranks: [8, 4], budgets: [19456] },
    evaluation: {
      perplexity: [{ name: 'tinystories', tokens: 1000 }],
      tasks: [
        { name: 'tinystories_cloze', limit: 8 },
        { name: 'arc_easy', limit: 4 },
      ],
      generation: { prompts: ['Once upon a time'], max_new_tokens: 8 },
    },
  },
  'tiny.json',
);
const events: ExperimentProgress[] = [];
let metrics: RunMetrics;

beforeAll(async () => {
  await runExperiment(config, out, { onProgress: (e) => events.push(e) });
  metrics = readMetricsFile(out);
}, 300_000);

const withoutSeconds = (v: VariantEntry) => JSON.parse(JSON.stringify(v, (k, x) => (k === 'seconds' ? undefined : x)));

describe('runExperiment', () => {
  it('names the variants original, compressed, <method>-r<r>, eora-budget-<params>', () => {
    expect(Object.keys(metrics.variants)).toEqual(['original', 'compressed', 'svd-r4', 'svd-r8', 'eora-r4', 'eora-r8', 'eora-budget-19456']);
    expect(metrics.variants.original).toMatchObject({ name: 'original', method: null, rank: null, adapter: null, adapter_params: null });
    expect(metrics.variants.compressed).toMatchObject({ name: 'compressed', method: 'gptq:w3g32', rank: null, adapter: null });
    expect(metrics.variants['svd-r8']).toMatchObject({ method: 'svd', rank: 8, adapter: 'adapters/svd-r8.safetensors', adapter_params: 8 * 2 * 2432 });
    expect(metrics.variants['eora-budget-19456']).toMatchObject({ method: 'eora', rank: 'budget' });
    expect(metrics.variants['eora-budget-19456'].adapter_params).toBeLessThanOrEqual(19456);
    expect(metrics.compression).toBe('gptq:w3g32');
  });

  it('metrics.json: every variant has ppl per text and acc/acc_norm ± stderr per task, on the same items', () => {
    expect(metrics.eval!.tasks).toEqual([
      { name: 'tinystories_cloze', file: expect.stringContaining('tinystories_cloze'), format: 'jsonl', n: 8, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { name: 'arc_easy', file: expect.stringContaining('arc_easy'), format: 'arc', n: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(metrics.eval!.perplexity).toEqual([{ name: 'tinystories', file: expect.stringContaining('validation.txt'), tokens: 1000, seq_len: 512, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    for (const v of Object.values(metrics.variants)) {
      const p = v.ppl.tinystories;
      expect(p.tokens).toBe(999);
      expect(p.ppl).toBeCloseTo(Math.exp(p.nll), 9);
      for (const [task, n] of [['tinystories_cloze', 8], ['arc_easy', 4]] as const) {
        const t = v.tasks[task];
        expect(t.n).toBe(n);
        for (const k of ['acc', 'acc_norm'] as const) {
          expect(t[k] * n).toBeCloseTo(Math.round(t[k] * n), 9); // a count of correct items
          expect(t.stderr[k]).toBeCloseTo(Math.sqrt((t[k] * (1 - t[k])) / (n - 1)), 12);
        }
      }
    }
    // The compressed model is another model; GPTQ w3 costs perplexity even at this size.
    expect(metrics.variants.compressed.ppl.tinystories.ppl).toBeGreaterThan(metrics.variants.original.ppl.tinystories.ppl);
  });

  it('run.json: stages done with timings; samples.json: greedy text per variant', () => {
    const run = RunFolder.open(out);
    expect(run.manifest.records.experiment).toEqual({ stages: ['compress', 'compensate', 'evaluate', 'samples'] });
    for (const s of ['compress', 'compensate', 'evaluate', 'samples'] as const) expect(run.manifest.stages[s]).toMatchObject({ status: 'done', seconds: expect.any(Number) });
    const samples = JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')) as SamplesFile;
    expect(Object.keys(samples.variants)).toEqual(Object.keys(metrics.variants));
    for (const s of Object.values(samples.variants)) expect(s).toEqual([{ prompt: 'Once upon a time', text: expect.any(String), tokens: 8, stop_reason: 'max_new_tokens' }]);
    expect(samples.variants.original[0].text.length).toBeGreaterThan(5);
  });

  it('progress: per-layer compress, per-linear compensate, per-step evaluate, per-variant samples', () => {
    const last = (stage: string) => events.filter((e) => e.stage === stage).at(-1)!;
    expect(last('compress')).toMatchObject({ done: 2, total: 2 });
    expect(last('compensate')).toMatchObject({ done: 14, total: 14 });
    expect(last('evaluate')).toMatchObject({ done: 7 * 3, total: 7 * 3, label: 'eora-budget-19456: arc_easy' });
    expect(last('samples')).toMatchObject({ done: 7, total: 7 });
    expect(events.some((e) => e.eta_s !== undefined && e.eta_s >= 0)).toBe(true);
  });

  it('cancel (AbortSignal) mid-evaluation leaves a stopped run that resumes to the same metrics', async () => {
    const dir = join(root, 'cancelled');
    const controller = new AbortController();
    const stopAt = (e: ExperimentProgress) => e.stage === 'evaluate' && e.done >= 4 && controller.abort(new Error('test cancel'));
    await expect(runExperiment(config, dir, { signal: controller.signal, onProgress: stopAt })).rejects.toThrow('test cancel');
    expect(RunFolder.open(dir).manifest.stages.evaluate).toMatchObject({ status: 'stopped' });
    expect(listRuns(root).find((r) => r.name === 'cancelled')?.status).toBe('stopped');
    const recorded = Object.keys(readMetricsFile(dir).variants);
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.length).toBeLessThan(7);
    await runExperiment(config, dir);
    const resumed = readMetricsFile(dir);
    expect(Object.keys(resumed.variants)).toEqual(Object.keys(metrics.variants));
    for (const name of Object.keys(metrics.variants)) expect(withoutSeconds(resumed.variants[name]), name).toEqual(withoutSeconds(metrics.variants[name]));
    expect(listRuns(root).find((r) => r.name === 'cancelled')?.status).toBe('done');
  });

  it('a rerun of a finished run changes nothing', async () => {
    const before = readFileSync(join(out, 'metrics.json'), 'utf8');
    await runExperiment(config, out);
    expect(readFileSync(join(out, 'metrics.json'), 'utf8')).toBe(before);
    await expect(runExperiment({ ...config, compression: { quant: 'rtn:w3g32', prune: 'none' } }, out)).rejects.toThrow(/different configuration/);
  });
});

describe('addVariant', () => {
  it('re-making eora-r8 and eora-budget-19456 from the decompositions gives the same adapters and metrics', async () => {
    const copy = join(root, 'copy');
    cpSync(out, copy, { recursive: true });
    for (const [request, name] of [
      [{ method: 'eora', rank: 8 }, 'eora-r8'],
      [{ method: 'eora', budget: 19456 }, 'eora-budget-19456'],
    ] as const) {
      const entry = await addVariant(copy, request);
      expect(entry.name).toBe(name);
      expect(readFileSync(join(copy, 'adapters', `${name}.safetensors`)).equals(readFileSync(join(out, 'adapters', `${name}.safetensors`))), name).toBe(true);
      expect(withoutSeconds(entry)).toEqual(withoutSeconds(metrics.variants[name]));
    }
    expect(Object.keys(readMetricsFile(copy).variants)).toEqual(Object.keys(metrics.variants));
  });

  it('a new budget or per-linear ranks are appended; bad requests say why', async () => {
    const entry = await addVariant(out, { method: 'svd', budget: 30_000 });
    expect(entry).toMatchObject({ name: 'svd-budget-30000', method: 'svd', rank: 'budget' });
    expect(entry.adapter_params).toBeLessThanOrEqual(30_000);
    const names = Object.keys(readMetricsFile(out).variants);
    expect(names.at(-1)).toBe('svd-budget-30000');
    const samples = JSON.parse(readFileSync(join(out, 'samples.json'), 'utf8')) as SamplesFile;
    expect(samples.variants['svd-budget-30000']).toHaveLength(1);
    await expect(addVariant(out, { method: 'eora', rank: 500 })).rejects.toThrow(/rank 500 exceeds the stored decomposition/);
    await expect(addVariant(out, { method: 'eora', ranks: { nope: 1 } })).rejects.toThrow(/"nope" is not a linear/);
    await expect(addVariant(out, { method: 'scaled-svd', rank: 4 })).rejects.toThrow(/no scaled-svd decompositions/);
    await expect(addVariant(out, { method: 'eora' })).rejects.toThrow(/exactly one of rank, budget or ranks/);
  });
});

describe('results and listing', () => {
  it('the results table: deltas to original and compressed, significant by the paired 95 % test', async () => {
    const results = readRunResults(out);
    expect(results.columns.map((c) => c.key)).toEqual(['ppl:tinystories', 'acc:tinystories_cloze', 'acc_norm:tinystories_cloze', 'acc:arc_easy', 'acc_norm:arc_easy']);
    const o = metrics.variants.original.ppl.tinystories.ppl;
    const c = metrics.variants.compressed.ppl.tinystories.ppl;
    const row = results.variants.find((v) => v.name === 'eora-r8')!;
    const ppl = row.cells['ppl:tinystories'];
    expect(ppl.delta_original).toBeCloseTo(ppl.value! - o, 12);
    expect(ppl.delta_compressed).toBeCloseTo(ppl.value! - c, 12);
    // Perplexity: paired over the evaluation windows, se in ppl units = √(ppl·ppl_ref) · se(ΔNLL).
    const windowsOf = (name: string) => metrics.variants[name].ppl.tinystories.windows!;
    const seNll = pairedWindowStderr(windowsOf('eora-r8'), windowsOf('original'))!;
    expect(seNll).toBeGreaterThan(0);
    expect(ppl.stderr_delta_original).toBeCloseTo(Math.sqrt(ppl.value! * o) * seNll, 12);
    expect(ppl.significant_original).toBe(Math.abs(metrics.variants['eora-r8'].ppl.tinystories.nll - metrics.variants.original.ppl.tinystories.nll) > 1.96 * seNll);
    // By hand: 3 windows of 2, 2, 4 targets, d = (0.1, 0.3, 0.2): ΔNLL = (0.2 + 0.6 + 0.8)/8 = 0.2,
    // Σ n²(d − 0.2)² = 4·0.01 + 4·0.01 + 0 = 0.08, se = sqrt(3/2 · 0.08)/8 = sqrt(0.12)/8.
    expect(pairedWindowStderr({ tokens: [2, 2, 4], nll: [1.1, 1.3, 1.2] }, { tokens: [2, 2, 4], nll: [1, 1, 1] })).toBeCloseTo(Math.sqrt(0.12) / 8, 12);
    expect(pairedWindowStderr({ tokens: [2, 2], nll: [1, 1] }, { tokens: [2, 3], nll: [1, 1] })).toBeNull(); // different windows
    expect(results.variants[0].cells['ppl:tinystories'].delta_original).toBeNull(); // original vs itself

    // The fallback rule (no per-item results) on made-up entries: |0.9 − 0.5| = 0.4 vs 1.96·sqrt(0.1² + 0.1²) ≈ 0.277 → significant; 0.6 − 0.5 → not.
    const entry = (acc: number, se: number): VariantEntry => ({ name: 'x', method: null, rank: null, adapter: null, adapter_params: null, ppl: {}, tasks: { t: { acc, acc_norm: acc, stderr: { acc: se, acc_norm: se }, n: 10, truncated: 0, skipped: 0, seconds: 0 } } });
    const column = { key: 'acc:t', kind: 'acc' as const, source: 't', higher_is_better: true };
    expect(cellOf(column, entry(0.9, 0.1), entry(0.5, 0.1), entry(0.6, 0.1))).toMatchObject({ delta_original: expect.closeTo(0.4, 12), significant_original: true, delta_compressed: expect.closeTo(0.3, 12), significant_compressed: true });
    expect(cellOf(column, entry(0.6, 0.1), entry(0.5, 0.1), entry(0.6, 0.1))).toMatchObject({ significant_original: false, delta_compressed: 0, significant_compressed: false });
    // Paired over items when recorded: d = a − ref per item; se = sd(d)/√n.
    //   1111100000 vs 1111000000: d has one 1, mean 0.1, Σ(d − 0.1)² = 0.81 + 9·0.01 = 0.9, se = sqrt(0.9/9/10) = 0.1 → 0.1 is not significant.
    //   1111111111 vs 1111000000: six 1s, mean 0.6, Σ = 6·0.16 + 4·0.36 = 2.4, se = sqrt(2.4/90) ≈ 0.1633 → 0.6 > 1.96·se ≈ 0.32: significant.
    const items = (bits: string): VariantEntry => {
      const e = entry([...bits].filter((b) => b === '1').length / bits.length, 0.2);
      e.tasks.t.per_item = { acc: bits, acc_norm: bits };
      return e;
    };
    expect(pairedStderr('1111100000', '1111000000')).toBeCloseTo(0.1, 12);
    expect(cellOf(column, items('1111100000'), items('1111000000'), undefined)).toMatchObject({ stderr_delta_original: expect.closeTo(0.1, 12), significant_original: false, delta_compressed: null });
    expect(cellOf(column, items('1111111111'), items('1111000000'), items('1111111111'))).toMatchObject({ stderr_delta_original: expect.closeTo(Math.sqrt(2.4 / 90), 12), significant_original: true, significant_compressed: false });
    for (const v of Object.values(metrics.variants)) {
      const t = v.tasks.tinystories_cloze;
      expect(t.per_item!.acc).toMatch(/^[01]{8}$/);
      expect([...t.per_item!.acc_norm].filter((b) => b === '1').length).toBe(Math.round(t.acc_norm * 8));
    }

    const text = formatResultsTable(results);
    expect(text).toContain('perplexity ± SE (lower is better');
    expect(text).toMatch(new RegExp(`^eora-r8\\s+eora\\s+8\\s+38912\\s+${ppl.value!.toFixed(2)}\\s`, 'm'));
    expect(text).toContain('tinystories_cloze (n = 8 items, acc ± SE, higher is better)');
    const shown = await runCli(['show', out, '--json']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).variants.map((v: { name: string }) => v.name)).toContain('svd-budget-30000');
  });

  it('listRuns: corrupt and missing files are rows with the reason, never a crash', async () => {
    const runs = join(root, 'runs');
    mkdirSync(runs);
    cpSync(out, join(runs, 'good'), { recursive: true });
    mkdirSync(join(runs, 'torn'));
    writeFileSync(join(runs, 'torn', 'run.json'), '{"format": "eora-run", "mod');
    mkdirSync(join(runs, 'orphan'));
    writeFileSync(join(runs, 'orphan', 'metrics.json'), '{}');
    cpSync(out, join(runs, 'bad-metrics'), { recursive: true });
    writeFileSync(join(runs, 'bad-metrics', 'metrics.json'), '[1, 2');
    cpSync(out, join(runs, 'killed'), { recursive: true });
    const killed = RunFolder.open(join(runs, 'killed'));
    killed.manifest.stages.evaluate = { status: 'running' };
    killed.manifest.records.process = { pid: 2 ** 22 + 12345 }; // above Linux's pid_max: no such process
    killed.save();
    // Left 'running' by this very process, by an engine worker since replaced (hard cancel):
    // stopped, unless this engine is still working on it.
    cpSync(join(runs, 'killed'), join(runs, 'orphaned-here'), { recursive: true });
    const here = RunFolder.open(join(runs, 'orphaned-here'));
    here.manifest.records.process = { pid: process.pid };
    here.save();
    mkdirSync(join(runs, 'not-a-run'));

    const rows = Object.fromEntries(listRuns(runs).map((r) => [r.name, r]));
    expect(Object.keys(rows).sort()).toEqual(['bad-metrics', 'good', 'killed', 'orphan', 'orphaned-here', 'torn']);
    expect(rows['orphaned-here'].status).toBe('stopped');
    let release!: () => void;
    const holding = whileActive(join(runs, 'orphaned-here'), () => new Promise<void>((r) => (release = r)));
    expect(listRuns(runs).find((r) => r.name === 'orphaned-here')?.status).toBe('running');
    await expect(addVariant(join(runs, 'orphaned-here'), { method: 'eora', rank: 4 })).rejects.toThrow(/already working on this run/);
    release();
    await holding;
    expect(listRuns(runs).find((r) => r.name === 'orphaned-here')?.status).toBe('stopped');
    expect(rows.good).toMatchObject({ status: 'done', method: 'gptq:w3g32', model: expect.stringContaining('tinystories-656k') });
    expect(rows.torn).toMatchObject({ status: 'corrupt', error: expect.stringContaining(join(runs, 'torn', 'run.json')) });
    expect(rows.orphan).toMatchObject({ status: 'corrupt', error: expect.stringContaining('not a run folder (no run.json)') });
    expect(rows['bad-metrics']).toMatchObject({ status: 'corrupt', error: expect.stringContaining(join(runs, 'bad-metrics', 'metrics.json')) });
    expect(rows.killed.status).toBe('stopped');
    expect(listRuns(join(root, 'no-such-root'))).toEqual([]);

    const cli = await runCli(['runs', '--root', runs, '--json']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toHaveLength(6);
    expect((await runCli(['show', join(runs, 'bad-metrics')])).stderr).toContain('metrics.json');

    expect(() => deleteRun(join(runs, 'not-a-run'))).toThrow(/not a run folder/);
    deleteRun(join(runs, 'good'));
    expect(listRuns(runs).map((r) => r.name)).not.toContain('good');
  });

  it('defaultRunsRoot: EORA_RUNS_DIR, then the platform’s data folder', () => {
    expect(defaultRunsRoot({ EORA_RUNS_DIR: '/x/runs' }, 'linux', '/home/u')).toBe('/x/runs');
    expect(defaultRunsRoot({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u')).toBe('/data/eora-workbench/runs');
    expect(defaultRunsRoot({}, 'linux', '/home/u')).toBe('/home/u/.local/share/eora-workbench/runs');
    expect(defaultRunsRoot({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/eora-workbench/runs');
    expect(defaultRunsRoot({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(join('C:\\Users\\u\\AppData\\Roaming', 'eora-workbench', 'runs'));
  });
});

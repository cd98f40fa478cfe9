// Comparing runs, W&B-style: one summary row per run (experiment name, compression, the
// perplexity of the compressed model and of its best adapter variant, the gap it recovers),
// A − B deltas per variant and metric with their standard errors, and the config keys that
// differ. Across runs the test is unpaired — sqrt(se_A² + se_B²), conservative when the runs
// scored the same items — and says so; within a run the engine's paired test applies.
import type { MetricInfo, RunDetails } from '../../../app/contract/index.js';
import { Z95 } from './significance.js';
import { gapRecovered } from './results-table.js';

export interface RunSummaryRow {
  dir: string;
  name: string;
  experiment: string;
  status: string;
  method: string;
  created: string;
  /** The first perplexity text's key, when the run has one. */
  pplKey: string | null;
  original: number | null;
  compressed: number | null;
  best: { variant: string; value: number } | null;
  /** % of the compression gap the best adapter variant recovers. */
  gap: number | null;
}

export function experimentName(config: Record<string, unknown>): string {
  const experiment = config.experiment as { name?: unknown } | undefined;
  return typeof experiment?.name === 'string' ? experiment.name : typeof config.name === 'string' ? config.name : '';
}

export function summarize(run: RunDetails): RunSummaryRow {
  const pplKey = run.metrics.find((m) => m.key.startsWith('ppl:'))?.key ?? null;
  const value = (name: string) => (pplKey ? (run.variants.find((v) => v.name === name)?.metrics[pplKey]?.value ?? null) : null);
  const adapters = pplKey ? run.variants.filter((v) => v.adapter_params !== null && v.metrics[pplKey]) : [];
  const bestVariant = adapters.reduce<(typeof adapters)[number] | null>((b, v) => (b === null || v.metrics[pplKey!].value < b.metrics[pplKey!].value ? v : b), null);
  const best = bestVariant ? { variant: bestVariant.name, value: bestVariant.metrics[pplKey!].value } : null;
  const [original, compressed] = [value('original'), value('compressed')];
  return {
    dir: run.dir,
    name: run.name,
    experiment: experimentName(run.config),
    status: run.status,
    method: run.method,
    created: run.created,
    pplKey,
    original,
    compressed,
    best,
    gap: best && original !== null && compressed !== null ? gapRecovered(best.value, compressed, original) : null,
  };
}

export type SortKey = 'name' | 'experiment' | 'method' | 'created' | 'compressed' | 'best' | 'gap';

export function sortRows(rows: readonly RunSummaryRow[], key: SortKey, descending: boolean): RunSummaryRow[] {
  const of = (r: RunSummaryRow): string | number | null => (key === 'best' ? (r.best?.value ?? null) : r[key]);
  return [...rows].sort((a, b) => {
    const [x, y] = [of(a), of(b)];
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1; // missing values last either way
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
}

export interface DeltaCell {
  a: number;
  b: number;
  delta: number;
  /** sqrt(se_a² + se_b²); null when either lacks a standard error. */
  stderr: number | null;
  significant: boolean | null;
}

/** other − base for every variant and metric both runs have. */
export function runDeltas(base: RunDetails, other: RunDetails): { metrics: MetricInfo[]; variants: string[]; cells: Record<string, Record<string, DeltaCell>> } {
  const metrics = base.metrics.filter((m) => other.metrics.some((o) => o.key === m.key));
  const variants = base.variants.map((v) => v.name).filter((n) => other.variants.some((v) => v.name === n));
  const cells: Record<string, Record<string, DeltaCell>> = {};
  for (const name of variants) {
    const [x, y] = [base.variants.find((v) => v.name === name)!, other.variants.find((v) => v.name === name)!];
    cells[name] = {};
    for (const m of metrics) {
      const [a, b] = [x.metrics[m.key], y.metrics[m.key]];
      if (!a || !b) continue;
      const delta = b.value - a.value;
      const stderr = a.stderr !== undefined && b.stderr !== undefined ? Math.sqrt(a.stderr ** 2 + b.stderr ** 2) : null;
      cells[name][m.key] = { a: a.value, b: b.value, delta, stderr, significant: stderr === null ? null : delta !== 0 && Math.abs(delta) > Z95 * stderr };
    }
  }
  return { metrics, variants, cells };
}

/** {"compress.bits": "3", …}: leaves of a config as dotted paths with JSON values. */
export function flatten(value: unknown, prefix = ''): Record<string, string> {
  if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null))) return { [prefix || '(config)']: JSON.stringify(value) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

/** The config paths whose values differ between the runs (absent = "—"), sorted by path. */
export function configDiff(configs: readonly Record<string, unknown>[]): { path: string; values: string[] }[] {
  const flat = configs.map((c) => flatten(c));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return paths.map((path) => ({ path, values: flat.map((f) => f[path] ?? '—') })).filter((row) => new Set(row.values).size > 1);
}

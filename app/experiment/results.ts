// The results table of a run: each metric per variant, its difference to the original and to
// the compressed model, and whether that difference exceeds its standard error.
//
// Standard errors: a task's acc/acc_norm carry the standard error of their mean (lm-eval's
// mean_stderr). Every variant answers the same items, so the difference of two variants is
// judged paired: d_i = c_i − c_ref,i per item (c = 1 when answered right), and the difference
// is marked when |mean d| > sd(d)/√n (sample sd, n − 1), the standard error of the mean
// difference. Without per-item results (older runs) the fallback is sqrt(se² + se_ref²), the
// standard error of a difference of two independent means (conservative for the same items).
// Perplexity: the evaluation windows are the paired units (tokens within a window are not
// independent). With per-window mean NLLs m_w and m_ref,w over n_w targets, ΔNLL = Σ n_w·d_w / N
// (d_w = m_w − m_ref,w) and se(ΔNLL) = sqrt(W/(W−1) · Σ n_w²·(d_w − ΔNLL)²) / N — the usual
// cluster (ratio-estimator) standard error. The perplexity difference is marked when
// |ΔNLL| > se(ΔNLL); its standard error in perplexity units is ppl·se(ΔNLL) (delta method,
// d ppl = ppl·d NLL). Runs without per-window NLLs (older metrics.json) get no test.
import { readMetricsFile, type EvalSetup, type RunMetrics, type VariantEntry } from '../run/metrics.js';
import { RunFolder } from '../run/run.js';
import { SAMPLES_FILE, type SamplesFile } from './evaluate.js';
import { statusOf, type RunStatus } from './runs.js';

export interface MetricColumn {
  /** `ppl:validation`, `acc:arc_easy`, `acc_norm:arc_easy`. */
  key: string;
  kind: 'ppl' | 'acc' | 'acc_norm';
  /** The text or task name. */
  source: string;
  higher_is_better: boolean;
}

export interface MetricCell {
  value: number | null;
  stderr: number | null;
  delta_original: number | null;
  delta_compressed: number | null;
  /** Standard error of each difference (paired over items or evaluation windows; see the header); null when not recorded. */
  stderr_delta_original: number | null;
  stderr_delta_compressed: number | null;
  /** |delta| > its standard error (for perplexity: |ΔNLL| > se(ΔNLL)); null when there is none or no reference. */
  beyond_stderr_original: boolean | null;
  beyond_stderr_compressed: boolean | null;
}

export interface VariantRow {
  name: string;
  method: string | null;
  rank: number | 'budget' | null;
  adapter_params: number | null;
  cells: Record<string, MetricCell>;
}

export interface RunResults {
  run: string;
  status: RunStatus;
  model: string;
  compression: string | null;
  eval: EvalSetup | null;
  columns: MetricColumn[];
  variants: VariantRow[];
  samples: SamplesFile | null;
  notes: string[];
}

export const STDERR_NOTE =
  'a difference is marked * when it exceeds its standard error, paired: over the same items for tasks (sd of the per-item differences / √n), over the same evaluation windows for perplexity (cluster standard error of the NLL difference)';

export function readRunResults(dir: string): RunResults {
  const run = RunFolder.open(dir);
  const metrics = readMetricsFile(run.dir);
  const columns = columnsOf(metrics);
  const ref = (name: string) => metrics.variants[name];
  const variants = Object.values(metrics.variants).map((v): VariantRow => ({
    name: v.name,
    method: v.method,
    rank: v.rank,
    adapter_params: v.adapter_params,
    cells: Object.fromEntries(columns.map((c) => [c.key, cellOf(c, v, ref('original'), ref('compressed'))])),
  }));
  return {
    run: run.dir,
    status: statusOf(run).status,
    model: run.manifest.model.path,
    compression: metrics.compression,
    eval: metrics.eval,
    columns,
    variants,
    samples: run.readJson<SamplesFile>(SAMPLES_FILE) ?? null,
    notes: [STDERR_NOTE],
  };
}

function columnsOf(metrics: RunMetrics): MetricColumn[] {
  const texts = metrics.eval?.perplexity.map((t) => t.name) ?? [];
  const tasks = metrics.eval?.tasks.map((t) => t.name) ?? [];
  return [
    ...texts.map((t) => ({ key: `ppl:${t}`, kind: 'ppl' as const, source: t, higher_is_better: false })),
    ...tasks.flatMap((t) => (['acc', 'acc_norm'] as const).map((kind) => ({ key: `${kind}:${t}`, kind, source: t, higher_is_better: true }))),
  ];
}

interface Measured {
  value: number | null;
  stderr: number | null;
  /** '1'/'0' per item, when recorded. */
  items: string | null;
  /** Perplexity: NLL and per-window NLLs, when recorded. */
  nll?: { mean: number; windows?: { tokens: number[]; nll: number[] } };
}

function valueOf(column: MetricColumn, v: VariantEntry | undefined): Measured {
  if (!v) return { value: null, stderr: null, items: null };
  if (column.kind === 'ppl') {
    const p = v.ppl[column.source];
    return p ? { value: p.ppl, stderr: null, items: null, nll: { mean: p.nll, windows: p.windows } } : { value: null, stderr: null, items: null };
  }
  const t = v.tasks[column.source];
  if (!t) return { value: null, stderr: null, items: null };
  const se = t.stderr[column.kind];
  return { value: t[column.kind], stderr: typeof se === 'number' && Number.isFinite(se) ? se : null, items: t.per_item?.[column.kind] ?? null };
}

/** sd(d)/√n of d_i = a_i − b_i over paired 0/1 items (sample sd, n − 1); null when n < 2. */
export function pairedStderr(a: string, b: string): number | null {
  const n = a.length;
  if (n !== b.length || n < 2) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Number(a[i] === '1') - Number(b[i] === '1');
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (Number(a[i] === '1') - Number(b[i] === '1') - mean) ** 2;
  return Math.sqrt(squares / (n - 1) / n);
}

/** se(ΔNLL) over paired evaluation windows (see the header); null unless both have the same W ≥ 2 windows. */
export function pairedWindowStderr(a: { tokens: number[]; nll: number[] }, b: { tokens: number[]; nll: number[] }): number | null {
  const W = a.nll.length;
  if (W < 2 || b.nll.length !== W || a.tokens.length !== W || b.tokens.some((t, w) => t !== a.tokens[w])) return null;
  const N = a.tokens.reduce((x, y) => x + y, 0);
  let delta = 0;
  for (let w = 0; w < W; w++) delta += a.tokens[w] * (a.nll[w] - b.nll[w]);
  delta /= N;
  let squares = 0;
  for (let w = 0; w < W; w++) squares += (a.tokens[w] * (a.nll[w] - b.nll[w] - delta)) ** 2;
  return Math.sqrt((W / (W - 1)) * squares) / N;
}

export function cellOf(column: MetricColumn, v: VariantEntry, original: VariantEntry | undefined, compressed: VariantEntry | undefined): MetricCell {
  const own = valueOf(column, v);
  const versus = (ref: VariantEntry | undefined) => {
    const r = valueOf(column, ref);
    if (own.value === null || r.value === null || ref === v) return { delta: null, se: null, beyond: null };
    const delta = own.value - r.value;
    if (column.kind === 'ppl') {
      const seNll = own.nll?.windows && r.nll?.windows ? pairedWindowStderr(own.nll.windows, r.nll.windows) : null;
      if (seNll === null) return { delta, se: null, beyond: null };
      return { delta, se: own.value * seNll, beyond: Math.abs(own.nll!.mean - r.nll!.mean) > seNll };
    }
    const se = own.items !== null && r.items !== null ? pairedStderr(own.items, r.items) : own.stderr !== null && r.stderr !== null ? Math.sqrt(own.stderr ** 2 + r.stderr ** 2) : null;
    // Equal answers on every item: no difference at all, so none beyond its (zero) error.
    return { delta, se, beyond: se === null ? null : Math.abs(delta) > se && delta !== 0 };
  };
  const o = versus(original);
  const c = versus(compressed);
  return {
    value: own.value,
    stderr: own.stderr,
    delta_original: o.delta,
    delta_compressed: c.delta,
    stderr_delta_original: o.se,
    stderr_delta_compressed: c.se,
    beyond_stderr_original: o.beyond,
    beyond_stderr_compressed: c.beyond,
  };
}

/** The plain-text tables of `eora show`: perplexity, then one table per task. */
export function formatResultsTable(results: RunResults): string {
  const lines: string[] = [`${results.run}  (${results.status}; ${results.compression ?? 'no compression recorded'})`];
  const head = ['variant', 'method', 'rank', 'params'];
  const ident = (v: VariantRow) => [v.name, v.method ?? '-', v.rank === null ? '-' : String(v.rank), v.adapter_params === null ? '-' : String(v.adapter_params)];
  const signed = (x: number | null, digits: number) => (x === null ? '-' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`);
  const mark = (b: boolean | null) => (b ? '*' : '');
  const pplColumns = results.columns.filter((c) => c.kind === 'ppl');
  if (pplColumns.length) {
    const rows = results.variants.map((v) => [
      ...ident(v),
      ...pplColumns.flatMap((c) => {
        const cell = v.cells[c.key];
        return [cell.value === null ? '-' : cell.value.toFixed(2), signed(cell.delta_original, 2) + mark(cell.beyond_stderr_original), signed(cell.delta_compressed, 2) + mark(cell.beyond_stderr_compressed)];
      }),
    ]);
    lines.push('', 'perplexity (lower is better)', ...table([...head, ...pplColumns.flatMap((c) => [`ppl ${c.source}`, 'Δ orig', 'Δ comp'])], rows));
  }
  const tasks = [...new Set(results.columns.filter((c) => c.kind !== 'ppl').map((c) => c.source))];
  for (const task of tasks) {
    const n = results.eval?.tasks.find((t) => t.name === task)?.n;
    const rows = results.variants.map((v) => [
      ...ident(v),
      ...(['acc', 'acc_norm'] as const).flatMap((kind) => {
        const cell = v.cells[`${kind}:${task}`];
        const value = cell.value === null ? '-' : `${cell.value.toFixed(3)}${cell.stderr !== null ? ` ±${cell.stderr.toFixed(3)}` : ''}`;
        return [value, signed(cell.delta_original, 3) + mark(cell.beyond_stderr_original), signed(cell.delta_compressed, 3) + mark(cell.beyond_stderr_compressed)];
      }),
    ]);
    lines.push('', `${task} (n = ${n ?? '?'}, higher is better)`, ...table([...head, 'acc', 'Δ orig', 'Δ comp', 'acc_norm', 'Δ orig', 'Δ comp'], rows));
  }
  lines.push('', `* ${STDERR_NOTE}`);
  return lines.join('\n');
}

/** Left-aligned first column, right-aligned numbers. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

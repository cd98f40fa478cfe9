// The results table of a run: each metric per variant, its difference to the original and to
// the compressed model, and whether that difference is significant by a stated test.
//
// The test: paired, two-sided, 95 %: a difference is significant when |Δ| > 1.96·SE(Δ), SE of
// the paired difference as below (normal approximation; equivalently, the ±1.96·SE interval
// excludes 0). The rule is symmetric: compressed vs original and original vs compressed give the
// same verdict. One paired SE alone (p ≈ 0.32) would star a single flipped item out of 20.
//
// Standard errors: a task's acc/acc_norm carry the standard error of their mean (lm-eval's
// mean_stderr). Every variant answers the same items, so the difference of two variants is
// judged paired: d_i = c_i − c_ref,i per item (c = 1 when answered right), and the difference
// is judged with SE = sd(d)/√n (sample sd, n − 1), the standard error of the mean
// difference. Without per-item results (older runs) the fallback is sqrt(se² + se_ref²), the
// standard error of a difference of two independent means (conservative for the same items).
// Perplexity: the evaluation windows are the paired units (tokens within a window are not
// independent). With per-window mean NLLs m_w and m_ref,w over n_w targets, ΔNLL = Σ n_w·d_w / N
// (d_w = m_w − m_ref,w) and se(ΔNLL) = sqrt(W/(W−1) · Σ n_w²·(d_w − ΔNLL)²) / N — the usual
// cluster (ratio-estimator) standard error. The perplexity difference is tested on the log
// scale, |ΔNLL| > 1.96·se(ΔNLL); its standard error in perplexity units is √(ppl·ppl_ref)·se(ΔNLL)
// (delta method at the geometric mean, so it is the same seen from either side). A perplexity's
// own SE is ppl·se(NLL), se(NLL) the cluster standard error of the mean NLL over windows. Runs
// without per-window NLLs (older metrics.json) get no test and no SE.
import { readMetricsJson } from '../run/files/metrics-json.js';
import { readSamplesJson, type SamplesFile } from '../run/files/samples-json.js';
import type { EvalSetup, RunMetrics, VariantEntry } from '../run/metrics.js';
import { RunFolder } from '../run/run.js';
import { statusOf, type RunStatus } from './runs.js';

export interface MetricColumn {
  /** `ppl:validation`, `acc:arc_easy`, `acc_norm:arc_easy`. */
  key: string;
  kind: 'ppl' | 'acc' | 'acc_norm';
  /** The text or task name. */
  source: string;
  higher_is_better: boolean;
  /** Paired units behind each standard error: task items, or perplexity evaluation windows; null when unknown. */
  n: number | null;
  unit: 'items' | 'windows';
}

export interface MetricCell {
  value: number | null;
  stderr: number | null;
  delta_original: number | null;
  delta_compressed: number | null;
  /** Standard error of each difference (paired over items or evaluation windows; see the header); null when not recorded. */
  stderr_delta_original: number | null;
  stderr_delta_compressed: number | null;
  /** |Δ| > 1.96·SE(Δ) (for perplexity: |ΔNLL| > 1.96·se(ΔNLL)); null when there is no SE or no reference. */
  significant_original: boolean | null;
  significant_compressed: boolean | null;
}

export interface PairedDelta {
  delta: number | null;
  stderr: number | null;
  significant: boolean | null;
}

export interface VariantRow {
  name: string;
  method: string | null;
  rank: number | 'budget' | null;
  adapter_params: number | null;
  cells: Record<string, MetricCell>;
  /** A non-SVD adapter against plain SVD at equal rank (else equal adapter parameters): this − svd, paired. */
  versus_svd: { variant: string; basis: 'rank' | 'params'; cells: Record<string, PairedDelta> } | null;
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

/** Two-sided 95 % normal quantile: the significance rule is |Δ| > Z95·SE(Δ). */
export const Z95 = 1.96;

/** The test, as stated to the reader (CLI footer, UI legend). */
export const SIGNIFICANCE_NOTE =
  '* significant by a paired two-sided test at 95 %: |Δ| > 1.96·SE of the paired difference — over the same n items for tasks (SE = sd of the per-item differences / √n), over the same n evaluation windows for perplexity (cluster SE of the NLL difference, tested on NLL)';

/** |delta| > Z95·se; an exact zero difference is never significant. */
export function isSignificant(delta: number, se: number | null): boolean | null {
  if (se === null || !Number.isFinite(se)) return null;
  return delta !== 0 && Math.abs(delta) > Z95 * se;
}

export function readRunResults(dir: string): RunResults {
  const run = RunFolder.open(dir);
  const metrics = readMetricsJson(run.dir);
  const columns = columnsOf(metrics);
  const ref = (name: string) => metrics.variants[name];
  const variants = Object.values(metrics.variants).map((v): VariantRow => ({
    name: v.name,
    method: v.method,
    rank: v.rank,
    adapter_params: v.adapter_params,
    cells: Object.fromEntries(columns.map((c) => [c.key, cellOf(c, v, ref('original'), ref('compressed'))])),
    versus_svd: versusSvd(columns, v, Object.values(metrics.variants)),
  }));
  return {
    run: run.dir,
    status: statusOf(run).status,
    model: run.manifest.model.path,
    compression: metrics.compression,
    eval: metrics.eval,
    columns,
    variants,
    samples: readSamplesJson(run.dir) ?? null,
    notes: [SIGNIFICANCE_NOTE],
  };
}

function columnsOf(metrics: RunMetrics): MetricColumn[] {
  const texts = metrics.eval?.perplexity.map((t) => t.name) ?? [];
  const tasks = metrics.eval?.tasks ?? [];
  // Windows per text: every variant is scored on the same windows; take the first that recorded them.
  const windowsOf = (text: string) => Object.values(metrics.variants).find((v) => v.ppl[text]?.windows)?.ppl[text].windows?.nll.length ?? null;
  return [
    ...texts.map((t) => ({ key: `ppl:${t}`, kind: 'ppl' as const, source: t, higher_is_better: false, n: windowsOf(t), unit: 'windows' as const })),
    ...tasks.flatMap((t) => (['acc', 'acc_norm'] as const).map((kind) => ({ key: `${kind}:${t.name}`, kind, source: t.name, higher_is_better: true, n: t.n, unit: 'items' as const }))),
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

function valueOf(column: Pick<MetricColumn, 'kind' | 'source'>, v: VariantEntry | undefined): Measured {
  if (!v) return { value: null, stderr: null, items: null };
  if (column.kind === 'ppl') {
    const p = v.ppl[column.source];
    if (!p) return { value: null, stderr: null, items: null };
    const seNll = p.windows ? windowMeanStderr(p.windows) : null;
    return { value: p.ppl, stderr: seNll === null ? null : p.ppl * seNll, items: null, nll: { mean: p.nll, windows: p.windows } };
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

/** Cluster standard error of the token-weighted mean NLL over W ≥ 2 windows; null otherwise. */
export function windowMeanStderr(w: { tokens: number[]; nll: number[] }): number | null {
  const W = w.nll.length;
  if (W < 2 || w.tokens.length !== W) return null;
  const N = w.tokens.reduce((x, y) => x + y, 0);
  let mean = 0;
  for (let i = 0; i < W; i++) mean += w.tokens[i] * w.nll[i];
  mean /= N;
  let squares = 0;
  for (let i = 0; i < W; i++) squares += (w.tokens[i] * (w.nll[i] - mean)) ** 2;
  return Math.sqrt((W / (W - 1)) * squares) / N;
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

/** The plain-SVD variant to set an adapter variant against: same rank first, else same adapter parameters. */
function versusSvd(columns: MetricColumn[], v: VariantEntry, all: VariantEntry[]): VariantRow['versus_svd'] {
  if (v.adapter_params === null || v.method === null || v.method === 'svd') return null;
  const svd = all.filter((s) => s.method === 'svd');
  const byRank = typeof v.rank === 'number' ? svd.find((s) => s.rank === v.rank) : undefined;
  const byParams = svd.find((s) => s.adapter_params === v.adapter_params);
  const match = byRank ?? byParams;
  if (!match) return null;
  return { variant: match.name, basis: byRank ? 'rank' : 'params', cells: Object.fromEntries(columns.map((c) => [c.key, pairedDelta(c, v, match)])) };
}

/** a − ref on one metric with the paired SE and the 95 % verdict (see the header). */
export function pairedDelta(column: Pick<MetricColumn, 'kind' | 'source'>, a: VariantEntry, ref: VariantEntry | undefined): PairedDelta {
  const own = valueOf(column, a);
  const r = valueOf(column, ref);
  if (own.value === null || r.value === null || ref === a) return { delta: null, stderr: null, significant: null };
  const delta = own.value - r.value;
  if (column.kind === 'ppl') {
    const seNll = own.nll?.windows && r.nll?.windows ? pairedWindowStderr(own.nll.windows, r.nll.windows) : null;
    if (seNll === null) return { delta, stderr: null, significant: null };
    return { delta, stderr: Math.sqrt(own.value * r.value) * seNll, significant: isSignificant(own.nll!.mean - r.nll!.mean, seNll) };
  }
  const se = own.items !== null && r.items !== null ? pairedStderr(own.items, r.items) : own.stderr !== null && r.stderr !== null ? Math.sqrt(own.stderr ** 2 + r.stderr ** 2) : null;
  // Equal answers on every item: no difference at all, so not significant (its SE is 0).
  return { delta, stderr: se, significant: isSignificant(delta, se) };
}

export function cellOf(column: Pick<MetricColumn, 'kind' | 'source'>, v: VariantEntry, original: VariantEntry | undefined, compressed: VariantEntry | undefined): MetricCell {
  const own = valueOf(column, v);
  const o = pairedDelta(column, v, original);
  const c = pairedDelta(column, v, compressed);
  return {
    value: own.value,
    stderr: own.stderr,
    delta_original: o.delta,
    delta_compressed: c.delta,
    stderr_delta_original: o.stderr,
    stderr_delta_compressed: c.stderr,
    significant_original: o.significant,
    significant_compressed: c.significant,
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
        const value = cell.value === null ? '-' : `${cell.value.toFixed(2)}${cell.stderr !== null ? ` ±${cell.stderr.toFixed(2)}` : ''}`;
        return [value, signed(cell.delta_original, 2) + mark(cell.significant_original), signed(cell.delta_compressed, 2) + mark(cell.significant_compressed)];
      }),
    ]);
    const windows = pplColumns.map((c) => `${c.source}: n = ${c.n ?? '?'} windows`).join(', ');
    lines.push('', `perplexity ± SE (lower is better; ${windows})`, ...table([...head, ...pplColumns.flatMap((c) => [`ppl ${c.source}`, 'Δ orig', 'Δ comp'])], rows));
  }
  const tasks = [...new Set(results.columns.filter((c) => c.kind !== 'ppl').map((c) => c.source))];
  for (const task of tasks) {
    const n = results.eval?.tasks.find((t) => t.name === task)?.n;
    const rows = results.variants.map((v) => [
      ...ident(v),
      ...(['acc', 'acc_norm'] as const).flatMap((kind) => {
        const cell = v.cells[`${kind}:${task}`];
        const value = cell.value === null ? '-' : `${cell.value.toFixed(3)}${cell.stderr !== null ? ` ±${cell.stderr.toFixed(3)}` : ''}`;
        return [value, signed(cell.delta_original, 3) + mark(cell.significant_original), signed(cell.delta_compressed, 3) + mark(cell.significant_compressed)];
      }),
    ]);
    lines.push('', `${task} (n = ${n ?? '?'} items, acc ± SE, higher is better)`, ...table([...head, 'acc', 'Δ orig', 'Δ comp', 'acc_norm', 'Δ orig', 'Δ comp'], rows));
  }
  lines.push('', SIGNIFICANCE_NOTE);
  return lines.join('\n');
}

/** Left-aligned first column, right-aligned numbers. */
function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

// The paper-ready results table: one row per variant with its size, every perplexity and task
// accuracy ± standard error, the deltas of one chosen metric to the compressed model and the
// original, the share of the compression gap recovered, and EoRA − SVD; rendered for the
// screen, Markdown, LaTeX (booktabs) and CSV (full precision). Values and verdicts come from
// the engine (app/experiment/results.ts); this file only arranges and formats them.
import type { MetricInfo, VariantResult } from '../../../app/contract/index.js';
import { toCsv } from './csv.js';
import { metricDecimals } from './format.js';

/** A number as a cell: value ± se, signed for deltas, starred when significant. */
export interface NumberCell {
  kind: 'number';
  value: number;
  se?: number;
  digits: number;
  signed?: boolean;
  significant?: boolean;
  percent?: boolean;
}
export type PaperCell = NumberCell | { kind: 'text'; text: string } | { kind: 'none' };

export interface PaperColumn {
  id: string;
  /** Header on screen and in Markdown. */
  label: string;
  /** The CSV columns this one expands to (value, se, significant, …). */
  csv: string[];
}

export interface PaperRow {
  variant: string;
  cells: PaperCell[];
  /** Full-precision CSV fields, in the order of the columns' `csv` lists. */
  csv: (string | number)[];
}

export interface PaperTable {
  columns: PaperColumn[];
  rows: PaperRow[];
  /** The metric the Δ, gap and EoRA − SVD columns are about. */
  primary: MetricInfo;
  caption: string;
}

export interface PaperTableInput {
  metrics: MetricInfo[];
  variants: VariantResult[];
  /** Σ out·in over the model's linears: the base of "% params". */
  linearParams: number;
  /** Metric key for the Δ columns; default the first perplexity (else the first metric). */
  primary?: string;
}

const none: PaperCell = { kind: 'none' };
const text = (t: string): PaperCell => ({ kind: 'text', text: t });
const csvNum = (x: number | undefined | null) => (x === undefined || x === null || !Number.isFinite(x) ? '' : x);
const csvBool = (x: boolean | undefined) => (x === undefined ? '' : x ? 'true' : 'false');

/** Which metrics get a value column: every perplexity, and acc (not acc_norm) per task. */
export function tableMetrics(metrics: MetricInfo[]): MetricInfo[] {
  return metrics.filter((m) => !m.key.startsWith('acc_norm:'));
}

/** Compression gap recovered, in %: (m_compressed − m_variant) / (m_compressed − m_original). */
export function gapRecovered(variant: number, compressed: number, original: number): number | null {
  const gap = compressed - original;
  return gap === 0 ? null : (100 * (compressed - variant)) / gap;
}

export function buildPaperTable(input: PaperTableInput): PaperTable {
  const shown = tableMetrics(input.metrics);
  const primary = input.metrics.find((m) => m.key === input.primary) ?? input.metrics.find((m) => m.key.startsWith('ppl:')) ?? input.metrics[0];
  const d = primary ? metricDecimals(primary.key) : 3;
  const short = primary ? shortLabel(primary) : '';
  const columns: PaperColumn[] = [
    { id: 'variant', label: 'Variant', csv: ['variant'] },
    { id: 'method', label: 'Method', csv: ['method'] },
    { id: 'rank', label: 'Rank', csv: ['rank'] },
    { id: 'params', label: 'Adapter params', csv: ['adapter_params'] },
    { id: 'params_pct', label: '% params', csv: ['adapter_params_pct'] },
    ...shown.map((m) => ({ id: m.key, label: shortLabel(m), csv: [m.key, `${m.key}_se`] })),
    { id: 'delta_compressed', label: `Δ comp. (${short})`, csv: ['delta_compressed', 'delta_compressed_se', 'delta_compressed_significant'] },
    { id: 'delta_original', label: `Δ orig. (${short})`, csv: ['delta_original', 'delta_original_se', 'delta_original_significant'] },
    { id: 'gap', label: 'Gap recovered', csv: ['gap_recovered_pct'] },
    { id: 'versus_svd', label: `EoRA − SVD (${short})`, csv: ['versus_svd_variant', 'versus_svd_delta', 'versus_svd_se', 'versus_svd_significant'] },
  ];
  const original = input.variants.find((v) => v.name === 'original');
  const compressed = input.variants.find((v) => v.name === 'compressed');
  const rows = input.variants.map((v): PaperRow => {
    const cells: PaperCell[] = [];
    const csv: (string | number)[] = [];
    const isAdapter = v.adapter_params !== null && v.adapter_params !== undefined;
    cells.push(text(v.name), text(v.method ?? '—'), v.rank !== null ? text(String(v.rank)) : isAdapter ? text('alloc.') : none);
    csv.push(v.name, v.method ?? '', v.rank ?? (isAdapter ? 'budget' : ''));
    if (isAdapter) {
      const pct = input.linearParams > 0 ? (100 * v.adapter_params!) / input.linearParams : null;
      cells.push({ kind: 'number', value: v.adapter_params!, digits: 0 }, pct === null ? none : { kind: 'number', value: pct, digits: 2, percent: true });
      csv.push(v.adapter_params!, csvNum(pct));
    } else {
      cells.push(none, none);
      csv.push('', '');
    }
    for (const m of shown) {
      const c = v.metrics[m.key];
      cells.push(c ? { kind: 'number', value: c.value, se: c.stderr, digits: metricDecimals(m.key) } : none);
      csv.push(csvNum(c?.value), csvNum(c?.stderr));
    }
    const p = primary ? v.metrics[primary.key] : undefined;
    for (const [delta, se, sig] of [
      [p?.delta_compressed, p?.stderr_delta_compressed, p?.significant_compressed],
      [p?.delta_original, p?.stderr_delta_original, p?.significant_original],
    ] as const) {
      cells.push(delta === undefined ? none : { kind: 'number', value: delta, digits: d, signed: true, significant: sig });
      csv.push(csvNum(delta), csvNum(se), csvBool(sig));
    }
    const o = primary ? original?.metrics[primary.key]?.value : undefined;
    const k = primary ? compressed?.metrics[primary.key]?.value : undefined;
    const gap = isAdapter && p && o !== undefined && k !== undefined ? gapRecovered(p.value, k, o) : null;
    cells.push(gap === null ? none : { kind: 'number', value: gap, digits: 1, percent: true });
    csv.push(csvNum(gap));
    const vs = primary ? v.versus_svd?.metrics[primary.key] : undefined;
    cells.push(vs ? { kind: 'number', value: vs.delta, digits: d, signed: true, significant: vs.significant } : none);
    csv.push(vs ? v.versus_svd!.variant : '', csvNum(vs?.delta), csvNum(vs?.stderr), csvBool(vs?.significant));
    return { variant: v.name, cells, csv };
  });
  const caption = primary
    ? `Δ, gap recovered and EoRA − SVD on ${primary.label}; gap recovered = (compressed − variant) / (compressed − original). EoRA − SVD: the row's method minus plain SVD at the same rank (else the same adapter parameters). % params: adapter parameters over the compressed linears' weights. ± standard error; * significant by a paired two-sided test at 95 % (|Δ| > 1.96·SE of the paired difference).`
    : 'No metrics.';
  return { columns, rows, primary, caption };
}

/** "ppl tinystories", "cloze acc". */
function shortLabel(m: MetricInfo): string {
  const [kind, source] = [m.key.slice(0, m.key.indexOf(':')), m.key.slice(m.key.indexOf(':') + 1)];
  return kind === 'ppl' ? `PPL ${source}` : `${source} ${kind}`;
}

type Dialect = 'screen' | 'markdown' | 'latex';

/** A cell as text in one dialect: minus signs, ±, stars and % spelled as each expects. */
export function cellText(cell: PaperCell, dialect: Dialect): string {
  if (cell.kind === 'none') return dialect === 'latex' ? '--' : '—';
  if (cell.kind === 'text') return dialect === 'latex' ? latexEscape(cell.text) : dialect === 'markdown' ? cell.text.replaceAll('|', '\\|') : cell.text;
  const minus = dialect === 'screen' ? '\u2212' : dialect === 'latex' ? '$-$' : '-';
  const fixed = (x: number) => {
    const t = Math.abs(x).toFixed(cell.digits);
    const zero = Number(t) === 0;
    const grouped = cell.digits === 0 ? Number(t).toLocaleString('en-US').replaceAll(',', dialect === 'latex' ? '{,}' : ',') : t;
    return (x < 0 && !zero ? minus : cell.signed && x > 0 && !zero ? '+' : '') + grouped;
  };
  let out = fixed(cell.value);
  if (cell.se !== undefined) out += dialect === 'latex' ? ` $\\pm$ ${Math.abs(cell.se).toFixed(cell.digits)}` : ` ± ${Math.abs(cell.se).toFixed(cell.digits)}`;
  if (cell.percent) out += dialect === 'latex' ? '\\%' : ' %';
  if (cell.significant) out += dialect === 'latex' ? '$^{*}$' : dialect === 'markdown' ? '\\*' : '*';
  return out;
}

function latexEscape(s: string): string {
  return s.replace(/[\\&%$#_{}~^]/g, (c) => (c === '\\' ? '\\textbackslash{}' : c === '~' ? '\\textasciitilde{}' : c === '^' ? '\\textasciicircum{}' : `\\${c}`)).replaceAll('—', '--').replaceAll('−', '$-$').replaceAll('Δ', '$\\Delta$').replaceAll('±', '$\\pm$');
}

export function toMarkdown(table: PaperTable): string {
  const head = table.columns.map((c) => c.label.replaceAll('|', '\\|'));
  const align = table.columns.map((_, i) => (i < 2 ? '---' : '---:'));
  const rows = table.rows.map((r) => r.cells.map((c) => cellText(c, 'markdown')));
  return [head, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n') + `\n\n${table.caption}\n`;
}

export function toLatex(table: PaperTable): string {
  const spec = table.columns.map((_, i) => (i < 2 ? 'l' : 'r')).join('');
  const head = table.columns.map((c) => latexEscape(c.label)).join(' & ');
  const rows = table.rows.map((r) => r.cells.map((c) => cellText(c, 'latex')).join(' & ') + ' \\\\');
  return [
    '% \\usepackage{booktabs}',
    '\\begin{table}[t]',
    '\\centering',
    '\\small',
    `\\begin{tabular}{${spec}}`,
    '\\toprule',
    `${head} \\\\`,
    '\\midrule',
    ...rows,
    '\\bottomrule',
    '\\end{tabular}',
    `\\caption{${latexEscape(table.caption)}}`,
    '\\end{table}',
    '',
  ].join('\n');
}

/** Full precision: numbers as JavaScript writes them (they round-trip), one column per value and SE. */
export function toPaperCsv(table: PaperTable): string {
  return toCsv({ header: table.columns.flatMap((c) => c.csv), rows: table.rows.map((r) => r.csv) });
}

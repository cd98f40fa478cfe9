import { describe, expect, it } from 'vitest';
import type { MetricInfo, VariantResult } from '../../../app/contract/index.js';
import { buildPaperTable, cellText, gapRecovered, toLatex, toMarkdown, toPaperCsv } from './results-table.js';

const metrics: MetricInfo[] = [
  { key: 'ppl:tiny', label: 'perplexity (tiny)', lowerIsBetter: true, n: 10, unit: 'windows' },
  { key: 'acc:cloze', label: 'cloze acc', lowerIsBetter: false, n: 100, unit: 'items' },
  { key: 'acc_norm:cloze', label: 'cloze acc_norm', lowerIsBetter: false, n: 100, unit: 'items' },
];
const variants: VariantResult[] = [
  { name: 'original', method: null, rank: null, adapter_params: null, metrics: { 'ppl:tiny': { value: 40, stderr: 2, delta_compressed: -10, stderr_delta_compressed: 1, significant_compressed: true }, 'acc:cloze': { value: 0.6, stderr: 0.049 } } },
  { name: 'compressed', method: 'gptq:w3g32', rank: null, adapter_params: null, metrics: { 'ppl:tiny': { value: 50, stderr: 2.5, delta_original: 10, stderr_delta_original: 1, significant_original: true }, 'acc:cloze': { value: 0.54, stderr: 0.05 } } },
  { name: 'svd-r8', method: 'svd', rank: 8, adapter_params: 2912, metrics: { 'ppl:tiny': { value: 47.5, stderr: 2.4, delta_compressed: -2.5, stderr_delta_compressed: 0.5, significant_compressed: true, delta_original: 7.5 } } },
  {
    name: 'eora-r8_x', method: 'eora', rank: 8, adapter_params: 2912, metrics: { 'ppl:tiny': { value: 45.123456, stderr: 2.2, delta_compressed: -4.876544, stderr_delta_compressed: 3, significant_compressed: false, delta_original: 5.123456 } },
    versus_svd: { variant: 'svd-r8', basis: 'rank', metrics: { 'ppl:tiny': { delta: -2.376544, stderr: 1, significant: true } } },
  },
  { name: 'eora-budget-3000', method: 'eora', rank: null, adapter_params: 3000, metrics: {} },
];

describe('paper-ready results table', () => {
  const table = buildPaperTable({ metrics, variants, linearParams: 64 * 64 + 64 * 172 });

  it('has a column per perplexity and per task acc (not acc_norm), the deltas of the primary metric', () => {
    expect(table.primary.key).toBe('ppl:tiny');
    expect(table.columns.map((c) => c.id)).toEqual(['variant', 'method', 'rank', 'params', 'params_pct', 'ppl:tiny', 'acc:cloze', 'delta_compressed', 'delta_original', 'gap', 'versus_svd']);
  });

  it('gap recovered: (compressed − variant) / (compressed − original), 100 % at the original', () => {
    expect(gapRecovered(45, 50, 40)).toBeCloseTo(50, 12);
    expect(gapRecovered(40, 50, 40)).toBeCloseTo(100, 12);
    expect(gapRecovered(1, 1, 1)).toBeNull();
  });

  it('Markdown: ± SE, signed deltas, escaped stars, percentages, "—" for nothing', () => {
    const md = toMarkdown(table).split('\n');
    expect(md[0]).toBe('| Variant | Method | Rank | Adapter params | % params | PPL tiny | cloze acc | Δ comp. (PPL tiny) | Δ orig. (PPL tiny) | Gap recovered | EoRA − SVD (PPL tiny) |');
    expect(md[2]).toBe('| original | — | — | — | — | 40.00 ± 2.00 | 0.600 ± 0.049 | -10.00\\* | — | — | — |');
    // 2912 / 15104 = 19.28 %; gap (50 − 45.123456)/10 = 48.8 %.
    expect(md[5]).toBe('| eora-r8_x | eora | 8 | 2,912 | 19.28 % | 45.12 ± 2.20 | — | -4.88 | +5.12 | 48.8 % | -2.38\\* |');
    expect(md[6]).toContain('| eora-budget-3000 | eora | alloc. | 3,000 |');
  });

  it('LaTeX: booktabs, escaped underscores, $-$ and $\\pm$, starred as a superscript', () => {
    const tex = toLatex(table);
    expect(tex).toContain('\\begin{tabular}{llrrrrrrrrr}');
    expect(tex).toContain('eora-r8\\_x & eora & 8 & 2{,}912 & 19.28\\% & 45.12 $\\pm$ 2.20 & -- & $-$4.88 & +5.12 & 48.8\\% & $-$2.38$^{*}$ \\\\');
    expect(tex).toContain('gptq:w3g32');
  });

  it('CSV: full precision numbers that round-trip, one column per value, SE and verdict', () => {
    const [head, , , , eora] = toPaperCsv(table).trim().split('\r\n');
    const h = head.split(',');
    const row = eora.split(',');
    const at = (name: string) => row[h.indexOf(name)];
    expect(Number(at('ppl:tiny'))).toBe(45.123456);
    expect(Number(at('ppl:tiny_se'))).toBe(2.2);
    expect(Number(at('delta_compressed'))).toBe(-4.876544);
    expect(at('delta_compressed_significant')).toBe('false');
    expect(at('versus_svd_variant')).toBe('svd-r8');
    expect(Number(at('adapter_params_pct'))).toBeCloseTo((100 * 2912) / 15104, 12);
  });

  it('screen text uses a real minus sign', () => {
    expect(cellText({ kind: 'number', value: -1.5, digits: 2, signed: true, significant: true }, 'screen')).toBe('\u22121.50*');
  });
});

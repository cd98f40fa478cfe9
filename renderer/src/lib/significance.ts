// How the significance rule is stated on screen. The verdicts come from the engine
// (app/experiment/results.ts): a paired, two-sided test at 95 %, |Δ| > 1.96·SE of the paired
// difference. The UI only says so, with the number of paired units behind each metric.
import type { MetricInfo } from '../../../app/contract/index.js';

/** Two-sided 95 % normal quantile (the engine's Z95). */
export const Z95 = 1.96;

/** "n = 400 items (tinystories_cloze), 10 windows (perplexity (tinystories))". */
export function pairedUnits(metrics: Pick<MetricInfo, 'key' | 'label' | 'n' | 'unit'>[]): string {
  const seen = new Map<string, string>();
  for (const m of metrics) {
    const source = m.key.slice(m.key.indexOf(':') + 1);
    const what = m.unit === 'windows' ? `perplexity ${source}` : source;
    if (!seen.has(what)) seen.set(what, `${m.n ?? '?'} ${m.unit} (${what})`);
  }
  return [...seen.values()].join(', ');
}

/** The legend under every table and chart that shows stars. */
export function significanceLegend(metrics: Pick<MetricInfo, 'key' | 'label' | 'n' | 'unit'>[]): string {
  return `* significant by a paired two-sided test at 95 %: |Δ| > 1.96·SE of the paired difference (perplexity tested on NLL); n = ${pairedUnits(metrics)}.`;
}

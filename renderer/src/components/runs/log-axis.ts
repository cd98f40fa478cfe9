// The log y axis every spectrum chart uses: ticks at powers of ten only, written 1e-7 / 0.01
// (chart.js's default prints 0.00000010), and a title.
import type { ScaleOptions } from 'chart.js';
import { logTickLabel } from '../../lib/spectrum.js';

export function logAxis(title: string): ScaleOptions<'logarithmic'> {
  return {
    type: 'logarithmic',
    title: { display: true, text: title },
    // 2 and 5 × 10^k are labelled only on a short axis; a long one would crowd them.
    ticks: {
      callback: (value, _index, ticks) => {
        const values = ticks.map((t) => t.value).filter((v) => v > 0);
        return logTickLabel(Number(value), Math.log10(Math.max(...values) / Math.min(...values)));
      },
      autoSkip: false,
    },
  } as ScaleOptions<'logarithmic'>;
}

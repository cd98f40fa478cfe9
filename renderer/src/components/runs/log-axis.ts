// The log y axis every spectrum chart uses: ticks at powers of ten only, written 1e-7 / 0.01
// (chart.js's default prints 0.00000010), and a title.
import type { ScaleOptions } from 'chart.js';
import { logTickLabel } from '../../lib/spectrum.js';

export function logAxis(title: string): ScaleOptions<'logarithmic'> {
  return {
    type: 'logarithmic',
    title: { display: true, text: title },
    ticks: { callback: (value) => logTickLabel(Number(value)), autoSkip: false },
  } as ScaleOptions<'logarithmic'>;
}

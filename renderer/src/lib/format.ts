// How numbers and names look on screen. Formatting only: the engine computes every value.
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

/** 656384 → "656,384". */
export function formatInt(value: number): string {
  return integer.format(value);
}

/** 656384 → "656.38K". */
export function formatCompact(value: number): string {
  return compact.format(value);
}

/** Four significant digits, exponent notation for very small or large magnitudes. */
export function formatFloat(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e6) return value.toExponential(digits - 1);
  return value.toPrecision(digits);
}

/** A weight matrix shape as the engine stores it: [out, in]. */
export function formatShape(out: number, inFeatures: number): string {
  return `[${out}, ${inFeatures}]`;
}

export function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${(seconds * 1000).toFixed(0)} ms` : `${seconds.toFixed(2)} s`;
}

/** The last path component, for titles: "/a/b/tinystories-656k" → "tinystories-656k". */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]+/).filter(Boolean);
  return parts.at(-1) ?? path;
}

// Benchmark metrics. Keys are "<kind>:<source>" (app/experiment/results.ts): perplexities
// read in hundredths, accuracies (fractions of a few hundred questions) in thousandths.
const MINUS = '\u2212';

/** Decimals a metric is shown with: 2 for perplexity, 3 for accuracies, 4 otherwise. */
export function metricDecimals(key: string): number {
  const kind = key.split(':')[0];
  if (kind === 'ppl') return 2;
  if (kind === 'acc' || kind === 'acc_norm') return 3;
  return 4;
}

/** A fixed-decimals number with a real minus sign and no "-0.00". */
function fixed(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  const text = Math.abs(value).toFixed(decimals);
  const isZero = Number(text) === 0;
  return value < 0 && !isZero ? `${MINUS}${text}` : text;
}

/** "44.84" for ppl, "0.550" for an accuracy (and its standard error: "0.550 ± 0.111" is two calls). */
export function formatMetricValue(key: string, value: number): string {
  return fixed(value, metricDecimals(key));
}

/** "+0.050", "−2.30"; a delta that rounds to zero is "0.000" (no sign), the same width as the others. */
export function formatMetricDelta(key: string, delta: number): string {
  const text = fixed(delta, metricDecimals(key));
  if (!Number.isFinite(delta) || Number(text.replace(MINUS, '-')) === 0) return text;
  return delta > 0 ? `+${text}` : text;
}

export type DeltaVerdict = 'better' | 'worse' | 'same';

/** Whether a delta (as shown, i.e. after rounding) is an improvement for this metric. */
export function deltaVerdict(key: string, delta: number, lowerIsBetter: boolean): DeltaVerdict {
  const shown = Number(fixed(delta, metricDecimals(key)).replace(MINUS, '-'));
  if (!Number.isFinite(shown) || shown === 0) return 'same';
  return (lowerIsBetter ? shown < 0 : shown > 0) ? 'better' : 'worse';
}

/** Whole seconds as "45 s", "1 min 20 s", "2 h 5 min" (the seconds are rounded first, so never "1 min 60 s"). */
function minutesAndSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const minutes = Math.round(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "ETA 1 min 20 s"; '' when the engine gave no estimate. Rounded up: an ETA of 0 s while work remains reads wrong. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  return `ETA ${minutesAndSeconds(Math.ceil(seconds))}`;
}

/** How long a finished stage took: "420 ms", "3.1 s", "1 min 20 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return minutesAndSeconds(seconds);
}

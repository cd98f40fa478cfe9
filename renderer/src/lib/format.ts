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

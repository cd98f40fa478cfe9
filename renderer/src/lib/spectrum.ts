// The small transformations the spectra and error views plot. Pure functions, unit-tested
// (spectrum.test.ts); every number they start from comes from the engine's run files.

/** λᵢ / tr(C): each eigendirection's share of the input energy. */
export function normalizedEigenvalues(eigenvalues: readonly number[], trace: number): number[] {
  if (!(trace > 0)) throw new RangeError(`trace of C must be > 0, got ${trace}`);
  return eigenvalues.map((lambda) => lambda / trace);
}

/** σᵢ² / Σⱼ σⱼ²: each direction's share of the (listed) error energy. */
export function energyShare(singularValues: readonly number[]): number[] {
  let total = 0;
  for (const s of singularValues) total += s * s;
  return total > 0 ? singularValues.map((s) => (s * s) / total) : singularValues.map(() => 0);
}

/** Σ_{i≤r} σᵢ² / Σⱼ σⱼ² for r = 1…n (float64 running sum; the last is 1). */
export function cumulativeEnergy(singularValues: readonly number[]): number[] {
  const share = energyShare(singularValues);
  let sum = 0;
  return share.map((s) => (sum += s));
}

/** err(r) at integer rank r; NaN where the curve has no such rank (never clamped: a wrong number is worse than none). */
export function errorAt(curve: readonly number[], rank: number): number {
  return Number.isInteger(rank) && rank >= 0 && rank < curve.length ? curve[rank] : NaN;
}

/** The rank a field holds, or what is wrong with it ("" included): an integer 1…rMax. */
export function parseRank(text: string, rMax: number): { rank: number; error: null } | { rank: null; error: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { rank: null, error: `Enter a rank from 1 to ${rMax}.` };
  const value = Number(trimmed);
  if (!Number.isInteger(value)) return { rank: null, error: `Rank must be a whole number from 1 to ${rMax}, not "${trimmed}".` };
  if (value < 1 || value > rMax) return { rank: null, error: `Rank must be from 1 to ${rMax} (this run's largest rank, r_max), not ${value}.` };
  return { rank: value, error: null };
}

/** Σ_l err_l(r) for r = 0…(shortest curve − 1), summed in float64. */
export function summedCurve(curves: readonly (readonly number[])[]): number[] {
  if (curves.length === 0) return [];
  const n = Math.min(...curves.map((c) => c.length));
  return Array.from({ length: n }, (_, r) => curves.reduce((sum, c) => sum + c[r], 0));
}

/**
 * A log axis tick: "1e-7", "0.01", "1", "100" at powers of ten and, on an axis spanning at most
 * `midUpTo` decades, "2e-7", "5e-7", "0.02" at 2 and 5 × 10^k too; "" elsewhere (no 0.00000010).
 */
export function logTickLabel(value: number, decades = 0, midUpTo = 2): string {
  if (!(value > 0)) return '';
  const exponent = Math.floor(Math.log10(value) + 1e-9);
  const mantissa = Math.round((value / 10 ** exponent) * 1e6) / 1e6;
  if (mantissa !== 1 && (decades > midUpTo || (mantissa !== 2 && mantissa !== 5))) return '';
  if (exponent >= -2 && exponent <= 3) return String(Number((mantissa * 10 ** exponent).toFixed(Math.max(0, -exponent))));
  return `${mantissa}e${exponent}`;
}

/** Where `value` sits between lo and hi on a log scale, in [0, 1] (one scale for every heatmap selection). */
export function heatLevel(value: number, lo: number, hi: number): number {
  if (!(value > 0) || !(lo > 0) || !(hi > lo)) return value > 0 && hi > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, Math.log(value / lo) / Math.log(hi / lo)));
}

/** "model.layers.3.self_attn.q_proj" → {layer: 3, module: "q_proj"}. */
export function splitLinearName(name: string): { layer: number; module: string } {
  const match = /layers\.(\d+)\.(?:[a-z_]+\.)?([A-Za-z0-9_]+)$/.exec(name);
  return match ? { layer: Number(match[1]), module: match[2] } : { layer: -1, module: name };
}

/** How a compensation method is named in legends. */
export function methodLabel(method: string): string {
  return method === 'svd' ? 'SVD of ΔW' : method === 'scaled-svd' ? 'scaled SVD' : method === 'eora' ? 'EoRA (eigenspace-projected)' : method;
}

const METHOD_COLOURS: Record<string, string> = { svd: '#b5654a', eora: '#2f5fa8', 'scaled-svd': '#5a8f3c' };

export function methodColour(method: string): string {
  return METHOD_COLOURS[method] ?? '#555';
}

/**
 * How precise a plotted spectrum is, in words: the engine states each spectrum's relative
 * precision (0 on the exact dense path, an estimate from the randomized iteration on large
 * layers, which stops at what a plot needs rather than at float32's limit). Null: not stated.
 */
export function precisionNote(what: string, precision: number | null | undefined): string | null {
  if (precision === null || precision === undefined) return null;
  if (precision === 0) return `${what}: exact (dense float64 decomposition).`;
  if (!Number.isFinite(precision)) return `${what}: the iteration stopped before its precision could be estimated; read the curve's shape, not single values.`;
  return `${what}: within ${precision.toExponential(0)} relative (randomized subspace iteration, stopped at plotting precision).`;
}

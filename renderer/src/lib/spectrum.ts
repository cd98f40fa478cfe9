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

/** err(r) at rank r, clamped to the curve's last rank (a layer narrower than r stops there). */
export function errorAt(curve: readonly number[], rank: number): number {
  if (curve.length === 0) return NaN;
  return curve[Math.max(0, Math.min(curve.length - 1, Math.round(rank)))];
}

/** "model.layers.3.self_attn.q_proj" → {layer: 3, module: "q_proj"}. */
export function splitLinearName(name: string): { layer: number; module: string } {
  const match = /layers\.(\d+)\.(?:[a-z_]+\.)?([A-Za-z0-9_]+)$/.exec(name);
  return match ? { layer: Number(match[1]), module: match[2] } : { layer: -1, module: name };
}

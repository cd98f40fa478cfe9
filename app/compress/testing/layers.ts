// Synthetic layers and calibration data for the compression tests (not part of the build).
import { rng } from '../../linalg/random.js';
import { addToMoment } from '../hessian.js';
import type { LinearWeight, SecondMoment } from '../types.js';

/** W: [out, in], entries N(0, 1)/√in like an initialized linear. */
export function randomLayer(out: number, n: number, seed: number): LinearWeight {
  const r = rng(seed);
  const w = new Float32Array(out * n);
  for (let i = 0; i < w.length; i++) w[i] = r.normal() / Math.sqrt(n);
  return { w, out, in: n };
}

export interface MomentOptions {
  /** Tokens to draw (default 4·in). */
  tokens?: number;
  /** Input columns that never fire (dead). */
  dead?: readonly number[];
}

/**
 * Correlated inputs like an LLM's: x = A·z with z ~ N(0, I) and A: [in, in] = a few shared
 * directions plus noise, and per-feature scales spread over two orders of magnitude (outlier
 * features). Returns C = Σ x xᵀ and the raw X: [tokens, in].
 */
export function correlatedMoment(n: number, seed: number, options: MomentOptions = {}): SecondMoment & { X: Float64Array } {
  const tokens = options.tokens ?? 4 * n;
  const r = rng(seed);
  const shared = 4; // shared latent directions
  const mix = new Float64Array(n * shared); // [in, shared]
  for (let i = 0; i < mix.length; i++) mix[i] = r.normal();
  const featureScale = Float64Array.from({ length: n }, () => Math.exp(2.3 * (r.uniform() - 0.5) * 2));
  const X = new Float64Array(tokens * n); // [tokens, in]
  const z = new Float64Array(shared);
  for (let t = 0; t < tokens; t++) {
    for (let k = 0; k < shared; k++) z[k] = r.normal();
    for (let i = 0; i < n; i++) {
      let v = 0.5 * r.normal();
      for (let k = 0; k < shared; k++) v += mix[i * shared + k] * z[k];
      X[t * n + i] = v * featureScale[i];
    }
  }
  for (const d of options.dead ?? []) for (let t = 0; t < tokens; t++) X[t * n + d] = 0;
  const C = new Float64Array(n * n);
  addToMoment(C, X, tokens, n);
  return { C, nTokens: tokens, X };
}

/** Bit-level equality of two float32 arrays (as vitest's toEqual on plain arrays). */
export function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** A random sweep order of n columns (Fisher–Yates) and its inverse: position[order[j]] = j. */
export function randomOrder(n: number, random: { uniform(): number }): { order: Int32Array; position: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const position = new Int32Array(n);
  order.forEach((c, j) => (position[c] = j));
  return { order, position };
}

// Next-token choice from one position's logits [V]: greedy (temperature 0) or sampling with
// temperature and nucleus (top-p) truncation, as HF's TemperatureLogitsWarper + TopPLogitsWarper.
import { rng } from '../linalg/random.js';

export interface SamplerOptions {
  /** 0 = greedy (default); otherwise logits are divided by it before the softmax. */
  temperature?: number;
  /** Keep the smallest set of most likely tokens whose probability sums to ≥ topP (default 1). */
  topP?: number;
  /** Seed of the PRNG; the same seed, prompt and options give the same tokens. */
  seed?: number;
}

export type Sampler = (logits: Float32Array) => number;

export function createSampler({ temperature = 0, topP = 1, seed = 0 }: SamplerOptions = {}): Sampler {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`temperature must be ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argmax;
  const { uniform } = rng(seed);
  return (logits) => sample(logits, temperature, topP, uniform());
}

/** The most likely token; the lowest id wins ties (as torch.argmax). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
  return best;
}

/** Draws from softmax(logits / temperature) restricted to the top-p nucleus; `u` ∈ [0, 1). */
export function sample(logits: Float32Array, temperature: number, topP: number, u: number): number {
  const V = logits.length;
  const max = logits[argmax(logits)];
  const probs = new Float64Array(V);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += probs[v] = Math.exp((logits[v] - max) / temperature);
  for (let v = 0; v < V; v++) probs[v] /= sum;

  // Nucleus: most likely first (ties by id), cut once the kept mass reaches topP (≥ 1 token).
  const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => probs[b] - probs[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < V && (kept === 0 || mass < topP)) mass += probs[order[kept++]];

  // Inverse CDF over the kept tokens, renormalized to their mass.
  let target = u * mass;
  for (let i = 0; i < kept; i++) {
    target -= probs[order[i]];
    if (target < 0) return order[i];
  }
  return order[kept - 1]; // rounding left target ≥ 0: the last kept token
}

import { describe, expect, it } from 'vitest';
import { rng } from '../linalg/random.js';
import { allocateRanks, evaluate, lowerHull, uniformAllocation, type BudgetLayer } from './budget.js';
import { decomposeLayer } from './decomposition.js';
import { randomLayer } from './random-layer.js';

/** Exhaustive optimum for tiny instances. */
function bruteForce(layers: BudgetLayer[], budget: number): number {
  let best = Infinity;
  const ranks = layers.map(() => 0);
  const visit = (l: number, used: number) => {
    if (l === layers.length) {
      best = Math.min(best, evaluate(layers, ranks).objective);
      return;
    }
    for (let r = 0; r < layers[l].error.length && used + r * (layers[l].in + layers[l].out) <= budget; r++) {
      ranks[l] = r;
      visit(l + 1, used + r * (layers[l].in + layers[l].out));
    }
    ranks[l] = 0;
  };
  visit(0, 0);
  return best;
}

// Different shapes, error spectra and activation anisotropy: the curves differ a lot.
const specs = [
    { out: 48, in: 96, errorDecay: 0.9, channelSpread: 1 },
    { out: 96, in: 48, errorDecay: 1, channelSpread: 0.3 },
    { out: 64, in: 64, errorDecay: 0.8, channelSpread: 2 },
    { out: 32, in: 128, errorDecay: 0.97, channelSpread: 1.5, errorScale: 0.2 },
    { out: 128, in: 32, errorDecay: 1, channelSpread: 0.5, errorScale: 0.01 },
    { out: 80, in: 80, errorDecay: 0.95, channelSpread: 1 },
  ];
const layers: BudgetLayer[] = [];
for (const [i, spec] of specs.entries()) {
  const d = await decomposeLayer(randomLayer({ ...spec, tokens: 256, seed: 100 + i }), { methods: ['eora'] });
  layers.push({ name: `layer${i}`, out: spec.out, in: spec.in, error: d.methods.eora!.curves.output });
}

describe('rank budget on EoRA curves of random layers', () => {

  for (const r of [1, 2, 4, 8, 16, 24])
    it(`at the parameters of uniform rank ${r}: greedy ≤ uniform, within budget`, () => {
      const uniform = uniformAllocation(layers, r);
      const allocation = allocateRanks(layers, uniform.parameters);
      expect(allocation.parameters).toBeLessThanOrEqual(uniform.parameters);
      expect(allocation.objective).toBeLessThan(uniform.objective);
      expect(allocation.strategy).toBe('greedy'); // the greedy wins by itself, not via the safety net
      expect(allocation.objective).toBeCloseTo(evaluate(layers, allocation.ranks).objective, 15);
    });

  it('spends ranks where they buy the most: the steep square layer gets more than the tall one with small, flat error', () => {
    const allocation = allocateRanks(layers, uniformAllocation(layers, 8).parameters);
    expect(allocation.ranks[2]).toBeGreaterThan(allocation.ranks[4]);
  });

  it('a zero-weight layer gets nothing', () => {
    const weighted = layers.map((layer, i) => ({ ...layer, weight: i === 0 ? 0 : 1 }));
    expect(allocateRanks(weighted, uniformAllocation(layers, 8).parameters).ranks[0]).toBe(0);
  });
});

describe('non-convex curves', () => {
  it('takes a plateau-then-cliff that one-rank marginal greedy would never start', () => {
    // Layer a: three nearly useless ranks, then a big drop. Layer b: steady small gains.
    const cliff: BudgetLayer = { name: 'a', out: 10, in: 10, error: [1, 0.99, 0.98, 0.97, 0.1, 0.09] };
    const steady: BudgetLayer = { name: 'b', out: 10, in: 10, error: [1, 0.9, 0.8, 0.7, 0.6, 0.5] };
    const allocation = allocateRanks([cliff, steady], 4 * 20);
    expect(allocation.ranks).toEqual([4, 0]);
    expect(allocation.objective).toBeCloseTo(1.1, 12);
    expect(lowerHull(cliff.error)).toEqual([0, 4, 5]);
  });

  it('random small non-convex instances: ≤ uniform always, and usually the exact optimum', () => {
    const random = rng(42);
    let optimal = 0;
    const trials = 150;
    for (let t = 0; t < trials; t++) {
      const layers: BudgetLayer[] = Array.from({ length: 3 }, (_, l) => {
        // Decreasing with random drops (some ranks nearly free of gain): non-convex in general.
        const rMax = 4 + Math.floor(random.uniform() * 6);
        const error = [1];
        for (let r = 1; r <= rMax; r++) error.push(error[r - 1] * (random.uniform() < 0.4 ? 0.98 : 0.3 + 0.6 * random.uniform()));
        return { name: `l${l}`, out: 4 + Math.floor(random.uniform() * 12), in: 4 + Math.floor(random.uniform() * 12), error };
      });
      const rank = 1 + Math.floor(random.uniform() * 4);
      const uniform = uniformAllocation(layers, rank);
      const allocation = allocateRanks(layers, uniform.parameters);
      expect(allocation.objective).toBeLessThanOrEqual(uniform.objective);
      expect(allocation.parameters).toBeLessThanOrEqual(uniform.parameters);
      const best = bruteForce(layers, uniform.parameters);
      expect(allocation.objective).toBeGreaterThanOrEqual(best - 1e-15);
      if (allocation.objective <= best + 1e-12) optimal++;
    }
    expect(optimal / trials).toBeGreaterThan(0.8); // 129/150 with seed 42; the rest are two-layer exchanges
  });
});

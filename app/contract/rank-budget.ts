// Lives in app/contract (pure, no imports) because both the engine (app/compensate) and the
// renderer's rank explorer run it: the explorer re-allocates on every slider movement without
// an engine round trip. app/compensate/budget.ts re-exports it.
// Rank allocation under a global adapter budget, from the err(r) curves alone (no refits).
// Objective: minimize   Σ_l w_l · err_l(r_l)   subject to   Σ_l r_l·(in_l + out_l) ≤ budget,
// with err_l the layer's relative output error tr(R·C·Rᵀ)/tr(W·C·Wᵀ) (decomposition.ts) and
// w_l an optional per-layer weight (default 1: every layer's relative error counts the same;
// w_l = tr(W_l·C_l·W_lᵀ) turns it into total absolute output error, or a sensitivity score).
// A rank costs in_l + out_l parameters (a column of B and a row of A).
//
// This is a multiple-choice knapsack. If every err_l were convex in r, the greedy on marginal
// gain per parameter would be optimal up to the last step that no longer fits. They are only
// convex-ish: a flat stretch followed by a drop (a cluster of nearly equal σᵢ² after a small
// one, or the floor of a rank-deficient C) makes one-rank steps look worthless right before
// a large gain. So:
//  1. Greedy on each curve's lower convex hull: a hull segment r_a → r_b is several ranks
//     taken at once at their average gain per parameter, and hull slopes decrease along r,
//     so each layer's segments come out of the global order in sequence. This is the exact
//     optimum of the convexified problem at every budget the greedy passes through.
//  2. When a layer's next segment no longer fits, the layer stops in phase 1; the leftover
//     budget is then spent by lookahead steps: any jump r_l → r' (not only +1) that fits,
//     best gain per parameter first, so partial segments and non-convex drops are used.
//  3. Exchange polish: move one layer back by 1, 2, 4, … ranks, refill, keep the best
//     improving move, repeat — repairs most "the big segment did not fit" misses.
//  4. Safety net: the uniform allocation at the same budget (plus the same lookahead fill)
//     is evaluated too and the better one returned (`strategy` says which). The greedy is a
//     heuristic for an NP-hard problem; this makes "never worse than uniform" a guarantee
//     rather than an observation. In tests the greedy itself wins.

export interface BudgetLayer {
  name: string;
  out: number;
  in: number;
  /** [rMax + 1] err(r), r = 0…rMax. */
  error: ArrayLike<number>;
  /** Default 1. */
  weight?: number;
}

export interface Allocation {
  /** Per layer, in input order. */
  ranks: number[];
  /** Σ_l r_l·(in_l + out_l) */
  parameters: number;
  /** Predicted Σ_l w_l·err_l(r_l). */
  objective: number;
  strategy: 'greedy' | 'uniform';
}

const costOf = (layer: BudgetLayer) => layer.in + layer.out;
const rMaxOf = (layer: BudgetLayer) => layer.error.length - 1;

export function evaluate(layers: readonly BudgetLayer[], ranks: readonly number[], strategy: Allocation['strategy'] = 'greedy'): Allocation {
  let parameters = 0;
  let objective = 0;
  layers.forEach((layer, l) => {
    parameters += ranks[l] * costOf(layer);
    objective += (layer.weight ?? 1) * layer.error[ranks[l]];
  });
  return { ranks: [...ranks], parameters, objective, strategy };
}

/** The same rank everywhere (capped at each layer's rMax). */
export function uniformAllocation(layers: readonly BudgetLayer[], rank: number): Allocation {
  return evaluate(layers, layers.map((layer) => Math.min(rank, rMaxOf(layer))), 'uniform');
}

export function allocateRanks(layers: readonly BudgetLayer[], budget: number): Allocation {
  if (!(budget >= 0)) throw new RangeError(`budget must be ≥ 0 parameters, got ${budget}`);
  const greedy = hullGreedy(layers, budget);
  fill(layers, greedy, budget);
  polish(layers, greedy, budget);
  const perRank = layers.reduce((s, layer) => s + costOf(layer), 0);
  const uniform = layers.map((layer) => Math.min(Math.floor(budget / perRank), rMaxOf(layer)));
  fill(layers, uniform, budget);
  const a = evaluate(layers, greedy, 'greedy');
  const b = evaluate(layers, uniform, 'uniform');
  return b.objective < a.objective ? b : a;
}

interface Segment {
  layer: number;
  from: number;
  to: number;
  /** w·(err(from) − err(to)) / (cost·(to − from)) */
  gain: number;
}

/** Phase 1: take hull segments by decreasing gain per parameter while they fit. */
function hullGreedy(layers: readonly BudgetLayer[], budget: number): number[] {
  const segments: Segment[] = [];
  layers.forEach((layer, l) => {
    const w = layer.weight ?? 1;
    const hull = lowerHull(layer.error);
    for (let i = 1; i < hull.length; i++) {
      const [from, to] = [hull[i - 1], hull[i]];
      const drop = w * (layer.error[from] - layer.error[to]);
      if (drop > 0) segments.push({ layer: l, from, to, gain: drop / (costOf(layer) * (to - from)) });
    }
  });
  segments.sort((x, y) => y.gain - x.gain || x.from - y.from);
  const ranks = layers.map(() => 0);
  const stopped = layers.map(() => false);
  let used = 0;
  for (const s of segments) {
    if (stopped[s.layer] || ranks[s.layer] !== s.from) continue;
    const cost = costOf(layers[s.layer]) * (s.to - s.from);
    if (used + cost <= budget) {
      ranks[s.layer] = s.to;
      used += cost;
    } else stopped[s.layer] = true; // its later segments cannot come before this one
  }
  return ranks;
}

/**
 * Vertices of the lower convex hull of (r, err(r)), r = 0…rMax, up to the curve's minimum
 * (Andrew's monotone chain; beyond the minimum extra rank only costs).
 */
export function lowerHull(error: ArrayLike<number>): number[] {
  let last = 0;
  for (let r = 1; r < error.length; r++) if (error[r] < error[last]) last = r;
  const hull: number[] = [];
  for (let r = 0; r <= last; r++) {
    while (hull.length >= 2) {
      const [a, b] = [hull[hull.length - 2], hull[hull.length - 1]];
      // b lies on or above the chord a → r: not a lower-hull vertex.
      if ((error[b] - error[a]) * (r - a) >= (error[r] - error[a]) * (b - a)) hull.pop();
      else break;
    }
    hull.push(r);
  }
  return hull;
}

/** Phase 2: spend what is left with the best-gain-per-parameter jump that fits, repeatedly. */
function fill(layers: readonly BudgetLayer[], ranks: number[], budget: number) {
  let used = layers.reduce((s, layer, l) => s + ranks[l] * costOf(layer), 0);
  for (;;) {
    let best: { layer: number; to: number; gain: number } | undefined;
    layers.forEach((layer, l) => {
      const cost = costOf(layer);
      const w = layer.weight ?? 1;
      const reach = Math.min(rMaxOf(layer), ranks[l] + Math.floor((budget - used) / cost));
      for (let to = ranks[l] + 1; to <= reach; to++) {
        const drop = w * (layer.error[ranks[l]] - layer.error[to]);
        const gain = drop / (cost * (to - ranks[l]));
        if (drop > 0 && (!best || gain > best.gain)) best = { layer: l, to, gain };
      }
    });
    if (!best) return;
    used += costOf(layers[best.layer]) * (best.to - ranks[best.layer]);
    ranks[best.layer] = best.to;
  }
}

/**
 * Phase 3: exchange moves. Take one layer back by 1, 2, 4, … ranks (down to 0), refill
 * (phase 2) from there, keep the best improving move; repeat. Repairs the typical knapsack
 * miss where a big efficient segment did not fit because smaller ones came first. Geometric
 * steps keep a pass at O(L·log rMax) fills.
 */
function polish(layers: readonly BudgetLayer[], ranks: number[], budget: number, maxPasses = 2 * layers.length + 8) {
  let current = evaluate(layers, ranks).objective;
  for (let pass = 0; pass < maxPasses; pass++) {
    let best: { ranks: number[]; objective: number } | undefined;
    layers.forEach((_, l) => {
      for (let step = 1; step <= ranks[l]; step *= 2) {
        const candidate = [...ranks];
        candidate[l] = ranks[l] - step;
        fill(layers, candidate, budget);
        const objective = evaluate(layers, candidate).objective;
        if (objective < (best?.objective ?? current) - 1e-15 * Math.abs(current)) best = { ranks: candidate, objective };
      }
    });
    if (!best) return;
    ranks.splice(0, ranks.length, ...best.ranks);
    current = best.objective;
  }
}

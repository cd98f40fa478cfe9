// The rank explorer's numbers, from the err(r) curves alone: the predicted total error
// Σ_l err_l(r_l) over every linear (linears left out of the selection stay at rank 0, so their
// error counts in full), uniform and budget-allocated Pareto curves against adapter
// parameters, and the allocation as JSON and as PEFT rank fields.
import { allocateRanks, evaluate, uniformAllocation, type Allocation, type BudgetLayer } from '../../../app/contract/rank-budget.js';
import { peftRanks, type ModuleSelection, type PeftRanks } from '../../../app/contract/modules.js';

/** Unselected linears keep only err(0): no allocator or uniform rank can give them a rank. */
export function restrict(layers: readonly BudgetLayer[], selected: ReadonlySet<string>): BudgetLayer[] {
  return layers.map((l) => (selected.has(l.name) ? l : { ...l, error: [l.error[0]] }));
}

export interface ParetoPoint {
  x: number;
  y: number;
}

/** Uniform rank r = 0…rMax over the (restricted) linears: (parameters, predicted Σ err). */
export function uniformCurve(layers: readonly BudgetLayer[], rMax: number): ParetoPoint[] {
  return Array.from({ length: rMax + 1 }, (_, r) => {
    const a = uniformAllocation(layers, r);
    return { x: a.parameters, y: a.objective };
  });
}

/**
 * Up to `max` of the uniform curve's sizes, spread evenly from the first to the last: the
 * allocator is far dearer than a uniform cut (one allocateRanks call took ~0.85 s for a 7B shape,
 * 224 linears, r_max 256), so the allocated curve is sampled.
 */
export function budgetSamples(sizes: readonly number[], max = 12): number[] {
  if (sizes.length <= max) return [...sizes];
  const picks = Array.from({ length: max }, (_, i) => sizes[Math.round((i * (sizes.length - 1)) / (max - 1))]);
  return [...new Set(picks)];
}

/** The budget allocator at each given budget: (parameters used, predicted Σ err). */
export function allocatedCurve(layers: readonly BudgetLayer[], budgets: readonly number[]): ParetoPoint[] {
  return budgets.map((b) => {
    const a = allocateRanks(layers, b);
    return { x: a.parameters, y: a.objective };
  });
}

/** An allocation with some per-linear ranks set by hand (capped to each curve's rMax). */
export function withEdits(layers: readonly BudgetLayer[], base: Allocation, edits: Readonly<Record<string, number>>): Allocation {
  const ranks = layers.map((l, i) => {
    const edit = edits[l.name];
    return edit === undefined ? base.ranks[i] : Math.max(0, Math.min(Math.floor(edit), l.error.length - 1));
  });
  return evaluate(layers, ranks, base.strategy);
}

export interface AllocationFile {
  format: 'eora-allocation';
  version: 1;
  run: string;
  method: string;
  /** The module selection; `layers` the layer ranges it was narrowed to ("0-3,7"). */
  selection: ModuleSelection & { layers?: string };
  budget: number;
  parameters: number;
  predicted_total_error: number;
  ranks: Record<string, number>;
  peft: PeftRanks | null;
}

export function allocationFile(run: string, method: string, selection: AllocationFile['selection'], budget: number, layers: readonly BudgetLayer[], allocation: Allocation): AllocationFile {
  const ranks = Object.fromEntries(layers.map((l, i) => [l.name, allocation.ranks[i]]));
  const any = allocation.ranks.some((r) => r > 0);
  return {
    format: 'eora-allocation',
    version: 1,
    run,
    method,
    selection,
    budget,
    parameters: allocation.parameters,
    predicted_total_error: allocation.objective,
    ranks,
    peft: any ? peftRanks(Object.entries(ranks)) : null,
  };
}

// The variants of an experiment and how each one's weights are put into a ModelRunner.
//
//   original                 the model's own weights
//   compressed               W_c from compressed.safetensors
//   <method>-r<r>            W_c + B·A from adapters/<method>-r<r>.safetensors (uniform rank r)
//   eora-budget-<P>          W_c + B·A with per-linear ranks allocated under P adapter parameters
//
// Adapters are merged (W_c + B·A formed in float64, stored float32) from the adapter files as
// written, so what is scored is exactly what an export ships. Weights stream: the runner asks
// for a linear's W_c (+ B·A) when its block loads, read from the run folder tensor by tensor.
import type { ModelRunner } from '../forward/runner.js';
import { linears } from '../model/inspect.js';
import type { Model } from '../model/types.js';
import { merged } from './stages/compensate.js';
import { budgetVariantName, rankVariantName } from '../run/metrics.js';
import { RunError, type RunFolder } from '../run/run.js';
import { adapterPath, adapterRanks, adapterRelative, readAdapters } from '../run/files/adapters.js';
import { openCompressed, readCompressedTensor } from '../run/files/compressed.js';
import type { ExperimentConfig } from './schema.js';

export interface VariantPlan {
  /** `original`, `compressed`, or an adapter variant (its file: adapters/<name>.safetensors). */
  name: string;
}

/** The adapter file metrics.json records for a variant (run-relative), null for original and compressed. */
export const recordedAdapter = (name: string): string | null => (name === 'original' || name === 'compressed' ? null : adapterRelative(name));

/** The experiment's variants in evaluation order. */
export function plannedVariants(config: ExperimentConfig): VariantPlan[] {
  const plans: VariantPlan[] = [{ name: 'original' }, { name: 'compressed' }];
  const c = config.compensation;
  if (!c) return plans;
  const ranks = [...c.ranks].sort((a, b) => a - b);
  for (const method of c.methods) for (const r of ranks) plans.push({ name: rankVariantName(method, r) });
  for (const budget of c.budgets ?? []) plans.push({ name: budgetVariantName('eora', budget) });
  return plans;
}

/** Puts a variant's weights into `runner` as a weight source reading the run folder block by block. */
export class VariantLoader {
  constructor(
    private readonly run: RunFolder,
    private readonly model: Model,
  ) {}

  /** Returns the adapter's parameter count Σ r_l·(in_l + out_l), null without adapter. */
  load(runner: ModelRunner, plan: VariantPlan): number | null {
    runner.resetWeights();
    if (plan.name === 'original') return null;
    const all = linears(this.model);
    const names = new Set(all.map((l) => `${l.name}.weight`));
    const probe = openCompressed(this.run.dir); // every W_c is there before the first block runs
    try {
      for (const weight of names) if (!probe.has(weight)) throw new RunError(`${probe.path}: has no tensor ${weight}`);
    } finally {
      probe.close();
    }
    if (plan.name === 'compressed') {
      runner.setWeightSource((name) => (names.has(name) ? readCompressedTensor(this.run.dir, name) : undefined));
      return null;
    }
    const ranks = adapterRanks(this.run.dir, plan.name);
    let params = 0;
    for (const l of all) {
      const rank = ranks.get(l.name);
      if (rank === undefined) throw new RunError(`${adapterPath(this.run.dir, plan.name)}: has no adapter for ${l.name}`);
      params += rank * (l.in + l.out);
    }
    runner.setWeightSource((name) => {
      if (!names.has(name)) return undefined;
      const linear = name.slice(0, -'.weight'.length);
      return merged(readCompressedTensor(this.run.dir, name), readAdapters(this.run.dir, plan.name, linear).get(linear)!);
    });
    return params;
  }
}

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
import { existsSync } from 'node:fs';
import type { Adapter } from '../compensate/adapter.js';
import type { ModelRunner } from '../forward/runner.js';
import { fromArray } from '../linalg/matrix.js';
import { linears } from '../model/inspect.js';
import type { Model } from '../model/types.js';
import { merged } from '../pipeline/compensate.js';
import { readRunTensor } from '../pipeline/compress.js';
import { budgetVariantName, rankVariantName } from '../run/metrics.js';
import { RunError, type RunFolder } from '../run/run.js';
import { TensorFile } from '../run/safetensors-writer.js';
import type { ExperimentConfig } from './schema.js';

export interface VariantPlan {
  name: string;
  /** Run-relative adapter file, or null (original, compressed). */
  adapter: string | null;
}

/** The experiment's variants in evaluation order. */
export function plannedVariants(config: ExperimentConfig): VariantPlan[] {
  const plans: VariantPlan[] = [
    { name: 'original', adapter: null },
    { name: 'compressed', adapter: null },
  ];
  const c = config.compensation;
  if (!c) return plans;
  const ranks = [...c.ranks].sort((a, b) => a - b);
  for (const method of c.methods) for (const r of ranks) plans.push(adapterPlan(rankVariantName(method, r)));
  for (const budget of c.budgets ?? []) plans.push(adapterPlan(budgetVariantName('eora', budget)));
  return plans;
}

export const adapterPlan = (name: string): VariantPlan => ({ name, adapter: `adapters/${name}.safetensors` });

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
    const compressed = this.run.path('compressed.safetensors');
    const all = linears(this.model);
    const names = new Set(all.map((l) => `${l.name}.weight`));
    const probe = TensorFile.open(compressed); // every W_c is there before the first block runs
    try {
      for (const weight of names) if (!probe.has(weight)) throw new RunError(`${compressed}: has no tensor ${weight}`);
    } finally {
      probe.close();
    }
    if (plan.adapter === null) {
      runner.setWeightSource((name) => (names.has(name) ? readRunTensor(compressed, name) : undefined));
      return null;
    }
    const adapterPath = plan.adapter;
    const ranks = adapterRanks(this.run, adapterPath);
    let params = 0;
    for (const l of all) {
      const rank = ranks.get(l.name);
      if (rank === undefined) throw new RunError(`${this.run.path(adapterPath)}: has no adapter for ${l.name}`);
      params += rank * (l.in + l.out);
    }
    runner.setWeightSource((name) => {
      if (!names.has(name)) return undefined;
      const linear = name.slice(0, -'.weight'.length);
      return merged(readRunTensor(compressed, name), readAdapterFile(this.run, adapterPath, linear).get(linear)!);
    });
    return params;
  }
}

/** linear name → rank of each adapter in a PEFT-style file (shapes only). */
export function adapterRanks(run: RunFolder, relative: string): Map<string, number> {
  const path = run.path(relative);
  if (!existsSync(path)) throw new RunError(`${path}: missing (rerun the experiment to recreate it)`);
  const file = TensorFile.open(path);
  try {
    const ranks = new Map<string, number>();
    for (const name of file.file.tensors.keys()) {
      const m = /^(.*)\.lora_A\.weight$/.exec(name);
      if (m) ranks.set(m[1], file.shape(name)[0]);
    }
    return ranks;
  } finally {
    file.close();
  }
}

/** linear name → adapter (float64 factors) from a PEFT-style file: `<linear>.lora_A.weight` [r, in], `.lora_B.weight` [out, r]. */
export function readAdapterFile(run: RunFolder, relative: string, only?: string): Map<string, Adapter> {
  const path = run.path(relative);
  if (!existsSync(path)) throw new RunError(`${path}: missing (rerun the experiment to recreate it)`);
  const file = TensorFile.open(path);
  const adapters = new Map<string, Adapter>();
  try {
    const split = (file.metadata.split ?? 'B') as Adapter['split'];
    for (const name of file.file.tensors.keys()) {
      const m = /^(.*)\.lora_A\.weight$/.exec(name);
      if (!m || (only !== undefined && m[1] !== only)) continue;
      const [r, inDim] = file.shape(name);
      const bName = `${m[1]}.lora_B.weight`;
      const [outDim, rB] = file.shape(bName);
      if (rB !== r) throw new RunError(`${path}: ${name} has rank ${r} but ${bName} has ${rB}`);
      adapters.set(m[1], { A: fromArray(r, inDim, file.f64(name)), B: fromArray(outDim, r, file.f64(bName)), rank: r, split });
    }
  } finally {
    file.close();
  }
  return adapters;
}

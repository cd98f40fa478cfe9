// The samples stage: greedy continuations of the experiment's prompts for every planned
// variant, samples.json written after each one; resumes at the first variant without samples.
import { ModelRunner } from '../../forward/runner.js';
import { readSamplesJson, writeSamplesJson, type SamplesFile } from '../../run/files/samples-json.js';
import type { RunFolder } from '../../run/run.js';
import { sampleVariant, type EvalInputs } from '../evaluate.js';
import { VariantLoader, type VariantPlan } from '../variants.js';
import type { Stage } from './driver.js';

export type Generation = NonNullable<EvalInputs['setup']['generation']>;

export interface SamplesParams {
  plans: VariantPlan[];
  generation: Generation;
  /** Sample every plan again (a variant made anew), not only those without samples. */
  remeasure?: boolean;
}

export const samplesStage: Stage<SamplesParams, SamplesFile> = {
  name: 'samples',
  isComplete: (ctx, p) => !p.remeasure && p.plans.every((plan) => readSamples(ctx.run, p.generation).variants[plan.name] !== undefined),
  resume: (ctx, p) => readSamples(ctx.run, p.generation),
  async run(ctx, { plans, generation, remeasure }) {
    const { run, signal } = ctx;
    const samples = readSamples(run, generation);
    const todo = remeasure ? plans : plans.filter((p) => samples.variants[p.name] === undefined);
    let done = plans.length - todo.length;
    const runner = await ModelRunner.create(ctx.model, { device: ctx.device, memArena: true }); // plain passes only: RunnerOptions.memArena
    try {
      const loader = new VariantLoader(run, ctx.model);
      ctx.progress?.(done, plans.length, todo[0]?.name ?? 'done');
      for (const plan of todo) {
        signal?.throwIfAborted();
        loader.load(runner, plan);
        samples.variants[plan.name] = await sampleVariant(runner, generation, signal);
        writeSamplesJson(run.dir, samples);
        ctx.progress?.(++done, plans.length, plan.name);
      }
    } finally {
      await runner.release();
    }
    return samples;
  },
};

/** The run's samples when they were made for these prompts, else an empty set. */
export function readSamples(run: RunFolder, generation: Generation): SamplesFile {
  const current = readSamplesJson(run.dir);
  if (current && JSON.stringify(current.prompts) === JSON.stringify(generation.prompts) && current.max_new_tokens === generation.max_new_tokens) return current;
  return { ...generation, variants: {} };
}

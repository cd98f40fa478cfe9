// The evaluate stage: every planned variant measured on the same texts and task items
// (measureVariant), recorded in metrics.json after each one. Resumes at the first variant not
// yet recorded under this setup; `remeasure` measures plans again even when recorded: all of
// them (add-variant) or those named (`eora compensate`: the adapter variants, which may have
// been made anew; original and compressed stay measured). `unmerged` also scores that variant's first text
// with its adapters unmerged (W_c·x + B·(A·x), as deployed), recorded as `unmerged_ppl`.
import { ModelRunner } from '../../forward/runner.js';
import { readAdapters } from '../../run/files/adapters.js';
import { readMetricsJson, writeMetricsJson } from '../../run/files/metrics-json.js';
import { describeVariant, emptyMetrics, type RunMetrics, type VariantEntry } from '../../run/metrics.js';
import type { RunFolder } from '../../run/run.js';
import { measureVariant, scoreVariant, stepsPerVariant, type EvalInputs } from '../evaluate.js';
import { recordedAdapter, VariantLoader, type VariantPlan } from '../variants.js';
import type { Stage, StageContext } from './driver.js';

export interface EvaluateParams {
  plans: VariantPlan[];
  inputs: EvalInputs;
  remeasure?: boolean | ReadonlySet<string>;
  unmerged?: string;
}

const measureAgain = (p: EvaluateParams, plan: VariantPlan) => p.remeasure === true || (p.remeasure instanceof Set && p.remeasure.has(plan.name));

export const evaluateStage: Stage<EvaluateParams, RunMetrics> = {
  name: 'evaluate',
  isComplete: (ctx, p) => !p.plans.some((plan) => measureAgain(p, plan)) && todo(ctx.run, p).length === 0,
  resume: (ctx, p) => metricsFor(ctx.run, p.inputs),
  async run(ctx, params) {
    const { run, signal } = ctx;
    const metrics = metricsFor(run, params.inputs);
    writeMetricsJson(run.dir, metrics); // a changed setup drops stale variants now, not after the first one
    const pending = new Set(todo(run, params));
    const plans = params.plans.filter((plan) => pending.has(plan) || measureAgain(params, plan));
    const steps = stepsPerVariant(params.inputs);
    const total = params.plans.length * steps;
    let done = (params.plans.length - plans.length) * steps;
    const runner = await ModelRunner.create(ctx.model, { device: ctx.device, memArena: true }); // plain passes only: RunnerOptions.memArena
    try {
      const loader = new VariantLoader(run, ctx.model);
      ctx.progress?.(done, total, plans[0]?.name ?? 'done');
      for (const plan of plans) {
        signal?.throwIfAborted();
        await recordVariant(
          ctx,
          runner,
          loader,
          plan,
          params,
          (label) => ctx.progress?.(++done, total, `${plan.name}: ${label}`),
          (label) => ctx.progress?.(done, total, `${plan.name}: ${label}`),
        );
      }
    } finally {
      await runner.release();
    }
    return readMetricsJson(run.dir);
  },
};

function todo(run: RunFolder, params: EvaluateParams): VariantPlan[] {
  const metrics = metricsFor(run, params.inputs);
  return params.plans.filter((p) => !complete(metrics.variants[p.name], params.inputs));
}

/** Whether a recorded variant has every text and task of this setup. */
function complete(entry: VariantEntry | undefined, inputs: EvalInputs): boolean {
  return entry !== undefined && inputs.setup.perplexity.every((t) => entry.ppl[t.name] !== undefined) && inputs.tasks.every((t) => entry.tasks[t.name] !== undefined);
}

/** The run's metrics when they were measured under `inputs`' setup, else a fresh table. */
export function metricsFor(run: RunFolder, inputs: EvalInputs): RunMetrics {
  const current = readMetricsJson(run.dir);
  const compression = typeof run.manifest.config.method === 'string' ? run.manifest.config.method : null;
  if (JSON.stringify(current.eval) === JSON.stringify(inputs.setup)) return current;
  return { ...emptyMetrics(), compression, eval: inputs.setup };
}

/**
 * Measures one variant (loaded into `runner`) and records it in metrics.json (atomic).
 * `onStep` after each text or task; `onWithin` within one (tokens or items so far: on a real model one step is minutes).
 */
export async function recordVariant(ctx: StageContext, runner: ModelRunner, loader: VariantLoader, plan: VariantPlan, params: EvaluateParams, onStep: (label: string) => void, onWithin?: (label: string) => void): Promise<VariantEntry> {
  const { run, signal } = ctx;
  const adapterParams = loader.load(runner, plan);
  const measured = await measureVariant(runner, params.inputs, { signal, onStep, onWithin });
  const unmerged = plan.name === params.unmerged ? await scoreUnmerged(ctx, runner, loader, plan, params.inputs) : undefined;
  const metrics = metricsFor(run, params.inputs);
  const entry: VariantEntry = { name: plan.name, ...describeVariant(plan.name, metrics.compression), adapter: recordedAdapter(plan.name), adapter_params: adapterParams, ...measured, ...(unmerged === undefined ? {} : { unmerged_ppl: unmerged }) };
  metrics.variants[plan.name] = entry;
  writeMetricsJson(run.dir, metrics);
  return entry;
}

/** Perplexity of the first text with the variant's adapters applied unmerged on top of W_c (ModelRunner.setAdapter). */
async function scoreUnmerged(ctx: StageContext, runner: ModelRunner, loader: VariantLoader, plan: VariantPlan, inputs: EvalInputs): Promise<number> {
  loader.load(runner, { name: 'compressed' });
  for (const [linear, a] of readAdapters(ctx.run.dir, plan.name)) runner.setAdapter(linear, Float32Array.from(a.A.data), Float32Array.from(a.B.data), a.rank);
  try {
    const text = inputs.setup.perplexity[0];
    return (await scoreVariant(runner, inputs.texts[0], { file: text.file, tokens: text.tokens, seq_len: text.seq_len }, ctx.signal)).ppl;
  } finally {
    runner.clearAdapters();
  }
}

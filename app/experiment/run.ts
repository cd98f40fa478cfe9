// One experiment, end to end, into one run folder:
//
//   compress     layer by layer (pipeline/compress.ts), checkpointed per layer
//   compensate   decompositions, spectra, adapters per method × rank and per budget (pipeline/compensate.ts)
//   evaluate     every variant: perplexity on every text, accuracy on every task (same items),
//                recorded in metrics.json after each variant
//   samples      every variant: greedy continuations of the prompts, samples.json after each variant
//
// Resuming: rerunning with the same config and folder continues where it stopped — compress at
// the next layer, compensate from its start (it is deterministic and short), evaluate and
// samples at the first variant not yet recorded — and ends with the same files as a run that
// was never stopped (timing fields aside). Cancel (AbortSignal) marks the current stage
// 'stopped'; a killed process leaves it 'running' with a dead pid, which listRuns reports as
// stopped.
import { whileActive } from './active.js';
import type { Method } from '../compensate/decomposition.js';
import { ModelRunner } from '../forward/runner.js';
import { openModel, resourcesPath } from '../model/open.js';
import type { Model } from '../model/types.js';
import { runCompensate } from '../pipeline/compensate.js';
import { runCompress } from '../pipeline/compress.js';
import { readMetricsJson, writeMetricsJson } from '../run/files/metrics-json.js';
import { readSamplesJson, writeSamplesJson, type SamplesFile } from '../run/files/samples-json.js';
import { describeVariant, emptyMetrics, type RunMetrics, type VariantEntry } from '../run/metrics.js';
import { RunFolder, type StageName } from '../run/run.js';
import { evalInputs, measureVariant, sampleVariant, stepsPerVariant, type EvalInputs } from './evaluate.js';
import type { ExperimentConfig } from './schema.js';
import { plannedVariants, VariantLoader, type VariantPlan } from './variants.js';

export type ExperimentStage = 'compress' | 'compensate' | 'evaluate' | 'samples';

export interface ExperimentProgress {
  stage: ExperimentStage;
  done: number;
  total: number;
  label: string;
  /** Seconds left in this stage, from the pace since it (re)started. */
  eta_s?: number;
}

export interface ExperimentOptions {
  signal?: AbortSignal;
  onProgress?: (event: ExperimentProgress) => void;
}

export interface ExperimentSummary {
  run: string;
  variants: string[];
  seconds: number;
}

/** The stages an experiment with this config goes through, in order. */
export function experimentStages(config: ExperimentConfig): StageName[] {
  return ['compress', ...(config.compensation ? (['compensate'] as const) : []), 'evaluate', ...(config.evaluation.generation.prompts.length ? (['samples'] as const) : [])];
}

export function runExperiment(config: ExperimentConfig, outDir: string, options: ExperimentOptions = {}): Promise<ExperimentSummary> {
  return whileActive(outDir, () => experiment(config, outDir, options));
}

async function experiment(config: ExperimentConfig, outDir: string, options: ExperimentOptions): Promise<ExperimentSummary> {
  const started = performance.now();
  const emit = progressEmitter(options.onProgress);
  const model = await openModel(config.model);
  try {
    const inputs = evalInputs(config, model); // task and text problems surface before hours of compression
    const { device, ...recorded } = config;
    await runCompress(model, {
      quant: config.compression.quant,
      prune: config.compression.prune,
      calibFile: config.calibration.file ?? resourcesPath('data', 'tinystories', 'calibration.txt'),
      template: config.calibration.template ?? (config.calibration.field ? `{${config.calibration.field}}` : undefined),
      samples: config.calibration.samples,
      seqLen: config.calibration.seq_len,
      seed: config.calibration.seed,
      activations: config.calibration.activations,
      evalTokens: 0, // the evaluate stage scores every variant, original and compressed included
      evalFile: '',
      device,
      out: outDir,
      extraConfig: { experiment: recorded },
      records: { experiment: { stages: experimentStages(config) }, process: { pid: process.pid, started: new Date().toISOString() } },
      signal: options.signal,
      onProgress: (e) => e.phase === 'layers' && emit('compress', e.done, e.total, `layer ${e.done}/${e.total}`),
    });
    const run = RunFolder.open(outDir);

    const c = config.compensation;
    if (c && run.stage('compensate').status !== 'done') {
      await runCompensate(outDir, {
        methods: c.methods as Method[],
        ranks: c.ranks,
        budgets: c.budgets,
        adapterBits: c.adapter_bits,
        adapterGroupSize: c.adapter_group,
        rMax: c.r_max,
        modules: c.modules,
        evalTokens: 0,
        device,
        signal: options.signal,
        onProgress: (e) => e.phase === 'decompose' && emit('compensate', e.done, e.total, e.label),
      });
    }

    const plans = plannedVariants(config);
    await evaluateStage(RunFolder.open(outDir), model, plans, inputs, device, options.signal, emit);
    if (inputs.setup.generation) await samplesStage(RunFolder.open(outDir), model, plans, inputs, device, options.signal, emit);
    return { run: run.dir, variants: plans.map((p) => p.name), seconds: (performance.now() - started) / 1000 };
  } finally {
    model.close();
  }
}

type Emit = (stage: ExperimentStage, done: number, total: number, label: string) => void;

/** Adds eta_s from the pace since the stage's first event (a resumed stage starts mid-way). */
function progressEmitter(onProgress: ExperimentOptions['onProgress']): Emit {
  let current: { stage: ExperimentStage; t0: number; done0: number } | null = null;
  return (stage, done, total, label) => {
    if (!onProgress) return;
    const now = performance.now();
    if (current?.stage !== stage) current = { stage, t0: now, done0: done };
    const rate = (done - current.done0) / Math.max(now - current.t0, 1e-9);
    onProgress({ stage, done, total, label, ...(rate > 0 ? { eta_s: (total - done) / rate / 1000 } : {}) });
  };
}

/** Runs `body` as stage `name` of the run: running → done, or stopped (aborted) / failed with the error. */
async function asStage<T>(run: RunFolder, name: StageName, signal: AbortSignal | undefined, body: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  run.startStage(name);
  try {
    const result = await body();
    run.finishStage(name, 'done', (performance.now() - t0) / 1000);
    return result;
  } catch (error) {
    const aborted = signal?.aborted === true;
    run.finishStage(name, aborted ? 'stopped' : 'failed', (performance.now() - t0) / 1000, aborted ? undefined : (error as Error).message);
    throw error;
  }
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

/** Measures one variant (loaded into `runner`) and records it in metrics.json (atomic). */
export async function recordVariant(run: RunFolder, runner: ModelRunner, loader: VariantLoader, plan: VariantPlan, inputs: EvalInputs, signal: AbortSignal | undefined, onStep: (label: string) => void, onWithin?: (label: string) => void): Promise<VariantEntry> {
  const adapterParams = loader.load(runner, plan);
  const measured = await measureVariant(runner, inputs, { signal, onStep, onWithin });
  const metrics = metricsFor(run, inputs);
  const entry: VariantEntry = { name: plan.name, ...describeVariant(plan.name, metrics.compression), adapter: plan.adapter, adapter_params: adapterParams, ...measured };
  metrics.variants[plan.name] = entry;
  writeMetricsJson(run.dir, metrics);
  return entry;
}

async function evaluateStage(run: RunFolder, model: Model, plans: VariantPlan[], inputs: EvalInputs, device: ExperimentConfig['device'], signal: AbortSignal | undefined, emit: Emit): Promise<void> {
  const metrics = metricsFor(run, inputs);
  writeMetricsJson(run.dir, metrics); // a changed setup drops stale variants now, not after the first one
  const todo = plans.filter((p) => !complete(metrics.variants[p.name], inputs));
  if (todo.length === 0 && run.stage('evaluate').status === 'done') return;
  const steps = stepsPerVariant(inputs);
  const total = plans.length * steps;
  let done = (plans.length - todo.length) * steps;
  await asStage(run, 'evaluate', signal, async () => {
    const runner = await ModelRunner.create(model, { device });
    try {
      const loader = new VariantLoader(run, model);
      emit('evaluate', done, total, todo[0]?.name ?? 'done');
      for (const plan of todo) {
        signal?.throwIfAborted();
        await recordVariant(
          run,
          runner,
          loader,
          plan,
          inputs,
          signal,
          (label) => emit('evaluate', ++done, total, `${plan.name}: ${label}`),
          (label) => emit('evaluate', done, total, `${plan.name}: ${label}`),
        );
      }
    } finally {
      await runner.release();
    }
  });
}

export function readSamples(run: RunFolder, generation: NonNullable<EvalInputs['setup']['generation']>): SamplesFile {
  const current = readSamplesJson(run.dir);
  if (current && JSON.stringify(current.prompts) === JSON.stringify(generation.prompts) && current.max_new_tokens === generation.max_new_tokens) return current;
  return { ...generation, variants: {} };
}

async function samplesStage(run: RunFolder, model: Model, plans: VariantPlan[], inputs: EvalInputs, device: ExperimentConfig['device'], signal: AbortSignal | undefined, emit: Emit): Promise<void> {
  const generation = inputs.setup.generation!;
  const samples = readSamples(run, generation);
  const todo = plans.filter((p) => samples.variants[p.name] === undefined);
  if (todo.length === 0 && run.stage('samples').status === 'done') return;
  let done = plans.length - todo.length;
  await asStage(run, 'samples', signal, async () => {
    const runner = await ModelRunner.create(model, { device });
    try {
      const loader = new VariantLoader(run, model);
      emit('samples', done, plans.length, todo[0]?.name ?? 'done');
      for (const plan of todo) {
        signal?.throwIfAborted();
        loader.load(runner, plan);
        samples.variants[plan.name] = await sampleVariant(runner, generation, signal);
        writeSamplesJson(run.dir, samples);
        emit('samples', ++done, plans.length, plan.name);
      }
    } finally {
      await runner.release();
    }
  });
}

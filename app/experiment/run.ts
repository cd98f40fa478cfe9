// One experiment, end to end, into one run folder:
//
//   compress     layer by layer (stages/compress.ts), checkpointed per layer
//   compensate   decompositions, spectra, adapters per method × rank and per budget (stages/compensate.ts)
//   evaluate     every variant: perplexity on every text, accuracy on every task (same items),
//                recorded in metrics.json after each variant (stages/evaluate.ts)
//   samples      every variant: greedy continuations of the prompts, samples.json after each variant (stages/samples.ts)
//
// Each runs through the one stage driver (stages/driver.ts), which keeps run.json's bookkeeping.
//
// Resuming: rerunning with the same config and folder continues where it stopped — compress at
// the next layer, compensate from its start (it is deterministic and short), evaluate and
// samples at the first variant not yet recorded — and ends with the same files as a run that
// was never stopped (timing fields aside). Cancel (AbortSignal) marks the current stage
// 'stopped'; a killed process leaves it 'running' with a dead pid, which listRuns reports as
// stopped.
import { whileActive } from './active.js';
import type { Method } from '../compensate/decomposition.js';
import { openModel, resourcesPath } from '../model/open.js';
import type { StageName } from '../run/run.js';
import { evalInputs } from './evaluate.js';
import type { ExperimentConfig } from './schema.js';
import { compensateOnce } from './stages/compensate.js';
import { compressStage, openCompressRun } from './stages/compress.js';
import { runStage, type StageContext } from './stages/driver.js';
import { evaluateStage } from './stages/evaluate.js';
import { samplesStage } from './stages/samples.js';
import { plannedVariants } from './variants.js';

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
  /** What the user should know happened (a stale lock taken over, damaged files redone). */
  onLog?: (message: string) => void;
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
  return whileActive(outDir, () => experiment(config, outDir, options), 'run', options.onLog);
}

async function experiment(config: ExperimentConfig, outDir: string, options: ExperimentOptions): Promise<ExperimentSummary> {
  const started = performance.now();
  const emit = progressEmitter(options.onProgress);
  const model = await openModel(config.model);
  try {
    const inputs = evalInputs(config, model); // task and text problems surface before hours of compression
    const { device, ...recorded } = config;
    const { run, params } = openCompressRun(model, outDir, {
      quant: config.compression.quant,
      prune: config.compression.prune,
      calibFile: config.calibration.file ?? resourcesPath('data', 'tinystories', 'calibration.txt'),
      template: config.calibration.template ?? (config.calibration.field ? `{${config.calibration.field}}` : undefined),
      samples: config.calibration.samples,
      seqLen: config.calibration.seq_len,
      seed: config.calibration.seed,
      activations: config.calibration.activations,
      device,
      extraConfig: { experiment: recorded },
      records: { experiment: { stages: experimentStages(config) }, process: { pid: process.pid, started: new Date().toISOString() } },
      onLog: options.onLog,
    });
    const ctx = (stage: ExperimentStage): StageContext => ({ run, model, device, signal: options.signal, progress: (done, total, label) => emit(stage, done, total, label), log: options.onLog });
    await runStage(ctx('compress'), compressStage, params);

    const c = config.compensation;
    if (c) {
      await runStage(ctx('compensate'), compensateOnce, {
        methods: c.methods as Method[],
        ranks: c.ranks,
        budgets: c.budgets,
        adapterBits: c.adapter_bits,
        adapterGroupSize: c.adapter_group,
        rMax: c.r_max,
        modules: c.modules,
      });
    }

    const plans = plannedVariants(config);
    await runStage(ctx('evaluate'), evaluateStage, { plans, inputs });
    if (inputs.setup.generation) await runStage(ctx('samples'), samplesStage, { plans, generation: inputs.setup.generation });
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

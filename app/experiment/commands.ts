// `eora compress` and `eora compensate` as compositions of the experiment's stages (the same
// driver, the same block loop, the same evaluate stage as `eora run`): compress (+ evaluate
// original and compressed on one held-out text), compensate (+ evaluate every variant, the
// first one also unmerged). Their summaries are what the CLI prints.
import { formatMethod } from '../compress/index.js';
import { resourcesPath } from '../model/open.js';
import type { Model } from '../model/types.js';
import type { Device } from '../onnx/runtime.js';
import { readMetricsJson } from '../run/files/metrics-json.js';
import { withRunLock } from '../run/lock.js';
import { RunFolder } from '../run/run.js';
import { firstText, inputsOfText, type EvalConfig } from './evaluate.js';
import { compensateStage, type BudgetSummary, type CompensateParams, type MethodSummary } from './stages/compensate.js';
import { compressStage, openCompressRun, type Activations, type CompressSetup, type LinearRecord } from './stages/compress.js';
import { openRunModel, runStage, type StageContext } from './stages/driver.js';
import { evaluateStage } from './stages/evaluate.js';
import type { VariantPlan } from './variants.js';

export const DEFAULT_EVAL_TOKENS = 20_000;

const BASE_PLANS: VariantPlan[] = [{ name: 'original' }, { name: 'compressed' }];

export interface CompressOptions extends CompressSetup {
  /** 0 skips the perplexity evaluation. */
  evalTokens: number;
  evalFile: string;
  evalSeqLen?: number;
  out: string;
  /** Calibration windows per block run (default: ~8K tokens). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (event: CompressProgress) => void;
  /** Called after each finished (checkpointed) layer; tests stop a run here. */
  onLayerDone?: (layer: number) => void;
}

export type CompressProgress = { phase: 'layers'; done: number; total: number } | { phase: 'eval'; variant: string; done: number; total: number };

export interface CompressSummary {
  run: string;
  method: string;
  activations: Activations;
  resumed_from_layer: number | null;
  linears: LinearRecord[];
  mean_rel_output_error: number | null;
  ppl: { original: number; compressed: number } | null;
  seconds: number;
}

/** Compresses `model` into the run folder `options.out` (resuming a stopped run of the same config), then scores original and compressed. */
export function runCompress(model: Model, options: CompressOptions): Promise<CompressSummary> {
  return withRunLock(options.out, 'compress', () => compressInto(model, options), options.onLog);
}

async function compressInto(model: Model, options: CompressOptions): Promise<CompressSummary> {
  const started = performance.now();
  const { run, resumed, params } = openCompressRun(model, options.out, options);
  const stage = run.stage('compress');
  const resumedFrom = resumed && stage.status !== 'done' && (stage.layers_done ?? 0) > 0 ? stage.layers_done! : null;
  const ctx: StageContext = { run, model, device: options.device, signal: options.signal, progress: (done, total) => options.onProgress?.({ phase: 'layers', done, total }), log: options.onLog };
  const records = await runStage(ctx, compressStage, { ...params, batch: options.batch, onLayerDone: options.onLayerDone });

  let ppl: CompressSummary['ppl'] = null;
  if (options.evalTokens > 0) {
    const config = { file: options.evalFile, tokens: options.evalTokens, seq_len: options.evalSeqLen ?? Math.min(model.config.max_position_embeddings, 512) };
    const metrics = await runStage({ ...ctx, progress: (done, total, label) => options.onProgress?.({ phase: 'eval', variant: label.split(':')[0], done, total }) }, evaluateStage, { plans: BASE_PLANS, inputs: inputsOfText(config, model.tokenizer), remeasure: true });
    ppl = { original: firstPpl(metrics.variants.original), compressed: firstPpl(metrics.variants.compressed) };
  }
  const errors = records.map((r) => r.rel_output_error).filter((e): e is number => e !== null);
  return {
    run: run.dir,
    method: formatMethod(params.spec),
    activations: params.activations,
    resumed_from_layer: resumedFrom,
    linears: records,
    mean_rel_output_error: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : null,
    ppl,
    seconds: (performance.now() - started) / 1000,
  };
}

export interface CompensateOptions extends CompensateParams {
  /** Default: the run's eval config from metrics.json, else 20 000 tokens of the bundled validation text. */
  evalTokens?: number;
  evalFile?: string;
  device: Device;
  signal?: AbortSignal;
  onProgress?: (event: { phase: 'decompose' | 'eval'; done: number; total: number; label: string }) => void;
  onLog?: (message: string) => void;
}

export interface CompensateSummary {
  run: string;
  methods: MethodSummary[];
  /** The first of `budgets` (the `--budget` one). */
  budget: BudgetSummary | null;
  budgets: BudgetSummary[];
  ppl: { original: number; compressed: number } | null;
  seconds: number;
}

/** Adapters for a compressed run (compensate stage), then held-out perplexity of every variant (evaluate stage). */
export function runCompensate(dir: string, options: CompensateOptions): Promise<CompensateSummary> {
  return withRunLock(dir, 'compensate', () => compensateInto(dir, options), options.onLog);
}

async function compensateInto(dir: string, options: CompensateOptions): Promise<CompensateSummary> {
  const started = performance.now();
  const run = RunFolder.open(dir);
  const model = await openRunModel(run);
  try {
    const ctx: StageContext = { run, model, device: options.device, signal: options.signal, progress: (done, total, label) => options.onProgress?.({ phase: 'decompose', done, total, label }), log: options.onLog };
    const made = await runStage(ctx, compensateStage, options);
    const { methods, budgets } = made;
    const evalConfig = evalConfigOf(run, model.config.max_position_embeddings, options);
    let ppl: CompensateSummary['ppl'] = null;
    if (evalConfig) {
      const first = methods[0]?.ranks[0];
      const unmerged = first ? `${methods[0].method}-r${first.rank}` : undefined;
      const adapterPlans = made.variants.map((name) => ({ name }));
      const plans = [...BASE_PLANS, ...adapterPlans];
      const metrics = await runStage(
        { ...ctx, progress: (done, total, label) => options.onProgress?.({ phase: 'eval', done, total, label }) },
        evaluateStage,
        { plans, inputs: inputsOfText(evalConfig, model.tokenizer), remeasure: new Set(adapterPlans.map((p) => p.name)), unmerged }, // original and compressed: once
      );
      const pplOf = (name: string) => firstPpl(metrics.variants[name]);
      for (const m of methods) for (const row of m.ranks) row.ppl = pplOf(`${m.method}-r${row.rank}`);
      if (unmerged) methods[0].ranks[0].unmerged_ppl = metrics.variants[unmerged]?.unmerged_ppl ?? null;
      for (const b of budgets) b.ppl = pplOf(b.name);
      ppl = { original: pplOf('original'), compressed: pplOf('compressed') };
      Object.assign(run.manifest.records.compensate as object, { eval: evalConfig, summary: { methods, budgets } });
      run.save();
    }
    return { run: run.dir, methods, budget: made.budget, budgets, ppl, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.close();
  }
}

function evalConfigOf(run: RunFolder, maxPositions: number, options: CompensateOptions): EvalConfig | null {
  const existing = firstText(readMetricsJson(run.dir));
  if (options.evalTokens === 0) return null;
  if (existing && options.evalTokens === undefined && options.evalFile === undefined) return existing;
  return {
    file: options.evalFile ?? existing?.file ?? resourcesPath('data', 'tinystories', 'validation.txt'),
    tokens: options.evalTokens ?? existing?.tokens ?? DEFAULT_EVAL_TOKENS,
    seq_len: existing?.seq_len ?? Math.min(maxPositions, 512),
  };
}

/** The perplexity of a recorded one-text variant. */
function firstPpl(entry: { ppl: Record<string, { ppl: number }> } | undefined): number {
  const value = entry ? Object.values(entry.ppl)[0]?.ppl : undefined;
  if (value === undefined) throw new Error('evaluate stage recorded no perplexity');
  return value;
}

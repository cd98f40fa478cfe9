// The compress stage: every block of the model compressed on the inputs it will really see,
// through the one block loop (blocks.ts: checkpoints, resume, assembly of the run files).
//
//   activations 'sequential' (default, the GPTQ convention): block i sees the outputs of
//     blocks 0..i−1 *as already compressed*; inside the block the linears go in the reference's
//     sequential groups [[q, k, v], [o], [gate, up], [down]] and the block is re-run between
//     groups, so o_proj is calibrated on attention outputs computed with compressed q/k/v, and
//     down_proj on MLP activations computed with compressed gate/up.
//   activations 'original' (--no-sequential): every block is calibrated on the original
//     model's activations (one stats pass per block, original weights throughout).
//
// Per block: C = Σ x xᵀ per input group (float64 sums of the block graph's XᵀX), one prepared
// Hessian shared by the linears of a group (q/k/v; gate/up), compress, setWeight, re-run.
// Memory: one block's weights (the runner's cache) and its compressed copy; a finished block's
// W_c goes to partial/ and is dropped (README "Memory model").
import { totalmem } from 'node:os';
import { calibrationSet, type CalibrationSet } from '../../calibrate/data.js';
import { linearMetricsOrt, ORT_METRICS_MIN_IN } from '../../compress/ort-metrics.js';
import { gptqSteps, sparsegptSteps, compressLinear, parseMethod, formatMethod, CompressError, type CompressResult, type MethodSpec, type SecondMoment } from '../../compress/index.js';
import type { LinearWeight } from '../../compress/types.js';
import { GramAccumulator, gramOf, type GramName } from '../../forward/calibration.js';
import { weightAccount } from '../../forward/memory.js';
import { layerPrefix } from '../../forward/weights.js';
import { ModelRunner } from '../../forward/runner.js';
import { prepareHessianOrt } from '../../compress/ort-factor.js';
import { runSweepOrt } from '../../compress/ort-sweep.js';
import type { LinearInfo, LinearKind, Model } from '../../model/types.js';
import type { Device } from '../../onnx/runtime.js';
import { openCompressed } from '../../run/files/compressed.js';
import { readLayersJson, type LinearRecord } from '../../run/files/layers-json.js';
import { RunFolder } from '../../run/run.js';
import { calibrateBlocks, linearRecord, momentsOf, weightKey, type BlockStep } from './blocks.js';
import type { Stage } from './driver.js';

export type Activations = 'sequential' | 'original';
export type { LinearRecord };

/** The reference's sequential groups; each is calibrated after the previous one is compressed. */
export const SEQUENTIAL_GROUPS: readonly (readonly LinearKind[])[] = [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']];
const ALL_LINEARS: readonly LinearKind[] = SEQUENTIAL_GROUPS.flat();

/** What determines a compression (run.json's config; a resume must present the same). */
export interface CompressSetup {
  /** `gptq:w3g32`, `rtn:w4g128`, `none`. */
  quant: string;
  /** `sparsegpt:2:4`, `wanda:0.5`, `magnitude:2:4`, `none`. */
  prune: string;
  calibFile: string;
  template?: string;
  samples: number;
  seqLen: number;
  seed: number;
  activations: Activations;
  device: Device;
  /** More config recorded in run.json (an experiment's whole config). */
  extraConfig?: Record<string, unknown>;
  /** More facts for run.json's records, written before the first layer. */
  records?: Record<string, unknown>;
  /** What the user should know happened (a stale lock taken over, a dead writer's temp file removed, damaged files redone). */
  onLog?: (message: string) => void;
}

export interface CompressParams {
  spec: MethodSpec;
  calib: CalibrationSet;
  activations: Activations;
  /** Calibration windows per block run (default: ~8K tokens). */
  batch?: number;
  /** Called after each finished (checkpointed) layer; tests stop a run here. */
  onLayerDone?: (layer: number) => void;
}

/**
 * --quant and --prune as one method spec: either alone, or SparseGPT's joint mode
 * (sparsegpt:2:4 + gptq:w4g128 → sparsegpt:2:4+w4g128). RTN or magnitude/Wanda combined with
 * quantization is refused: those methods have no joint algorithm here.
 */
export function resolveMethod(quant: string, prune: string): MethodSpec {
  const q = parseMethod(quant);
  const p = parseMethod(prune);
  if (q.method !== 'none' && q.method !== 'rtn' && q.method !== 'gptq') throw new CompressError(`--quant takes gptq:…, rtn:… or none, got '${quant}'`);
  if (p.method !== 'none' && p.method !== 'magnitude' && p.method !== 'wanda' && p.method !== 'sparsegpt') throw new CompressError(`--prune takes sparsegpt:…, wanda:…, magnitude:… or none, got '${prune}'`);
  if (p.method === 'none') return q;
  if (q.method === 'none') return p;
  if (p.method !== 'sparsegpt' || p.quant) throw new CompressError(`pruning and quantizing together needs --prune sparsegpt (joint mode); got --prune '${prune}' with --quant '${quant}'`);
  if (q.method !== 'gptq') throw new CompressError(`SparseGPT's joint mode quantizes with its own OBS updates (GPTQ-style); use --quant gptq:… with --prune sparsegpt, got '${quant}'`);
  if (q.actOrder || q.staticGroups) throw new CompressError(`SparseGPT's joint mode sweeps columns in order: act-order and static groups do not apply`);
  return { method: 'sparsegpt', sparsity: p.sparsity, quant: q.quant, percdamp: q.percdamp, blockSize: q.blockSize };
}

/**
 * The calibration activations, a block's input and output [N, L, d] float32, stay resident
 * for the whole stage (there is no disk spill): refuse up front, naming the numbers, when they
 * would take more than half the machine's memory instead of failing hours in.
 */
export function checkActivationMemory(samples: number, seqLen: number, hidden: number, memory = totalmem()): void {
  const bytes = 2 * samples * seqLen * hidden * 4;
  if (bytes > memory / 2) {
    const gb = (b: number) => (b / 1024 ** 3).toFixed(1);
    throw new CompressError(`calibration activations need ${gb(bytes)} GiB (2 × ${samples} samples × ${seqLen} tokens × d ${hidden} × 4 bytes), more than half of this machine's ${gb(memory)} GiB; lower --samples or --seq-len`);
  }
}

/**
 * Creates the run folder for a compression of `model` (or opens the stopped run of the same
 * config in it), with the calibration windows recorded; returns the stage's parameters.
 */
export function openCompressRun(model: Model, out: string, setup: CompressSetup): { run: RunFolder; resumed: boolean; params: CompressParams } {
  const spec = resolveMethod(setup.quant, setup.prune);
  checkActivationMemory(setup.samples, setup.seqLen, model.config.hidden_size);
  const calib = calibrationSet(setup.calibFile, model.tokenizer, { samples: setup.samples, seqLen: setup.seqLen, seed: setup.seed, template: setup.template });
  const config = {
    quant: setup.quant,
    prune: setup.prune,
    method: formatMethod(spec),
    activations: setup.activations,
    sequential_groups: setup.activations === 'sequential' ? SEQUENTIAL_GROUPS : [ALL_LINEARS],
    calibration: { file: calib.file, format: calib.format, template: calib.template, samples: calib.samples, seq_len: calib.seqLen, seed: calib.seed, sha256: calib.sha256 },
    ...setup.extraConfig,
  };
  const { run, resumed } = RunFolder.createOrResume(out, model, setup.device, config, setup.onLog);
  run.manifest.records.calibration = { windows: calib.starts, stream_tokens: calib.streamTokens, documents: calib.documents };
  Object.assign(run.manifest.records, setup.records);
  run.save();
  return { run, resumed, params: { spec, calib, activations: setup.activations } };
}

/** Compresses every block not yet checkpointed; a finished stage gives its records back from layers.json. */
export const compressStage: Stage<CompressParams, LinearRecord[]> = {
  name: 'compress',
  resume: (ctx) => loadCompressed(ctx.run),
  async run(ctx, params) {
    const runner = await ModelRunner.create(ctx.model, { device: ctx.device });
    try {
      return await calibrateBlocks(ctx, runner, { calib: params.calib, batch: params.batch, source: 'eora compress', step: compressBlock(runner, params, ctx.signal), quant: 'quant' in params.spec ? (params.spec.quant ?? null) : null, onLayerDone: params.onLayerDone });
    } finally {
      await runner.release();
    }
  },
};

/** One block, group by group: calibrate the group's input, compress its linears, put W_c in place (sequential) and go on. */
function compressBlock(runner: ModelRunner, params: CompressParams, signal?: AbortSignal): BlockStep {
  const { spec, activations } = params;
  return async (layer, info, hidden, pass) => {
    const moments = new Map<GramName, SecondMoment>();
    const results = new Map<LinearKind, CompressResult>();
    const records = new Map<LinearKind, LinearRecord>();
    const groups = activations === 'sequential' ? SEQUENTIAL_GROUPS : [ALL_LINEARS];
    let next: Float32Array | null = null;
    for (const group of groups) {
      signal?.throwIfAborted();
      const acc = new GramAccumulator(runner.block, group.map((k) => gramOf[k])); // only this group's input
      const out = await pass(layer, hidden, acc);
      if (activations === 'original') next = out; // original weights: this pass is the block's output
      for (const [gram, moment] of momentsOf(acc, new Set(group.map((k) => gramOf[k])))) moments.set(gram, moment);
      for (const [kind, { result, record }] of await compressGroup(spec, group.map((k) => info.get(k)!), runner, moments)) {
        results.set(kind, result);
        records.set(kind, record);
      }
      weightAccount.hold('compress W_c', [...results.values()].map((r) => r.wc));
      if (activations === 'sequential') for (const kind of group) runner.setWeight(weightKey(info.get(kind)!), results.get(kind)!.wc);
    }
    if (next === null) next = await pass(layer, hidden, null);
    return { results, records, moments, next };
  };
}

/**
 * Compresses one group of linears sharing an input; GPTQ/SparseGPT share one prepared Hessian.
 * W comes from the runner's block cache (no second copy), for the sweeps and then the metrics.
 */
async function compressGroup(spec: MethodSpec, group: LinearInfo[], runner: ModelRunner, moments: Map<GramName, SecondMoment>): Promise<Map<LinearKind, { result: CompressResult; record: LinearRecord }>> {
  const moment = moments.get(gramOf[group[0].kind])!;
  const layerOf = (l: LinearInfo): LinearWeight => ({ w: runner.blockTensor(l.layer, weightKey(l).slice(layerPrefix(l.layer).length)), out: l.out, in: l.in });
  const compressed = await sweepGroup(spec, group, runner, moment, layerOf);
  // The metrics once the sweeps' frame, and with it the Hessian's factor (a float64 [n, n]), is
  // gone: at n = 14336 the float32 copy of C then takes its place instead of adding to the peak.
  // One copy for the group (q/k/v, gate/up share C).
  const c32 = group[0].in >= ORT_METRICS_MIN_IN ? Float32Array.from(moment.C) : undefined;
  const results = new Map<LinearKind, { result: CompressResult; record: LinearRecord }>();
  for (const l of group) {
    const result = compressed.get(l.kind)!;
    const m = await linearMetricsOrt(runner.sessions, layerOf(l), result, moment, { c32 }); // n ≥ 1024: traces in ORT
    results.set(l.kind, { result, record: linearRecord(l, m) });
  }
  return results;
}

/**
 * The group's sweeps, in their own async function on purpose: the prepared Hessian is released
 * when it returns (a suspended async frame keeps block-scoped values reachable; stages/blocks.ts).
 */
async function sweepGroup(spec: MethodSpec, group: LinearInfo[], runner: ModelRunner, moment: SecondMoment, layerOf: (l: LinearInfo) => LinearWeight): Promise<Map<LinearKind, CompressResult>> {
  const n = group[0].in;
  // From n = 1024 on, the O(n³) inverse-Cholesky factor runs as blocked onnxruntime Gemms
  // (compress/ort-factor.ts); below that the float64 JS factor is faster than the round trips.
  const prepared =
    spec.method === 'gptq'
      ? await prepareHessianOrt(runner.sessions, moment, n, { percdamp: spec.percdamp, actOrder: spec.actOrder })
      : spec.method === 'sparsegpt'
        ? await prepareHessianOrt(runner.sessions, moment, n, { percdamp: spec.percdamp })
        : null;
  const compressed = new Map<LinearKind, CompressResult>();
  for (const l of group) {
    const layer = layerOf(l);
    // The sweeps' lazy block updates run as ORT Gemms from n = 1024 on (compress/ort-sweep.ts).
    if (spec.method === 'gptq') compressed.set(l.kind, await runSweepOrt(runner.sessions, gptqSteps(layer, prepared!, { ...spec.quant, actOrder: spec.actOrder, staticGroups: spec.staticGroups, percdamp: spec.percdamp, blockSize: spec.blockSize })));
    else if (spec.method === 'sparsegpt') compressed.set(l.kind, await runSweepOrt(runner.sessions, sparsegptSteps(layer, prepared!, { sparsity: spec.sparsity, quant: spec.quant, percdamp: spec.percdamp, blockSize: spec.blockSize })));
    else compressed.set(l.kind, compressLinear(spec, layer, moment));
  }
  return compressed;
}

/** A finished run's per-linear records (W_c stays in compressed.safetensors, read when needed). */
export function loadCompressed(run: RunFolder): LinearRecord[] {
  openCompressed(run.dir).close();
  return readLayersJson(run.dir);
}

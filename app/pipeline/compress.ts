// The architecture driver of compression (GPTQ's llama.py `llama_sequential`, redone): the
// calibration batch's hidden state passes block by block, and each block is compressed on the
// inputs it will really see.
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
// W_c goes to partial/ and is dropped (runner.releaseLayer), and compressed.safetensors is
// assembled from partial/ tensor by tensor. The calibration activations, [N, L, d] float32 in
// and out of the current block, are the other large resident (README "Memory model").
// After each block a checkpoint (W_c, C, metrics, and the next block's input hidden state) is
// written under partial/, so a stopped run resumes at the next block and gives bit-identical
// results (everything downstream depends only on that hidden state and the original weights).
import { rmSync, mkdirSync, existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { calibrationSet, type CalibrationSet } from '../calibrate/data.js';
import { gptqSteps, sparsegptSteps, compressLinear, parseMethod, formatMethod, CompressError, type CompressResult, type MethodSpec, type SecondMoment } from '../compress/index.js';
import { GramAccumulator, gramOf, type GramName } from '../forward/calibration.js';
import { weightAccount } from '../forward/memory.js';
import { layerPrefix } from '../forward/weights.js';
import { ModelRunner } from '../forward/runner.js';
import { prepareHessianOrt } from '../compress/ort-factor.js';
import { runSweepOrt } from '../compress/ort-sweep.js';
import { linearMetricsOrt } from '../compress/ort-metrics.js';
import { linears } from '../model/inspect.js';
import type { LinearInfo, LinearKind, Model } from '../model/types.js';
import type { Device } from '../onnx/runtime.js';
import { TensorFile, writeSafetensors, type TensorToWrite } from '../run/safetensors-writer.js';
import type { WeightSource } from '../forward/runner.js';
import { RunError, RunFolder } from '../run/run.js';
import { isQuantTensor, QUANT_FILE, quantTensors, writeQuantFile } from '../export/quant-state.js';
import { heldOutPrefix, readText, recordVariants, scoreVariant, type EvalConfig, type VariantMetrics } from './evaluate.js';

export type Activations = 'sequential' | 'original';

/** The reference's sequential groups; each is calibrated after the previous one is compressed. */
export const SEQUENTIAL_GROUPS: readonly (readonly LinearKind[])[] = [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']];
const ALL_LINEARS: readonly LinearKind[] = SEQUENTIAL_GROUPS.flat();
const GRAMS: readonly GramName[] = ['attn_in', 'o_in', 'mlp_in', 'down_in'];

export interface CompressOptions {
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
  /** 0 skips the perplexity evaluation. */
  evalTokens: number;
  evalFile: string;
  evalSeqLen?: number;
  device: Device;
  out: string;
  /** Calibration windows per block run (default: ~8K tokens). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (event: CompressProgress) => void;
  /** More config recorded in run.json (an experiment's whole config): a resume must present the same. */
  extraConfig?: Record<string, unknown>;
  /** More facts for run.json's records (who runs it: the process id), written before the first layer. */
  records?: Record<string, unknown>;
  /** Called after each finished (checkpointed) layer; tests stop a run here. */
  onLayerDone?: (layer: number) => void;
}

export type CompressProgress = { phase: 'layers'; done: number; total: number } | { phase: 'eval'; variant: string; done: number; total: number };

export interface LinearRecord {
  name: string;
  layer: number;
  kind: LinearKind;
  out: number;
  in: number;
  rel_weight_error: number;
  rel_output_error: number | null;
  sparsity: number;
  bits_per_weight: number;
}

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

/** Compresses `model` into the run folder `options.out`, resuming a stopped run of the same config. */
export async function runCompress(model: Model, options: CompressOptions): Promise<CompressSummary> {
  const started = performance.now();
  const spec = resolveMethod(options.quant, options.prune);
  checkActivationMemory(options.samples, options.seqLen, model.config.hidden_size);
  const calib = calibrationSet(options.calibFile, model.tokenizer, { samples: options.samples, seqLen: options.seqLen, seed: options.seed, template: options.template });
  const evalConfig: EvalConfig | null =
    options.evalTokens > 0 ? { file: options.evalFile, tokens: options.evalTokens, seq_len: options.evalSeqLen ?? Math.min(model.config.max_position_embeddings, 512) } : null;
  const config = {
    quant: options.quant,
    prune: options.prune,
    method: formatMethod(spec),
    activations: options.activations,
    sequential_groups: options.activations === 'sequential' ? SEQUENTIAL_GROUPS : [ALL_LINEARS],
    calibration: { file: calib.file, format: calib.format, template: calib.template, samples: calib.samples, seq_len: calib.seqLen, seed: calib.seed, sha256: calib.sha256 },
    ...options.extraConfig,
  };
  const { run, resumed } = RunFolder.createOrResume(options.out, model, options.device, config);
  run.manifest.records.calibration = { windows: calib.starts, stream_tokens: calib.streamTokens, documents: calib.documents };
  Object.assign(run.manifest.records, options.records);
  run.save();

  const runner = await ModelRunner.create(model, { device: options.device });
  try {
    const stage = run.stage('compress');
    const resumedFrom = resumed && stage.status !== 'done' && (stage.layers_done ?? 0) > 0 ? stage.layers_done! : null;
    let compressed: Compressed;
    if (stage.status === 'done') compressed = loadCompressed(run);
    else {
      const t0 = performance.now();
      run.startStage('compress');
      try {
        compressed = await compressLayers(run, runner, spec, calib, options);
      } catch (error) {
        const aborted = options.signal?.aborted === true;
        run.finishStage('compress', aborted ? 'stopped' : 'failed', (performance.now() - t0) / 1000, aborted ? undefined : String((error as Error).message));
        throw error;
      }
      run.finishStage('compress', 'done', (performance.now() - t0) / 1000);
    }
    const records = compressed.records;

    let ppl: CompressSummary['ppl'] = null;
    if (evalConfig) ppl = await evaluateCompressed(run, runner, evalConfig, options);

    const errors = records.map((r) => r.rel_output_error).filter((e): e is number => e !== null);
    return {
      run: run.dir,
      method: formatMethod(spec),
      activations: options.activations,
      resumed_from_layer: resumedFrom,
      linears: records,
      mean_rel_output_error: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : null,
      ppl,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await runner.release();
  }
}

const layerFile = (layer: number) => `layer-${String(layer).padStart(4, '0')}`;
const gramKey = (layer: number, gram: GramName) => `model.layers.${layer}.${gram}`;
const weightKey = (linear: LinearInfo) => `${linear.name}.weight`;

/** The per-linear records of a finished stage (W_c stays in compressed.safetensors: see compressedSource). */
interface Compressed {
  records: LinearRecord[];
}

async function compressLayers(run: RunFolder, runner: ModelRunner, spec: MethodSpec, calib: CalibrationSet, options: CompressOptions): Promise<Compressed> {
  const { config } = runner;
  const L = calib.seqLen;
  const N = calib.samples;
  const d = config.hidden_size;
  const batch = options.batch ?? Math.max(1, Math.floor(8192 / L));
  const stage = run.stage('compress');
  const partial = run.path('partial');
  mkdirSync(partial, { recursive: true });
  const byLayer = groupBy(linears(runner.model), (l) => l.layer);

  // The input of the first unfinished block: the embeddings, or the checkpointed hidden state.
  const first = stage.layers_done ?? 0;
  let hidden: Float32Array; // [N, L, d]
  if (first === 0) hidden = runner.embed(calib.tokens, [N, L]);
  else {
    const file = TensorFile.open(run.path('partial', 'hidden.safetensors'));
    try {
      if (file.metadata.next_layer !== String(first)) throw new RunError(`${run.dir}: partial/hidden.safetensors is for layer ${file.metadata.next_layer}, run.json says ${first}; delete the run folder and start again`);
      hidden = file.f32('hidden');
    } finally {
      file.close();
    }
  }

  const pass = async (layer: number, x: Float32Array, acc: GramAccumulator | null): Promise<Float32Array> => {
    const y = new Float32Array(x.length);
    for (let b0 = 0; b0 < N; b0 += batch) {
      const B = Math.min(batch, N - b0);
      const r = await runner.runBlock(layer, x.slice(b0 * L * d, (b0 + B) * L * d), [B, L], acc?.names ?? false);
      y.set(r.hidden, b0 * L * d);
      if (acc && r.stats) acc.add(r.stats);
    }
    return y;
  };

  options.onProgress?.({ phase: 'layers', done: first, total: config.num_layers });
  for (let layer = first; layer < config.num_layers; layer++) {
    options.signal?.throwIfAborted();
    const t0 = performance.now();
    const info = new Map(byLayer.get(layer)!.map((l) => [l.kind, l]));
    const moments = new Map<GramName, SecondMoment>();
    const results = new Map<LinearKind, CompressResult>();
    const metrics = new Map<LinearKind, LinearRecord>();
    const records: LinearRecord[] = [];
    const groups = options.activations === 'sequential' ? SEQUENTIAL_GROUPS : [ALL_LINEARS];
    let next: Float32Array | null = null;
    for (const group of groups) {
      options.signal?.throwIfAborted();
      const acc = new GramAccumulator(runner.block, group.map((k) => gramOf[k])); // only this group's input
      const out = await pass(layer, hidden, acc);
      if (options.activations === 'original') next = out; // original weights: this pass is the block's output
      for (const gram of new Set(group.map((k) => gramOf[k]))) moments.set(gram, { C: acc.sums[gram], nTokens: acc.tokens });
      for (const [kind, { result, record }] of await compressGroup(spec, group.map((k) => info.get(k)!), runner, moments)) {
        results.set(kind, result);
        metrics.set(kind, record);
      }
      weightAccount.hold('compress W_c', [...results.values()].map((r) => r.wc));
      if (options.activations === 'sequential') for (const kind of group) runner.setWeight(weightKey(info.get(kind)!), results.get(kind)!.wc);
    }
    if (next === null) next = await pass(layer, hidden, null);

    for (const kind of ALL_LINEARS) records.push(metrics.get(kind)!);
    // Checkpoint: this layer's W_c, C and metrics, then the next block's input, then run.json.
    const tensors: TensorToWrite[] = ALL_LINEARS.map((kind) => {
      const l = info.get(kind)!;
      return { name: weightKey(l), dtype: 'F32', shape: [l.out, l.in], data: results.get(kind)!.wc };
    });
    for (const kind of ALL_LINEARS) tensors.push(...quantTensors(info.get(kind)!.name, results.get(kind)!)); // exact codes for exports
    const metadata: Record<string, string> = {};
    for (const gram of GRAMS) {
      const m = moments.get(gram)!;
      const k = Math.round(Math.sqrt(m.C.length));
      tensors.push({ name: gramKey(layer, gram), dtype: 'F64', shape: [k, k], data: m.C });
      metadata[`${gramKey(layer, gram)}.tokens`] = String(m.nTokens);
    }
    writeSafetensors(run.path('partial', `${layerFile(layer)}.safetensors`), tensors, metadata);
    run.writeJson(`partial/${layerFile(layer)}.json`, records);
    writeSafetensors(run.path('partial', 'hidden.safetensors'), [{ name: 'hidden', dtype: 'F32', shape: [N, L, d], data: next }], { next_layer: String(layer + 1) });
    stage.layers_done = layer + 1;
    (stage.layer_seconds ??= []).push((performance.now() - t0) / 1000);
    run.save();
    runner.releaseLayer(layer); // its W_c is on disk now
    weightAccount.release('compress W_c');
    hidden = next;
    options.onProgress?.({ phase: 'layers', done: layer + 1, total: config.num_layers });
    options.onLayerDone?.(layer);
  }

  return assemble(run, byLayer);
}

/**
 * Compresses one group of linears sharing an input; GPTQ/SparseGPT share one prepared Hessian.
 * W comes from the runner's block cache (no second copy) and the metrics are taken while it is
 * at hand.
 */
async function compressGroup(spec: MethodSpec, group: LinearInfo[], runner: ModelRunner, moments: Map<GramName, SecondMoment>): Promise<Map<LinearKind, { result: CompressResult; record: LinearRecord }>> {
  const results = new Map<LinearKind, { result: CompressResult; record: LinearRecord }>();
  const moment = moments.get(gramOf[group[0].kind])!;
  const n = group[0].in;
  // From n = 1024 on, the O(n³) inverse-Cholesky factor runs as blocked onnxruntime Gemms
  // (compress/ort-factor.ts); below that the float64 JS factor is faster than the round trips.
  const prepared =
    spec.method === 'gptq'
      ? await prepareHessianOrt(runner.sessions, moment, n, { percdamp: spec.percdamp, actOrder: spec.actOrder })
      : spec.method === 'sparsegpt'
        ? await prepareHessianOrt(runner.sessions, moment, n, { percdamp: spec.percdamp })
        : null;
  for (const l of group) {
    const layer = { w: runner.blockTensor(l.layer, weightKey(l).slice(layerPrefix(l.layer).length)), out: l.out, in: l.in };
    let result: CompressResult;
    // The sweeps' lazy block updates run as ORT Gemms from n = 1024 on (compress/ort-sweep.ts).
    if (spec.method === 'gptq') result = await runSweepOrt(runner.sessions, gptqSteps(layer, prepared!, { ...spec.quant, actOrder: spec.actOrder, staticGroups: spec.staticGroups, percdamp: spec.percdamp, blockSize: spec.blockSize }));
    else if (spec.method === 'sparsegpt') result = await runSweepOrt(runner.sessions, sparsegptSteps(layer, prepared!, { sparsity: spec.sparsity, quant: spec.quant, percdamp: spec.percdamp, blockSize: spec.blockSize }));
    else result = compressLinear(spec, layer, moment);
    const m = await linearMetricsOrt(runner.sessions, layer, result, moment); // n ≥ 1024: traces in ORT
    const record = { name: l.name, layer: l.layer, kind: l.kind, out: l.out, in: l.in, rel_weight_error: m.relWeightError, rel_output_error: m.relOutputError, sparsity: m.sparsity, bits_per_weight: m.bitsPerWeight };
    results.set(l.kind, { result, record });
  }
  return results;
}

/**
 * partial/ → compressed.safetensors, calibration.safetensors, layers.json; then partial/ is
 * removed. Tensor by tensor: each is read from its layer file when the writer reaches it.
 */
function assemble(run: RunFolder, byLayer: Map<number, LinearInfo[]>): Compressed {
  const weights: TensorToWrite[] = [];
  const grams: TensorToWrite[] = [];
  const quant: TensorToWrite[] = []; // codes, scales, zeros (export/quant-state.ts)
  const metadata: Record<string, string> = {};
  const records: LinearRecord[] = [];
  const opened: TensorFile[] = [];
  try {
    for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
      const file = TensorFile.open(run.path('partial', `${layerFile(layer)}.safetensors`));
      opened.push(file);
      for (const l of byLayer.get(layer)!) weights.push({ name: weightKey(l), dtype: 'F32', shape: [l.out, l.in], data: () => file.f32(weightKey(l)) });
      for (const name of file.file.tensors.keys()) if (isQuantTensor(name)) quant.push({ name, dtype: 'F32', shape: file.shape(name), data: () => file.f32(name) });
      for (const gram of GRAMS) {
        const key = gramKey(layer, gram);
        grams.push({ name: key, dtype: 'F64', shape: file.shape(key), data: () => file.f64(key) });
        metadata[`${key}.tokens`] = file.metadata[`${key}.tokens`];
      }
      records.push(...run.readJson<LinearRecord[]>(`partial/${layerFile(layer)}.json`)!);
    }
    writeSafetensors(run.path('compressed.safetensors'), weights, { format: 'pt', source: 'eora compress' });
    writeSafetensors(run.path('calibration.safetensors'), grams, { ...metadata, content: 'C = sum over calibration tokens of x x^T per layer input group (attn_in: q/k/v, o_in: o, mlp_in: gate/up, down_in: down)' });
    if (quant.length > 0) writeQuantFile(run.path(QUANT_FILE), quant);
  } finally {
    for (const f of opened) f.close();
  }
  run.writeJson('layers.json', records);
  rmSync(run.path('partial'), { recursive: true, force: true });
  return { records };
}

/** A finished run's per-linear records. */
export function loadCompressed(run: RunFolder): Compressed {
  if (!existsSync(run.path('compressed.safetensors'))) throw new RunError(`${run.dir}: run.json says compression is done but compressed.safetensors is missing`);
  return { records: run.readJson<LinearRecord[]>('layers.json') ?? [] };
}

/** One tensor of a run file as float32, opening the file for this read only (its header is small next to a tensor). */
export function readRunTensor(path: string, name: string): Float32Array {
  const file = TensorFile.open(path);
  try {
    return file.f32(name);
  } finally {
    file.close();
  }
}

/**
 * W_c of a finished run as a ModelRunner weight source: each linear is read from
 * compressed.safetensors when its block loads, so a variant is substituted one block at a time.
 * `close` releases the file.
 */
export function compressedSource(run: RunFolder): { source: WeightSource; has: (name: string) => boolean; read: (name: string) => Float32Array; close: () => void } {
  const path = run.path('compressed.safetensors');
  if (!existsSync(path)) throw new RunError(`${run.dir}: run.json says compression is done but compressed.safetensors is missing`);
  const file = TensorFile.open(path);
  const read = (name: string) => file.f32(name);
  return { source: (name) => (file.has(name) ? read(name) : undefined), has: (name) => file.has(name), read, close: () => file.close() };
}

/** Perplexity of the original and the compressed model. */
async function evaluateCompressed(run: RunFolder, runner: ModelRunner, config: EvalConfig, options: CompressOptions): Promise<{ original: number; compressed: number }> {
  const text = heldOutPrefix(readText(config.file), runner.model.tokenizer, config.tokens);
  const t0 = performance.now();
  run.startStage('evaluate');
  let o: VariantMetrics;
  let c: VariantMetrics;
  const wc = compressedSource(run);
  try {
    runner.resetWeights();
    options.onProgress?.({ phase: 'eval', variant: 'original', done: 0, total: 2 });
    o = await scoreVariant(runner, text, config, options.signal);
    runner.setWeightSource(wc.source);
    options.onProgress?.({ phase: 'eval', variant: 'compressed', done: 1, total: 2 });
    c = await scoreVariant(runner, text, config, options.signal);
    options.onProgress?.({ phase: 'eval', variant: 'compressed', done: 2, total: 2 });
    recordVariants(run, config, { original: o, compressed: c });
  } catch (error) {
    run.finishStage('evaluate', options.signal?.aborted ? 'stopped' : 'failed', (performance.now() - t0) / 1000);
    throw error;
  } finally {
    runner.resetWeights();
    wc.close();
  }
  run.finishStage('evaluate', 'done', (performance.now() - t0) / 1000);
  return { original: o.ppl, compressed: c.ppl };
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

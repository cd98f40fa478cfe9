// The one block-by-block calibration loop (GPTQ's llama.py `llama_sequential`, redone), shared
// by compress and import-gptq: the calibration batch's hidden state passes block by block; a
// stage's `step` turns block i (given its input and a way to run it) into W_c per linear, C per
// input group and the block's output; the loop checkpoints every finished block to partial/
// (W_c, codes, C, records, then the next block's input, then run.json), drops it from memory
// and, at the end, assembles compressed.safetensors / calibration.safetensors /
// quantized.safetensors / layers.json from partial/ tensor by tensor.
//
// Resuming: a stopped stage restarts at the block after its last checkpoint, from the
// checkpointed hidden state, and gives bit-identical results.
// Memory: one block's weights (the runner's cache) and its W_c; the calibration activations,
// the block's input and output [N, L, d] float32, are the other large resident (README "Memory model").
import type { CalibrationSet } from '../../calibrate/data.js';
import type { CompressResult, SecondMoment } from '../../compress/index.js';
import type { LinearMetrics } from '../../compress/metrics.js';
import { isQuantTensor, quantTensors } from '../../export/quant-state.js';
import { GramAccumulator, gramNames, type GramName } from '../../forward/calibration.js';
import { weightAccount } from '../../forward/memory.js';
import type { ModelRunner } from '../../forward/runner.js';
import { linears } from '../../model/inspect.js';
import type { LinearInfo, LinearKind } from '../../model/types.js';
import { gramKey, writeCalibration } from '../../run/files/calibration.js';
import { writeCompressed } from '../../run/files/compressed.js';
import { readLayersJson, writeLayersJson, type LinearRecord } from '../../run/files/layers-json.js';
import { hasCheckpoints, openBlockCheckpoint, readBlockRecords, readCheckpointHidden, removeCheckpoints, writeBlockCheckpoint } from '../../run/files/partial.js';
import { writeQuantized } from '../../run/files/quantized.js';
import type { TensorFile, TensorToWrite } from '../../run/safetensors-writer.js';
import { checkRunDisk, runDiskNeed } from './disk.js';
import type { StageContext } from './driver.js';

/** Runs block `layer` over all calibration windows, in batches; with `acc`, also sums each input group's XᵀX. */
export type BlockPass = (layer: number, x: Float32Array, acc: GramAccumulator | null) => Promise<Float32Array>;

export interface BlockResult {
  /** W_c (and quantized state) per linear of the block. */
  results: Map<LinearKind, CompressResult>;
  records: Map<LinearKind, LinearRecord>;
  /** C per input group. */
  moments: Map<GramName, SecondMoment>;
  /** The block's output: the next block's input [N, L, d]. */
  next: Float32Array;
}

/** One block: its linears by kind, its input hidden state [N, L, d], and the pass that runs it. */
export type BlockStep = (layer: number, linears: Map<LinearKind, LinearInfo>, hidden: Float32Array, pass: BlockPass) => Promise<BlockResult>;

export interface BlockLoop {
  calib: CalibrationSet;
  /** Calibration windows per block run (default: ~8K tokens). */
  batch?: number;
  /** compressed.safetensors' `source` metadata. */
  source: string;
  step: BlockStep;
  /** The quantized state's grouping (null: no codes), for the run folder's disk check. */
  quant: { groupSize: number } | null;
  /** After each checkpointed block; tests stop a run here. */
  onLayerDone?: (layer: number) => void;
}

export const weightKey = (linear: LinearInfo) => `${linear.name}.weight`;

/** layers.json's record of one compressed linear. */
export function linearRecord(l: LinearInfo, m: LinearMetrics): LinearRecord {
  return {
    name: l.name,
    layer: l.layer,
    kind: l.kind,
    out: l.out,
    in: l.in,
    rel_weight_error: m.relWeightError,
    rel_output_error: m.relOutputError,
    sparsity: m.sparsity,
    bits_per_weight: m.bitsPerWeight,
    output_energy: m.outputEnergy,
    error_output_energy: m.errorOutputEnergy,
  };
}

/** Runs `loop.step` over every block not yet checkpointed, then assembles the run files; returns every linear's record. */
export async function calibrateBlocks(ctx: StageContext, runner: ModelRunner, loop: BlockLoop): Promise<LinearRecord[]> {
  const { run, signal } = ctx;
  const { config } = runner;
  const L = loop.calib.seqLen;
  const N = loop.calib.samples;
  const d = config.hidden_size;
  const batch = loop.batch ?? Math.max(1, Math.floor(8192 / L));
  const stage = run.stage('compress');
  const all = linears(runner.model);
  const byLayer = groupBy(all, (l) => l.layer);

  // The input of the first unfinished block: the embeddings, or the checkpointed hidden state.
  const first = stage.layers_done ?? 0;
  if (first === config.num_layers) {
    // Every block is checkpointed: the run stopped while or right after assembling. Without
    // partial/ the assembled files are complete (it goes last); with it, assemble again.
    return hasCheckpoints(run.dir) ? assemble(ctx, byLayer, loop.source) : readLayersJson(run.dir);
  }
  checkRunDisk(run.dir, runDiskNeed(all, first, loop.quant, N * L * d * 4));
  let hidden: Float32Array = first === 0 ? runner.embed(loop.calib.tokens, [N, L]) : readCheckpointHidden(run.dir, first); // [N, L, d]

  const pass: BlockPass = async (layer, x, acc) => {
    const y = new Float32Array(x.length);
    for (let b0 = 0; b0 < N; b0 += batch) {
      const B = Math.min(batch, N - b0);
      const r = await runner.runBlock(layer, x.slice(b0 * L * d, (b0 + B) * L * d), [B, L], acc?.names ?? false);
      y.set(r.hidden, b0 * L * d);
      if (acc && r.stats) acc.add(r.stats);
    }
    return y;
  };

  // One block: step, checkpoint, drop. Its own async function on purpose: a suspended async
  // frame keeps the values of block-scoped consts in its registers until they are overwritten,
  // so inlined in the loop below, block k's W_c and C (3.5 GB at 8B) stayed reachable all
  // through block k + 1's calibration and GPTQ. Returned, this frame and everything it held go.
  const stepLayer = async (layer: number, x: Float32Array): Promise<Float32Array> => {
    const t0 = performance.now();
    const info = new Map(byLayer.get(layer)!.map((l) => [l.kind, l]));
    const { results, records, moments, next } = await loop.step(layer, info, x, pass);

    // Checkpoint: this layer's W_c, codes, C and records, then the next block's input, then run.json.
    const kinds = [...info.keys()];
    const tensors: TensorToWrite[] = kinds.map((kind) => {
      const l = info.get(kind)!;
      return { name: weightKey(l), dtype: 'F32', shape: [l.out, l.in], data: results.get(kind)!.wc };
    });
    for (const kind of kinds) tensors.push(...quantTensors(info.get(kind)!.name, results.get(kind)!)); // exact codes for exports
    const metadata: Record<string, string> = {};
    for (const gram of gramNames) {
      const m = moments.get(gram)!;
      const k = Math.round(Math.sqrt(m.C.length));
      tensors.push({ name: gramKey(layer, gram), dtype: 'F64', shape: [k, k], data: m.C });
      metadata[`${gramKey(layer, gram)}.tokens`] = String(m.nTokens);
    }
    writeBlockCheckpoint(run.dir, layer, tensors, metadata, kinds.map((k) => records.get(k)!), { data: next, shape: [N, L, d] });
    stage.layers_done = layer + 1;
    (stage.layer_seconds ??= []).push((performance.now() - t0) / 1000);
    run.save();
    runner.releaseLayer(layer); // its W_c is on disk now
    weightAccount.release('compress W_c');
    return next;
  };

  ctx.progress?.(first, config.num_layers, `layer ${first}/${config.num_layers}`);
  try {
    for (let layer = first; layer < config.num_layers; layer++) {
      signal?.throwIfAborted();
      hidden = await stepLayer(layer, hidden);
      ctx.progress?.(layer + 1, config.num_layers, `layer ${layer + 1}/${config.num_layers}`);
      loop.onLayerDone?.(layer);
    }
  } finally {
    weightAccount.release('compress W_c'); // a stopped or failed block's W_c too
  }

  return assemble(ctx, byLayer, loop.source);
}

/**
 * partial/ → compressed.safetensors, calibration.safetensors, quantized.safetensors,
 * layers.json; then partial/ is removed. Tensor by tensor: each is read from its layer file
 * when the writer reaches it.
 */
function assemble(ctx: StageContext, byLayer: Map<number, LinearInfo[]>, source: string): LinearRecord[] {
  const { run } = ctx;
  const weights: TensorToWrite[] = [];
  const grams: TensorToWrite[] = [];
  const quant: TensorToWrite[] = []; // codes, scales, zeros (export/quant-state.ts)
  const metadata: Record<string, string> = {};
  const records: LinearRecord[] = [];
  const opened: TensorFile[] = [];
  try {
    for (const layer of [...byLayer.keys()].sort((a, b) => a - b)) {
      const file = openBlockCheckpoint(run.dir, layer);
      opened.push(file);
      for (const l of byLayer.get(layer)!) weights.push({ name: weightKey(l), dtype: 'F32', shape: [l.out, l.in], data: () => file.f32(weightKey(l)) });
      for (const name of file.file.tensors.keys()) if (isQuantTensor(name)) quant.push({ name, dtype: 'F32', shape: file.shape(name), data: () => file.f32(name) });
      for (const gram of gramNames) {
        const key = gramKey(layer, gram);
        grams.push({ name: key, dtype: 'F64', shape: file.shape(key), data: () => file.f64(key) });
        metadata[`${key}.tokens`] = file.metadata[`${key}.tokens`];
      }
      records.push(...readBlockRecords(run.dir, layer));
    }
    writeCompressed(run.dir, weights, source);
    writeCalibration(run.dir, grams, metadata);
    if (quant.length > 0) writeQuantized(run.dir, quant);
  } finally {
    for (const f of opened) f.close();
  }
  writeLayersJson(run.dir, records);
  removeCheckpoints(run.dir);
  return records;
}

/** C per input group from one accumulated pass. */
export function momentsOf(acc: GramAccumulator, grams: Iterable<GramName> = gramNames): Map<GramName, SecondMoment> {
  return new Map([...grams].map((gram) => [gram, { C: acc.sums[gram], nTokens: acc.tokens }]));
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

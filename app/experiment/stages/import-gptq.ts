// A run from a checkpoint someone already quantized with GPTQ elsewhere (AutoGPTQ, GPTQModel):
// the imported codes become the run's W_c, and calibration still runs on the original
// full-precision model's activations to get C = Σ x xᵀ per input group, so `eora compensate`
// works on the result exactly as on a run made by `eora compress`.
//
// It is the compress stage with another block step, through the same block loop (blocks.ts):
// the run folder has the usual layout, blocks are checkpointed to partial/ as they finish (one
// block's W_c in memory, not the model's) and a stopped import resumes at the next block.
// Statistics follow GPTQ's sequential convention: with the block's imported W_c in place (and
// blocks 0..i−1 already substituted), one pass per block gives all four Gram matrices — o_proj
// sees attention computed with compressed q/k/v, down_proj sees compressed gate/up.
import { calibrationSet } from '../../calibrate/data.js';
import { linearMetricsOrt } from '../../compress/ort-metrics.js';
import type { CompressResult } from '../../compress/types.js';
import { GramAccumulator, gramOf } from '../../forward/calibration.js';
import { weightAccount } from '../../forward/memory.js';
import { ModelRunner } from '../../forward/runner.js';
import { openGptq, type GptqModel } from '../../model/gptq.js';
import { linears } from '../../model/inspect.js';
import { openModel } from '../../model/open.js';
import type { LinearKind } from '../../model/types.js';
import type { Device } from '../../onnx/runtime.js';
import type { LinearRecord } from '../../run/files/layers-json.js';
import { withRunLock } from '../../run/lock.js';
import { RunError, RunFolder } from '../../run/run.js';
import { calibrateBlocks, linearRecord, momentsOf, weightKey, type BlockStep } from './blocks.js';
import { runStage, type Stage } from './driver.js';

export interface ImportGptqOptions {
  calibFile: string;
  samples: number;
  seqLen: number;
  seed: number;
  device: Device;
  /** Calibration windows per block run (default ~8K tokens). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (event: { done: number; total: number; label: string }) => void;
  onLog?: (message: string) => void;
}

export interface ImportSummary {
  run: string;
  method: string;
  linears: number;
  mean_rel_output_error: number | null;
  seconds: number;
}

/** Creates run folder `out` from GPTQ checkpoint `gptqDir` and its original model `originalDir` (or continues a stopped import into it). */
export function importGptq(gptqDir: string, originalDir: string, out: string, options: ImportGptqOptions): Promise<ImportSummary> {
  return withRunLock(out, 'import-gptq', () => importInto(gptqDir, originalDir, out, options), options.onLog);
}

async function importInto(gptqDir: string, originalDir: string, out: string, options: ImportGptqOptions): Promise<ImportSummary> {
  const started = performance.now();
  const original = await openModel(originalDir);
  let quantized: GptqModel | null = null;
  try {
    quantized = openGptq(gptqDir);
    const q = quantized.gptq;
    const all = linears(original);
    for (const l of all) {
      const shape = quantized.tensors.get(`${l.name}.weight`)?.shape;
      if (!shape || shape[0] !== l.out || shape[1] !== l.in) throw new RunError(`${gptqDir} does not match ${originalDir}: ${l.name} is ${JSON.stringify(shape)} there, [${l.out}, ${l.in}] here`);
    }
    const method = `gptq:w${q.bits}${q.group_size === -1 ? '' : `g${q.group_size}`}${q.desc_act ? ',act' : ''}${q.sym ? ',sym' : ''}`;
    const calib = calibrationSet(options.calibFile, original.tokenizer, { samples: options.samples, seqLen: options.seqLen, seed: options.seed });
    const config = {
      quant: method,
      prune: 'none',
      method,
      imported_from: { path: gptqDir, format: 'gptq', checkpoint_format: q.checkpoint_format },
      activations: 'sequential',
      calibration: { file: calib.file, format: calib.format, template: calib.template, samples: calib.samples, seq_len: calib.seqLen, seed: calib.seed, sha256: calib.sha256 },
    };
    const { run } = RunFolder.createOrResume(out, original, options.device, config, options.onLog);
    if (run.stage('compress').status === 'done') throw new RunError(`${run.dir} already holds this import; choose another --out`);
    run.manifest.records.calibration = { windows: calib.starts, stream_tokens: calib.streamTokens, documents: calib.documents };
    const ctx = { run, model: original, device: options.device, signal: options.signal, progress: (done: number, total: number, label: string) => options.onProgress?.({ done, total, label }), log: options.onLog };
    const records = await runStage(ctx, importStage, { gptqDir, quantized, calib, batch: options.batch });
    const errors = records.map((r) => r.rel_output_error).filter((e): e is number => e !== null); // null: no calibration for it
    return { run: run.dir, method, linears: all.length, mean_rel_output_error: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : null, seconds: (performance.now() - started) / 1000 };
  } finally {
    quantized?.close();
    original.close();
  }
}

interface ImportParams {
  gptqDir: string;
  quantized: GptqModel;
  calib: ReturnType<typeof calibrationSet>;
  batch?: number;
}

/** The compress stage of an imported checkpoint. */
const importStage: Stage<ImportParams, LinearRecord[]> = {
  name: 'compress',
  async run(ctx, params) {
    const runner = await ModelRunner.create(ctx.model, { device: ctx.device });
    try {
      return await calibrateBlocks(ctx, runner, { calib: params.calib, batch: params.batch, source: `imported GPTQ checkpoint ${params.gptqDir}`, step: importedBlock(runner, params.quantized), quant: { groupSize: params.quantized.gptq.group_size } });
    } finally {
      await runner.release();
    }
  },
};

/** One block: its imported W_c in place, one stats pass, the metrics of every linear against the original weights. */
function importedBlock(runner: ModelRunner, quantized: GptqModel): BlockStep {
  return async (layer, info, hidden, pass) => {
    const results = new Map<LinearKind, CompressResult>();
    for (const [kind, l] of info) {
      const result: CompressResult = { wc: quantized.readTensor(weightKey(l)), out: l.out, in: l.in, quant: { ...quantized.quantized(l.name) } };
      results.set(kind, result);
      runner.setWeight(weightKey(l), result.wc);
    }
    weightAccount.hold('compress W_c', [...results.values()].map((r) => r.wc));
    const acc = new GramAccumulator(runner.block);
    const next = await pass(layer, hidden, acc);
    const moments = momentsOf(acc);
    const records = new Map<LinearKind, LinearRecord>();
    for (const [kind, l] of info) {
      const m = await linearMetricsOrt(runner.sessions, { w: runner.model.readTensor(weightKey(l)), out: l.out, in: l.in }, results.get(kind)!, moments.get(gramOf[kind])!);
      records.set(kind, linearRecord(l, m));
    }
    return { results, records, moments, next };
  };
}

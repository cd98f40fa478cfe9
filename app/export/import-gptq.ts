// A run from a checkpoint someone already quantized with GPTQ elsewhere (AutoGPTQ, GPTQModel):
// the imported codes become the run's W_c, and calibration still runs on the original
// full-precision model's activations to get C = Σ x xᵀ per input group, so `eora compensate`
// works on the result exactly as on a run made by `eora compress`.
//
// The run folder has the usual layout (run.json, compressed.safetensors, quantized.safetensors,
// calibration.safetensors, layers.json, metrics.json). Statistics follow GPTQ's sequential
// convention: with every imported W_c in place, block i's inputs come from blocks 0..i−1 as
// compressed, and inside the block o_proj sees attention computed with compressed q/k/v and
// down_proj sees compressed gate/up — one pass per block gives all four Gram matrices.
import { calibrationSet } from '../calibrate/data.js';
import { linearMetrics } from '../compress/metrics.js';
import type { CompressResult } from '../compress/types.js';
import { GramAccumulator, gramNames, gramOf } from '../forward/calibration.js';
import { ModelRunner } from '../forward/runner.js';
import { openGptq, type GptqModel } from '../model/gptq.js';
import { linears } from '../model/inspect.js';
import { openModel } from '../model/open.js';
import type { Device } from '../onnx/runtime.js';
import { RunError, RunFolder } from '../run/run.js';
import { gramKey, writeCalibration } from '../run/files/calibration.js';
import { writeCompressed } from '../run/files/compressed.js';
import { writeLayersJson, type LinearRecord } from '../run/files/layers-json.js';
import { quantizedPath } from '../run/files/quantized.js';
import type { TensorToWrite } from '../run/safetensors-writer.js';
import { ExportError } from './atomic-dir.js';
import { quantTensors, writeQuantFile } from './quant-state.js';

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
}

export interface ImportSummary {
  run: string;
  method: string;
  linears: number;
  mean_rel_output_error: number;
  seconds: number;
}

/** Creates run folder `out` from GPTQ checkpoint `gptqDir` and its original model `originalDir`. */
export async function importGptq(gptqDir: string, originalDir: string, out: string, options: ImportGptqOptions): Promise<ImportSummary> {
  const started = performance.now();
  const original = await openModel(originalDir);
  let quantized: GptqModel | null = null;
  try {
    quantized = openGptq(gptqDir);
    const q = quantized.gptq;
    const all = linears(original);
    for (const l of all) {
      const shape = quantized.tensors.get(`${l.name}.weight`)?.shape;
      if (!shape || shape[0] !== l.out || shape[1] !== l.in) throw new ExportError(`${gptqDir} does not match ${originalDir}: ${l.name} is ${JSON.stringify(shape)} there, [${l.out}, ${l.in}] here`);
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
    const { run } = RunFolder.createOrResume(out, original, options.device, config);
    if (run.stage('compress').status === 'done') throw new RunError(`${run.dir} already holds this import; choose another --out`);
    run.manifest.records.calibration = { windows: calib.starts, stream_tokens: calib.streamTokens, documents: calib.documents };
    run.startStage('compress');
    const t0 = performance.now();
    try {
      const results = new Map<string, CompressResult>();
      for (const l of all) {
        const state = quantized.quantized(l.name);
        results.set(l.name, { wc: quantized.readTensor(`${l.name}.weight`), out: l.out, in: l.in, quant: { ...state } });
      }
      const grams = await calibrate(original, results, calib.tokens, calib.samples, calib.seqLen, options);
      const weights: TensorToWrite[] = [];
      const quant: TensorToWrite[] = [];
      const records: LinearRecord[] = [];
      for (const l of all) {
        const r = results.get(l.name)!;
        weights.push({ name: `${l.name}.weight`, dtype: 'F32', shape: [l.out, l.in], data: r.wc });
        quant.push(...quantTensors(l.name, r));
        const acc = grams[l.layer];
        const m = linearMetrics({ w: original.readTensor(`${l.name}.weight`), out: l.out, in: l.in }, r, { C: acc.sums[gramOf[l.kind]], nTokens: acc.tokens });
        records.push({ name: l.name, layer: l.layer, kind: l.kind, out: l.out, in: l.in, rel_weight_error: m.relWeightError, rel_output_error: m.relOutputError, sparsity: m.sparsity, bits_per_weight: m.bitsPerWeight });
      }
      const calibration: TensorToWrite[] = [];
      const metadata: Record<string, string> = {};
      grams.forEach((acc, layer) => {
        for (const gram of gramNames) {
          const k = acc.widths[gram];
          calibration.push({ name: gramKey(layer, gram), dtype: 'F64', shape: [k, k], data: acc.sums[gram] });
          metadata[`${gramKey(layer, gram)}.tokens`] = String(acc.tokens);
        }
      });
      writeCompressed(run.dir, weights, `imported GPTQ checkpoint ${gptqDir}`);
      writeQuantFile(quantizedPath(run.dir), quant);
      writeCalibration(run.dir, calibration, metadata);
      writeLayersJson(run.dir, records);
      run.stage('compress').layers_done = original.config.num_layers;
      run.finishStage('compress', 'done', (performance.now() - t0) / 1000);
      const errors = records.map((r) => r.rel_output_error ?? 0);
      return { run: run.dir, method, linears: all.length, mean_rel_output_error: errors.reduce((a, b) => a + b, 0) / errors.length, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      run.finishStage('compress', options.signal?.aborted ? 'stopped' : 'failed', (performance.now() - t0) / 1000, options.signal?.aborted ? undefined : (error as Error).message);
      throw error;
    }
  } finally {
    quantized?.close();
    original.close();
  }
}

/** One stats pass per block with every imported W_c in place; returns each layer's Gram sums. */
async function calibrate(model: Awaited<ReturnType<typeof openModel>>, results: Map<string, CompressResult>, tokens: Int32Array, N: number, L: number, options: ImportGptqOptions): Promise<GramAccumulator[]> {
  const runner = await ModelRunner.create(model, { device: options.device });
  try {
    for (const [name, r] of results) runner.setWeight(`${name}.weight`, r.wc);
    const d = model.config.hidden_size;
    const batch = options.batch ?? Math.max(1, Math.floor(8192 / L));
    let hidden = runner.embed(tokens, [N, L]); // [N, L, d]
    const grams: GramAccumulator[] = [];
    for (let layer = 0; layer < model.config.num_layers; layer++) {
      options.signal?.throwIfAborted();
      const acc = new GramAccumulator(runner.block);
      const next = new Float32Array(hidden.length);
      for (let b0 = 0; b0 < N; b0 += batch) {
        const B = Math.min(batch, N - b0);
        const r = await runner.runBlock(layer, hidden.slice(b0 * L * d, (b0 + B) * L * d), [B, L], true);
        next.set(r.hidden, b0 * L * d);
        acc.add(r.stats!);
      }
      grams.push(acc);
      hidden = next;
      options.onProgress?.({ done: layer + 1, total: model.config.num_layers, label: `layer ${layer}` });
    }
    return grams;
  } finally {
    await runner.release();
  }
}

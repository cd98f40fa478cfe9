// The ONNX export of real GPTQ w4g32 + EoRA runs, run in onnxruntime-node from disk (external
// data): 4-bit linears as MatMulNBits with the run's exact codes, adapters as two Gemms, and
// held-out perplexity equal to the workbench's evaluation of the variant within 1e-3.
// (The test opens the file with onnxruntime directly: app/onnx's Session takes bytes only,
// and external data resolves against the model's path.)
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import ort from 'onnxruntime-node';
import { ModelProtoSchema } from 'onnx-buf';
import { runCompensate, runCompress } from '../experiment/commands.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { rollingWindows } from '../eval/perplexity.js';
import { openModel } from '../model/open.js';
import { heldOutPrefix, readText, type EvalConfig } from '../experiment/evaluate.js';
import { TensorFile } from '../run/safetensors-writer.js';
import { exportVariant } from './index.js';
import { makeRun, recordedPpl } from './testing/fixture.js';

const out = mkdtempSync(join(tmpdir(), 'eora-onnx-'));
let plain: string;
let act: string;
let rtn3: string;

beforeAll(async () => {
  plain = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32', { ranks: [8] });
  act = await makeRun({ runCompress, runCompensate }, 'gptq:w4g32,act', { ranks: [8] });
  rtn3 = await makeRun({ runCompress, runCompensate }, 'rtn:w3g32', { ranks: [8] });
}, 400_000);

/** Perplexity of an exported model.onnx with the workbench's windows (perplexity.ts), NLL summed in float64. */
export async function onnxPerplexity(file: string, config: EvalConfig): Promise<number> {
  const model = await openModel();
  const text = heldOutPrefix(readText(config.file), model.tokenizer, config.tokens);
  const ids = model.tokenizer.encode(text).slice(0, config.tokens);
  const V = model.config.vocab_size;
  model.close();
  const session = await ort.InferenceSession.create(file, { logSeverityLevel: 4 });
  try {
    let sum = 0;
    let count = 0;
    for (const w of rollingWindows(ids.length, config.seq_len, config.seq_len)) {
      const T = w.end - w.start;
      const input = new ort.Tensor('int64', BigInt64Array.from(ids.slice(w.start, w.end), (v) => BigInt(v)), [1, T]);
      const logits = (await session.run({ input_ids: input })).logits.data as Float32Array; // [1, T, V]
      for (let j = w.scoreFrom - w.start; j < T; j++) {
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[j * V + v]);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(logits[j * V + v] - max);
        sum += max + Math.log(z) - logits[j * V + ids[w.start + j + 1]];
        count++;
      }
    }
    expect(count).toBe(ids.length - 1);
    return Math.exp(sum / count);
  } finally {
    await session.release();
  }
}

function opTypes(file: string): Map<string, number> {
  const graph = fromBinary(ModelProtoSchema, readFileSync(file)).graph!;
  const counts = new Map<string, number>();
  for (const n of graph.node) counts.set(`${n.domain ? n.domain + '::' : ''}${n.opType}`, (counts.get(`${n.domain ? n.domain + '::' : ''}${n.opType}`) ?? 0) + 1);
  return counts;
}

describe('onnx export', () => {
  it('w4g32 + eora-r8: MatMulNBits, external data, perplexity = the workbench’s within 1e-3', async () => {
    const dir = join(out, 'plain');
    const summary = await exportVariant(plain, 'eora-r8', 'onnx', dir);
    expect(summary.notes).toMatchObject({ matmul_nbits: true, nbits_linears: 14, float_linears: 0, bits: 4, block_size: 32, adapters: 14 });
    const ops = opTypes(join(dir, 'model.onnx'));
    expect(ops.get('com.microsoft::MatMulNBits')).toBe(14);
    expect(statSync(join(dir, 'model.onnx')).size).toBeLessThan(200_000); // weights are external
    expect(statSync(join(dir, 'model.onnx.data')).size).toBeGreaterThan(500_000);
    const { ppl, config } = recordedPpl(plain, 'eora-r8');
    const onnx = await onnxPerplexity(join(dir, 'model.onnx'), config);
    console.log(`onnx w4g32 eora-r8: onnx ppl ${onnx}, workbench ${ppl}, rel ${Math.abs(onnx - ppl) / ppl}`);
    expect(Math.abs(onnx - ppl) / ppl).toBeLessThan(1e-3);
  });

  it('act-order: columns gathered into group order, still exact blocks; compressed variant matches too', async () => {
    const dir = join(out, 'act');
    const summary = await exportVariant(act, 'compressed', 'onnx', dir);
    expect(summary.notes).toMatchObject({ matmul_nbits: true, adapters: 0 });
    expect(opTypes(join(dir, 'model.onnx')).get('Gather')).toBeGreaterThanOrEqual(15); // embedding + one per linear
    const { ppl, config } = recordedPpl(act, 'compressed');
    const onnx = await onnxPerplexity(join(dir, 'model.onnx'), config);
    console.log(`onnx w4g32 act compressed: onnx ppl ${onnx}, workbench ${ppl}, rel ${Math.abs(onnx - ppl) / ppl}`);
    expect(Math.abs(onnx - ppl) / ppl).toBeLessThan(1e-3);
  });

  it('3-bit runs fall back to float weights and say so', async () => {
    const dir = join(out, 'rtn3');
    const summary = await exportVariant(rtn3, 'eora-r8', 'onnx', dir);
    expect(summary.notes).toMatchObject({ matmul_nbits: false, nbits_linears: 0, float_linears: 14 });
    expect(String(summary.notes.float_reason)).toMatch(/4-bit codes; this run has 3-bit/);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(/float MatMuls/);
    const { ppl, config } = recordedPpl(rtn3, 'eora-r8');
    expect(Math.abs((await onnxPerplexity(join(dir, 'model.onnx'), config)) - ppl) / ppl).toBeLessThan(1e-3);
  });

  it('3-bit runs still get a packed GPTQ checkpoint (codes straddling words), read back exactly', async () => {
    const dir = join(out, 'rtn3-compressed');
    const summary = await exportVariant(rtn3, 'compressed', 'compressed', dir, { dtype: 'f32' });
    expect(summary.notes.gptq).toMatchObject({ written: true, bits: 3, group_size: 32 });
    const model = await openModel(join(dir, 'gptq'));
    const wc = TensorFile.open(join(rtn3, 'compressed.safetensors'));
    try {
      for (const name of wc.file.tensors.keys()) expect(Array.from(model.readTensor(name))).toEqual(Array.from(wc.f32(name)));
    } finally {
      wc.close();
      model.close();
    }
  });
});

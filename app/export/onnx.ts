// ONNX export: model.onnx (graph, onnx-graph.ts) + model.onnx.data (every weight as external
// data, 64-byte aligned, referenced by location/offset/length). 4-bit linears are written as
// MatMulNBits with the run's exact codes when every block of `block_size` columns shares one
// (scale, zero) — block size = group size, a power of two ≥ 16; act-order layers are stored in
// group order behind a Gather. Otherwise (other bit widths, pruning only, no stored codes)
// the linears are float W_c and export.json / README say why.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataLocation, TensorProto_DataType, TensorProtoSchema } from 'onnx-buf';
import type { QuantState } from '../compress/types.js';
import { RopeTables } from '../forward/rope.js';
import { buildFullModelGraph, type GraphLinear, type GraphWeight, type NbitsData, type NbitsLinear } from './onnx-graph.js';
import { QuantStore } from '../run/files/quantized.js';
import { writeAll } from './safetensors-out.js';
import type { FormatContext } from './types.js';

export const ONNX_FILE = 'model.onnx';
export const ONNX_DATA = 'model.onnx.data';
const ALIGN = 64;

const DATA_TYPES: Record<GraphWeight['dtype'], TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  uint8: TensorProto_DataType.UINT8,
  int32: TensorProto_DataType.INT32,
};

/** Why a linear cannot be MatMulNBits, or null when it can. */
export function nbitsProblem(c: { bits: number; groupSize: number } | null, inDim: number): string | null {
  if (!c) return 'the run stores no quantization codes (not quantized, or made before codes were kept)';
  if (c.bits !== 4) return `MatMulNBits is used for 4-bit codes; this run has ${c.bits}-bit`;
  const bs = c.groupSize === -1 ? inDim : c.groupSize;
  if (bs < 16 || (bs & (bs - 1)) !== 0) return `block size ${bs} is not a power of two ≥ 16`;
  if (inDim % bs !== 0) return `${inDim} columns are not whole blocks of ${bs}`;
  return null;
}

/** Blocks of `bs` columns and the group each takes its (scale, zero) from; act-order columns go in group order. Null when groups are not whole blocks. */
export interface NbitsLayout {
  blockSize: number;
  perm: Int32Array | null;
  groupOfBlock: Int32Array;
}

export function nbitsLayout(gIdx: Int32Array | undefined, inDim: number, groupSize: number, groups: number): NbitsLayout | null {
  const bs = groupSize === -1 ? inDim : groupSize;
  const blocks = inDim / bs;
  const groupOfBlock = new Int32Array(blocks);
  if (!gIdx) {
    for (let b = 0; b < blocks; b++) groupOfBlock[b] = groups === 1 ? 0 : b;
    return { blockSize: bs, perm: null, groupOfBlock };
  }
  const perm = Int32Array.from({ length: inDim }, (_, c) => c).sort((a, b) => gIdx[a] - gIdx[b] || a - b);
  for (let b = 0; b < blocks; b++) {
    groupOfBlock[b] = gIdx[perm[b * bs]];
    for (let j = b * bs; j < (b + 1) * bs; j++) if (gIdx[perm[j]] !== groupOfBlock[b]) return null;
  }
  return { blockSize: bs, perm, groupOfBlock };
}

/** The exact codes as MatMulNBits inputs, in the layout's column order. */
export function packNbits(q: QuantState, out: number, inDim: number, layout: NbitsLayout): NbitsData {
  const { blockSize: bs, perm, groupOfBlock } = layout;
  const blocks = inDim / bs;
  const groups = q.scales.length / out;
  const packed = new Uint8Array(out * blocks * (bs / 2));
  const scales = new Float32Array(out * blocks);
  const zpWidth = Math.ceil(blocks / 2);
  const zeroPoints = new Uint8Array(out * zpWidth);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < inDim; j++) {
      const code = q.codes[o * inDim + (perm ? perm[j] : j)];
      packed[o * (inDim / 2) + (j >> 1)] |= code << ((j & 1) * 4); // j = b·bs + i: bytes run through the blocks in order
    }
    for (let b = 0; b < blocks; b++) {
      const slot = o * groups + groupOfBlock[b];
      scales[o * blocks + b] = q.scales[slot];
      zeroPoints[o * zpWidth + (b >> 1)] |= q.zeros[slot] << ((b & 1) * 4);
    }
  }
  return { packed, scales, zeroPoints };
}

export async function exportOnnx(ctx: FormatContext): Promise<void> {
  // onnx-graph.ts has no per-head q/k norm yet: refuse rather than write a graph that ignores them.
  if (ctx.model.config.qk_norm) throw new Error(`ONNX export: ${ctx.model.config.architecture} (per-head q/k RMSNorm) is not supported yet; use the merged, compressed or PEFT export`);
  const store = QuantStore.open(ctx.source.run.dir);
  try {
    await writeOnnx(ctx, store);
  } finally {
    store?.close();
  }
}

async function writeOnnx(ctx: FormatContext, store: QuantStore | null): Promise<void> {
  const { source, model } = ctx;
  const c = model.config;
  const problems = new Set<string>();
  const plans = new Map<string, GraphLinear>();
  let nbitsCount = 0;
  let blockSize = 0;
  for (const l of source.linears) {
    const config = store?.has(l.name) ? store.config(l.name) : null;
    let nbits: NbitsLinear | null = null;
    const problem = nbitsProblem(config, l.in);
    if (problem) problems.add(problem);
    else {
      const groups = config!.groupSize === -1 ? 1 : l.in / config!.groupSize;
      const layout = nbitsLayout(config!.actOrder ? store!.get(l.name).gIdx : undefined, l.in, config!.groupSize, groups);
      if (!layout) problems.add(`${l.name}: act-order groups are not whole blocks`);
      else {
        let data: NbitsData | null = null;
        nbits = { bits: 4, blockSize: layout.blockSize, perm: layout.perm, data: () => (data ??= packNbits(store!.get(l.name), l.out, l.in, layout)), release: () => void (data = null) };
        nbitsCount++;
        blockSize = layout.blockSize;
      }
    }
    const a = source.adapters.get(l.name);
    const biasName = `${l.name}.bias`;
    plans.set(l.name, {
      name: l.name,
      out: l.out,
      in: l.in,
      nbits,
      weight: nbits ? null : () => source.compressed.get(`${l.name}.weight`),
      adapter: a && a.rank > 0 ? a : null,
      bias: model.tensors.has(biasName) ? () => model.readTensor(biasName) : null,
    });
  }
  const { cos, sin } = new RopeTables(c.head_dim, c.rope_theta, c.rope_scaling).get(c.max_position_embeddings);
  const { bytes, weights } = buildFullModelGraph({ config: c, tensor: (name) => model.readTensor(name), linear: (name) => plans.get(name)!, cos, sin });
  ctx.begin(weights.size + 1);
  const graph = fromBinary(ModelProtoSchema, bytes);
  const fd = openSync(join(ctx.dir, ONNX_DATA), 'w');
  let offset = 0;
  try {
    for (const [name, w] of weights) {
      const data = w.data();
      const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const count = w.dims.reduce((a, b) => a * b, 1);
      if (data.length !== count) throw new Error(`ONNX export: ${name} has ${data.length} values for [${w.dims.join(', ')}]`);
      const pad = (ALIGN - (offset % ALIGN)) % ALIGN;
      if (pad) writeAll(fd, new Uint8Array(pad));
      offset += pad;
      writeAll(fd, raw);
      graph.graph!.initializer.push(
        create(TensorProtoSchema, {
          name,
          dims: w.dims.map((d) => BigInt(d)),
          dataType: DATA_TYPES[w.dtype],
          dataLocation: TensorProto_DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: ONNX_DATA },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: String(raw.byteLength) },
          ],
        }),
      );
      offset += raw.byteLength;
      ctx.step(name);
    }
  } finally {
    closeSync(fd);
  }
  graph.graph!.input = graph.graph!.input.filter((i) => !weights.has(i.name));
  const fdModel = openSync(join(ctx.dir, ONNX_FILE), 'w');
  try {
    writeAll(fdModel, toBinary(ModelProtoSchema, graph));
  } finally {
    closeSync(fdModel);
  }
  ctx.step(ONNX_FILE);
  Object.assign(ctx.notes, {
    matmul_nbits: nbitsCount === source.linears.length,
    nbits_linears: nbitsCount,
    float_linears: source.linears.length - nbitsCount,
    ...(nbitsCount > 0 ? { bits: 4, block_size: blockSize } : {}),
    ...(problems.size > 0 ? { float_reason: [...problems].join('; ') } : {}),
    adapters: [...plans.values()].filter((p) => p.adapter).length,
    inputs: { input_ids: 'int64 [batch, sequence]' },
    outputs: { logits: `float32 [batch, sequence, ${c.vocab_size}]` },
    opsets: { 'ai.onnx': 21, 'com.microsoft': 1 },
  });
}

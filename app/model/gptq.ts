// GPTQ-packed Hugging Face checkpoints (AutoGPTQ / GPTQModel / transformers' GPTQ format):
// config.json + quantize_config.json (or config.json's `quantization_config`, quant_method
// "gptq") + safetensors where every decoder linear is stored packed instead of as `.weight`:
//   <linear>.qweight  int32 [in·bits/32, out]   transposed codes, each column a little-endian bit
//                                              stream (code k at bits [bits·k, bits·k + bits))
//   <linear>.qzeros   int32 [groups, out·bits/32]  zero points, each row a bit stream;
//                                              stored as z − 1 in `gptq`, as z in `gptq_v2`
//   <linear>.scales   F16/F32 [groups, out]
//   <linear>.g_idx    int32 [in] (optional)    group of each input column (act-order permutes it)
// W[o, c] = fround(scales[g, o] · (codes[o, c] − z[g, o])), g = g_idx[c] (else c / group_size):
// the same float32 formula as the workbench's own quantizer, so an exported run reads back
// bit for bit. Bits 2, 3, 4, 8. The model opens like any other: linears read dequantized
// (reported as F16 tensors), `quantized(name)` gives the exact codes.
import { existsSync } from 'node:fs';
import { readRange } from './binary.js';
import { join } from 'node:path';
import { HfTokenizer } from '../tokenizer/hf.js';
import { expectedTensors, openWeights, parseHfConfig } from './hf.js';
import { describe, isObject, readJsonObject, type JsonObject } from './json.js';
import type { StoredTensor } from './safetensors.js';
import { INDEX_FILE } from './safetensors-index.js';
import { ModelError, type Model, type TensorDtype, type TensorInfo } from './types.js';

export const QUANTIZE_CONFIG = 'quantize_config.json';
const LINEAR = /^(model\.layers\.\d+\.(?:self_attn|mlp)\.[a-z_]+_proj)\.weight$/;

export interface GptqConfig {
  bits: number;
  /** −1: one group per output row. */
  group_size: number;
  desc_act: boolean;
  sym: boolean;
  checkpoint_format: 'gptq' | 'gptq_v2';
}

/** One linear's exact state, in the workbench's QuantState layout ([out, in] codes, [out, groups] scales/zeros). */
export interface GptqLinear {
  bits: number;
  groupSize: number;
  sym: boolean;
  codes: Uint8Array;
  scales: Float32Array;
  zeros: Float32Array;
  /** Only when it differs from c / group_size (act-order). */
  gIdx?: Int32Array;
}

export interface GptqModel extends Model {
  gptq: GptqConfig;
  /** The exact codes of a linear (`model.layers.0.self_attn.q_proj`). */
  quantized(linear: string): GptqLinear;
}

/** Whether `dir` holds a GPTQ checkpoint (quantize_config.json, or quant_method gptq in config.json). */
export function isGptqCheckpoint(dir: string): boolean {
  if (existsSync(join(dir, QUANTIZE_CONFIG))) return true;
  if (!existsSync(join(dir, 'config.json'))) return false;
  try {
    const q = readJsonObject(join(dir, 'config.json')).quantization_config;
    return isObject(q) && q.quant_method === 'gptq';
  } catch {
    return false;
  }
}

export function readGptqConfig(dir: string): GptqConfig {
  let json: JsonObject;
  let file: string;
  if (existsSync(join(dir, QUANTIZE_CONFIG))) {
    json = readJsonObject(join(dir, QUANTIZE_CONFIG));
    file = QUANTIZE_CONFIG;
  } else {
    const q = readJsonObject(join(dir, 'config.json')).quantization_config;
    if (!isObject(q)) throw new ModelError('config.json', `has no quantization_config and there is no ${QUANTIZE_CONFIG}`);
    json = q;
    file = 'config.json quantization_config';
  }
  const fail = (problem: string) => new ModelError(file, problem);
  if (json.quant_method !== undefined && json.quant_method !== 'gptq') throw fail(`quant_method is ${describe(json.quant_method)}, expected "gptq"`);
  const bits = json.bits;
  if (bits !== 2 && bits !== 3 && bits !== 4 && bits !== 8) throw fail(`bits must be 2, 3, 4 or 8, got ${describe(bits)}`);
  const groupSize = json.group_size ?? -1;
  if (!Number.isSafeInteger(groupSize) || (groupSize !== -1 && (groupSize as number) < 1)) throw fail(`group_size must be a positive integer or -1, got ${describe(json.group_size)}`);
  const format = json.checkpoint_format ?? 'gptq';
  if (format !== 'gptq' && format !== 'gptq_v2') throw fail(`checkpoint_format ${describe(format)} is not supported (gptq, gptq_v2)`);
  return { bits, group_size: groupSize as number, desc_act: json.desc_act === true, sym: json.sym !== false, checkpoint_format: format };
}

/** Words [rows, cols] int32, each column a little-endian bit stream → n codes per column, [n, cols]. */
export function unpackBits(words: Int32Array, cols: number, n: number, bits: number): Uint8Array {
  const codes = new Uint8Array(n * cols);
  const mask = (1 << bits) - 1;
  for (let k = 0; k < n; k++) {
    const bit = bits * k;
    const w = bit >>> 5;
    const shift = bit & 31;
    for (let col = 0; col < cols; col++) {
      let v = words[w * cols + col] >>> shift;
      if (shift + bits > 32) v |= words[(w + 1) * cols + col] << (32 - shift);
      codes[k * cols + col] = v & mask;
    }
  }
  return codes;
}

/** Unpacks one linear's tensors into the workbench layout; `gIdx` kept only when it is not c / group_size. */
export function unpackLinear(
  packed: { qweight: Int32Array; qzeros: Int32Array; scales: Float32Array; gIdx: Int32Array | null },
  out: number,
  inDim: number,
  config: GptqConfig,
): GptqLinear {
  const { bits } = config;
  const groups = packed.scales.length / out;
  const transposed = unpackBits(packed.qweight, out, inDim, bits); // [in, out]
  const codes = new Uint8Array(out * inDim);
  for (let c = 0; c < inDim; c++) for (let o = 0; o < out; o++) codes[o * inDim + c] = transposed[c * out + o];
  const width = packed.qzeros.length / groups;
  const offset = config.checkpoint_format === 'gptq' ? 1 : 0;
  const scales = new Float32Array(out * groups);
  const zeros = new Float32Array(out * groups);
  for (let g = 0; g < groups; g++) {
    const row = unpackBits(packed.qzeros.subarray(g * width, (g + 1) * width), 1, out, bits);
    for (let o = 0; o < out; o++) {
      scales[o * groups + g] = packed.scales[g * out + o];
      zeros[o * groups + g] = row[o] + offset;
    }
  }
  const linear: GptqLinear = { bits, groupSize: config.group_size, sym: config.sym, codes, scales, zeros };
  if (packed.gIdx && packed.gIdx.some((g, c) => g !== (config.group_size === -1 ? 0 : Math.floor(c / config.group_size)))) linear.gIdx = packed.gIdx;
  return linear;
}

/** W [out, in] float32 from the exact state (the workbench quantizer's formula). */
export function dequantizeGptq(q: GptqLinear, out: number, inDim: number): Float32Array {
  const groups = q.scales.length / out;
  const w = new Float32Array(out * inDim);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inDim; c++) {
      const g = q.gIdx ? q.gIdx[c] : q.groupSize === -1 ? 0 : Math.floor(c / q.groupSize);
      w[o * inDim + c] = Math.fround(q.scales[o * groups + g] * (q.codes[o * inDim + c] - q.zeros[o * groups + g]));
    }
  }
  return w;
}

export function openGptq(dir: string): GptqModel {
  const gptq = readGptqConfig(dir);
  const config = parseHfConfig(readJsonObject(join(dir, 'config.json')));
  const store = openWeights(dir);
  const weightsFile = existsSync(join(dir, 'model.safetensors')) ? 'model.safetensors' : INDEX_FILE; // names missing tensors
  try {
    const stored = store.tensors;
    const tensors = new Map<string, TensorInfo>();
    const linearNames = new Set<string>();
    for (const [name, shape] of expectedTensors(config)) {
      const linear = LINEAR.exec(name)?.[1];
      if (linear) {
        checkPacked(stored, linear, shape, gptq, weightsFile);
        linearNames.add(linear);
        tensors.set(name, { name, dtype: 'F16', shape });
        continue;
      }
      const tensor = stored.get(name) ?? (config.tie_word_embeddings && name === 'lm_head.weight' ? stored.get('model.embed_tokens.weight') : undefined);
      if (!tensor) throw new ModelError(weightsFile, `tensor ${name} is missing`);
      if (JSON.stringify(tensor.shape) !== JSON.stringify(shape)) throw new ModelError(tensor.file, `tensor ${name} has shape ${JSON.stringify(tensor.shape)}, config.json implies ${JSON.stringify(shape)}`);
      tensors.set(name, { name, dtype: tensor.dtype as TensorDtype, shape });
    }
    config.torch_dtype = (tensors.get('model.embed_tokens.weight')?.dtype ?? 'F16') as TensorDtype;
    const tokenizer = HfTokenizer.fromDirectory(dir);
    config.bos_token_id ??= tokenizer.bosId;
    config.eos_token_id ??= tokenizer.eosId;
    const quantized = (linear: string): GptqLinear => {
      if (!linearNames.has(linear)) throw new ModelError(dir, `has no GPTQ linear named "${linear}"`);
      const [out, inDim] = tensors.get(`${linear}.weight`)!.shape;
      const gIdxTensor = stored.get(`${linear}.g_idx`);
      const gIdx = gIdxTensor ? readInt32(dir, gIdxTensor) : null;
      const groups = gptq.group_size === -1 ? 1 : Math.ceil(inDim / gptq.group_size);
      const bad = gIdx?.findIndex((g) => !(g >= 0 && g < groups)) ?? -1;
      if (bad >= 0) throw new ModelError(gIdxTensor!.file, `tensor ${gIdxTensor!.name}[${bad}] = ${gIdx![bad]} is not a group index in [0, ${groups})`);
      return unpackLinear(
        { qweight: readInt32(dir, stored.get(`${linear}.qweight`)!), qzeros: readInt32(dir, stored.get(`${linear}.qzeros`)!), scales: store.read(`${linear}.scales`), gIdx },
        out,
        inDim,
        gptq,
      );
    };
    return {
      format: 'huggingface',
      path: dir,
      config,
      tensors,
      tokenizer,
      gptq,
      quantized,
      readTensor(name: string): Float32Array {
        const linear = LINEAR.exec(name)?.[1];
        if (linear && linearNames.has(linear)) {
          const [out, inDim] = tensors.get(name)!.shape;
          return dequantizeGptq(quantized(linear), out, inDim);
        }
        if (!tensors.has(name)) throw new ModelError(dir, `has no tensor named "${name}"`);
        const storedName = stored.has(name) ? name : 'model.embed_tokens.weight';
        return store.read(storedName);
      },
      readRows(name: string, start: number, count: number): Float32Array {
        if (!tensors.has(name) || LINEAR.exec(name)?.[1]) return this.readTensor(name).slice(start * tensors.get(name)!.shape[1], (start + count) * tensors.get(name)!.shape[1]);
        return store.readRows(stored.has(name) ? name : 'model.embed_tokens.weight', start, count);
      },
      close: () => store.close(),
    };
  } catch (error) {
    store.close();
    throw error;
  }
}

/** Every packed tensor of a linear, with the shapes [out, in] and the config imply. */
function checkPacked(stored: ReadonlyMap<string, StoredTensor>, linear: string, [out, inDim]: number[], c: GptqConfig, weightsFile: string): void {
  const groups = c.group_size === -1 ? 1 : Math.ceil(inDim / c.group_size);
  const expect: [string, string[], number[]][] = [
    ['qweight', ['I32'], [(inDim * c.bits) / 32, out]],
    ['qzeros', ['I32'], [groups, (out * c.bits) / 32]],
    ['scales', ['F16', 'F32', 'BF16'], [groups, out]],
  ];
  if (stored.has(`${linear}.g_idx`)) expect.push(['g_idx', ['I32'], [inDim]]);
  for (const [suffix, dtypes, shape] of expect) {
    const t = stored.get(`${linear}.${suffix}`);
    if (!t) throw new ModelError(weightsFile, `tensor ${linear}.${suffix} is missing (a GPTQ checkpoint stores every linear packed)`);
    if (!dtypes.includes(t.dtype)) throw new ModelError(t.file, `tensor ${t.name} has dtype ${t.dtype}, expected ${dtypes.join(' or ')}`);
    if (JSON.stringify(t.shape) !== JSON.stringify(shape)) throw new ModelError(t.file, `tensor ${t.name} has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)} for ${c.bits}-bit [${out}, ${inDim}] with group size ${c.group_size}`);
  }
}

/** An I32 tensor's little-endian bytes (the float reader refuses integers). */
function readInt32(dir: string, t: StoredTensor): Int32Array {
  const out = new Int32Array(t.byteLength / 4);
  readRange(join(dir, t.file), t.offset, t.byteLength, new Uint8Array(out.buffer));
  return out;
}

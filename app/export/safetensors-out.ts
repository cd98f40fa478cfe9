// safetensors files for exports: any dtype a checkpoint needs (F32, F16, BF16, I32, U8), tensors
// produced one at a time (a 7B merge never holds two copies of the model), optionally sharded
// with Hugging Face's `model.safetensors.index.json`.
// Layout (https://github.com/huggingface/safetensors#format): u64 LE header length, JSON header
// (space-padded to 8 bytes), data. Files are written plainly, not atomically: every export
// writes into a temp folder that is renamed as a whole at the end (atomic-dir.ts).
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_IS_LITTLE_ENDIAN } from '../model/binary.js';

export type OutDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'U8';

const ITEM_SIZE: Record<OutDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, U8: 1 };

/** A tensor to write; `data()` is called once, when its bytes are due. Floats are converted to `dtype`. */
export interface OutTensor {
  name: string;
  dtype: OutDtype;
  shape: number[];
  data: () => Float32Array | Int32Array | Uint8Array;
}

export const byteSize = (t: Pick<OutTensor, 'dtype' | 'shape'>): number => t.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[t.dtype];

/** float32 → IEEE half bits, round to nearest even; overflow → ±inf, NaN kept. */
export function f32ToF16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    const m = mantissa | 0x800000; // implicit bit
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) r++; // may carry into the exponent: still correct
  return sign | r;
}

/** float32 → bfloat16 bits (the top half), round to nearest even; NaN kept quiet. */
export function f32ToBf16Bits(value: number): number {
  F32[0] = value;
  const x = U32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

function encode(t: OutTensor): Uint8Array {
  const data = t.data();
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`${t.name}: ${data.length} values for shape [${t.shape.join(', ')}]`);
  if (t.dtype === 'I32' || t.dtype === 'U8') {
    if (!(data instanceof (t.dtype === 'I32' ? Int32Array : Uint8Array))) throw new Error(`${t.name}: ${t.dtype} needs ${t.dtype === 'I32' ? 'Int32Array' : 'Uint8Array'} data`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const floats = data instanceof Float32Array ? data : Float32Array.from(data);
  if (t.dtype === 'F32') return new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  const halves = new Uint16Array(count);
  const convert = t.dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < count; i++) halves[i] = convert(floats[i]);
  return new Uint8Array(halves.buffer);
}

/** Writes one safetensors file; `onTensor` after each tensor (progress, cancellation). */
export function writeSafetensorsFile(path: string, tensors: readonly OutTensor[], metadata: Record<string, string> = {}, onTensor?: (name: string) => void): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('safetensors export: big-endian hosts are not supported');
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new Error(`${path}: duplicate or reserved tensor name "${t.name}"`);
    const size = byteSize(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, headerBytes);
    for (const t of tensors) {
      writeAll(fd, encode(t));
      onTensor?.(t.name);
    }
    fsyncSync(fd); // on disk before a caller renames it into place
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/**
 * A checkpoint's weights as `model.safetensors`, or, when they exceed `shardBytes`, as
 * `model-0000i-of-0000n.safetensors` shards (tensors in order, a new shard when the next tensor
 * would overflow; a tensor larger than the limit gets a shard of its own) plus
 * `model.safetensors.index.json` {metadata: {total_size}, weight_map: {name: shard}}.
 * Returns the files written.
 */
export function writeCheckpointWeights(dir: string, tensors: readonly OutTensor[], shardBytes: number, onTensor?: (name: string) => void): string[] {
  const total = tensors.reduce((sum, t) => sum + byteSize(t), 0);
  if (total <= shardBytes) {
    writeSafetensorsFile(join(dir, 'model.safetensors'), tensors, { format: 'pt' }, onTensor);
    return ['model.safetensors'];
  }
  const shards: OutTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = byteSize(t);
    if (size > 0 && size + bytes > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const names = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    writeSafetensorsFile(join(dir, names[i]), shard, { format: 'pt' }, onTensor);
    for (const t of shard) weightMap[t.name] = names[i];
  });
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  writeJsonFile(join(dir, 'model.safetensors.index.json'), index);
  return [...names, 'model.safetensors.index.json'];
}

export function writeJsonFile(path: string, value: unknown): void {
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8'));
  } finally {
    closeSync(fd);
  }
}

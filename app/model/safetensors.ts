// safetensors: `u64 LE header length N` + `N bytes of JSON` + the data section.
// The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets are
// relative to the data section) plus an optional `__metadata__` string map.
// Spec: https://github.com/huggingface/safetensors#format
// Lazy: opening reads only the header; `read(name)` reads that tensor's bytes and converts
// them to float32. Every header field is validated before it is used for a read.
import { readBf16 } from './bf16.js';
import { BinaryReader, HOST_IS_LITTLE_ENDIAN } from './binary.js';
import { describe, isObject, kindOf } from './json.js';
import { ModelError } from './types.js';
import { knownNonFinite } from './validate.js';

/** Bytes per element of every dtype the safetensors spec defines. */
const ITEM_SIZE = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
} as const;

export type SafetensorsDtype = keyof typeof ITEM_SIZE;

/** Refuse headers larger than this before allocating them (the Rust reader uses 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's place on disk. */
export interface StoredTensor {
  name: string;
  /** The file that holds it (a shard name for sharded checkpoints). */
  file: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte offset in `file` and length in bytes. */
  offset: number;
  byteLength: number;
}

/** What the Hugging Face reader needs from a single file or a sharded set. */
export interface TensorStore {
  readonly tensors: ReadonlyMap<string, StoredTensor>;
  /** `into`: see Model.readTensor. */
  read(name: string, into?: Float32Array): Float32Array;
  /** Rows [start, start + count) of a tensor (along its first axis) as float32, reading only their bytes. */
  readRows(name: string, start: number, count: number, into?: Float32Array): Float32Array;
  close(): void;
}

export class SafetensorsFile implements TensorStore {
  private constructor(
    private readonly reader: BinaryReader,
    readonly tensors: ReadonlyMap<string, StoredTensor>,
    readonly metadata: Record<string, string> | null,
  ) {}

  get file(): string {
    return this.reader.file;
  }

  static open(path: string): SafetensorsFile {
    const reader = BinaryReader.open(path);
    try {
      const { tensors, metadata } = readHeader(reader);
      return new SafetensorsFile(reader, tensors, metadata);
    } catch (error) {
      reader.close();
      throw error;
    }
  }

  /** One tensor as float32 ([prod(shape)], row-major). */
  read(name: string, into?: Float32Array): Float32Array {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new ModelError(this.file, `has no tensor named "${name}"`);
    return readAsFloat32(this.reader, tensor, into);
  }

  readRows(name: string, start: number, count: number, into?: Float32Array): Float32Array {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new ModelError(this.file, `has no tensor named "${name}"`);
    return readAsFloat32(this.reader, rowRange(tensor, start, count), into);
  }

  close(): void {
    this.reader.close();
  }
}

function readHeader(reader: BinaryReader) {
  const { file, size } = reader;
  const headerLength = reader.u64big(0); // bigint: a corrupt length may exceed 2^53
  if (headerLength > BigInt(size - 8)) {
    throw new ModelError(file, `header length ${headerLength} goes beyond the end of the file (${size} bytes)`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelError(file, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES / 1e6} MB limit`);
  }
  const dataStart = 8 + Number(headerLength);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(reader.bytes(8, dataStart - 8));
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(file, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw new ModelError(file, 'header is not valid JSON');
  }
  return parseHeader(file, header, dataStart, size - dataStart);
}

/** Validates a parsed header against a data section of `dataSize` bytes starting at `dataStart`. */
export function parseHeader(file: string, header: unknown, dataStart: number, dataSize: number) {
  if (!isObject(header)) throw new ModelError(file, `header must be a JSON object, got ${kindOf(header)}`);
  let metadata: Record<string, string> | null = null;
  const tensors = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    const fail = (problem: string) => new ModelError(file, `tensor "${name}" ${problem}`);
    if (!isObject(entry)) throw fail(`must be described by an object, got ${kindOf(entry)}`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype)) {
      throw fail(`has unknown dtype ${describe(dtype)} (known: ${Object.keys(ITEM_SIZE).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`has shape ${describe(shape)}; expected an array of non-negative integers`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
    ) {
      throw fail(`has data_offsets ${describe(offsets)}; expected [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    const itemSize = ITEM_SIZE[dtype as SafetensorsDtype];
    // Multiply step by step so an absurd shape cannot overflow into a plausible number.
    let expected = itemSize;
    for (const d of shape as number[]) {
      expected *= d;
      if (!Number.isSafeInteger(expected)) throw fail(`has shape ${describe(shape)}, too large for any file`);
    }
    if (end - begin !== expected) {
      throw fail(
        `has ${end - begin} bytes (data_offsets [${begin}, ${end}]) but shape ${describe(shape)} of ${dtype} needs ${expected}`,
      );
    }
    if (end > dataSize) {
      throw fail(
        `has data_offsets [${begin}, ${end}] beyond the data section (${dataSize} bytes); the file may be truncated`,
      );
    }
    tensors.set(name, { name, file, dtype: dtype as SafetensorsDtype, shape: shape as number[], offset: dataStart + begin, byteLength: expected });
  }
  checkOverlaps(file, [...tensors.values()], dataStart);
  return { tensors, metadata };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isObject(value)) throw new ModelError(file, `__metadata__ must be an object of strings, got ${kindOf(value)}`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new ModelError(file, `__metadata__ must be an object of strings, but "${key}" is ${kindOf(item)}`);
    }
  }
  return value as Record<string, string>;
}

/** Two tensors sharing bytes means a corrupt header (the format never aliases storage). */
function checkOverlaps(file: string, tensors: StoredTensor[], dataStart: number): void {
  const sorted = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.offset < a.offset + a.byteLength) {
      const range = (t: StoredTensor) => `[${t.offset - dataStart}, ${t.offset - dataStart + t.byteLength}]`;
      throw new ModelError(file, `tensors "${a.name}" ${range(a)} and "${b.name}" ${range(b)} overlap`);
    }
  }
}

/**
 * The byte range of rows [start, start + count) of a stored tensor, as a StoredTensor of its own
 * (shape [count, ...rest]): an embedding lookup or a chunk of lm_head reads only those bytes.
 */
export function rowRange(tensor: StoredTensor, start: number, count: number): StoredTensor {
  const rows = tensor.shape[0] ?? 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
    throw new ModelError(tensor.file, `tensor "${tensor.name}": rows [${start}, ${start + count}) are outside its ${rows} rows`);
  }
  const rowBytes = rows === 0 ? 0 : tensor.byteLength / rows;
  return { ...tensor, shape: [count, ...tensor.shape.slice(1)], offset: tensor.offset + start * rowBytes, byteLength: count * rowBytes };
}

/** Reads a stored tensor's bytes and converts F32/F16/BF16 to float32 (into `into` when given and of the right length). */
export function readAsFloat32(reader: BinaryReader, tensor: StoredTensor, into?: Float32Array): Float32Array {
  const count = tensor.byteLength / ITEM_SIZE[tensor.dtype];
  const target = into?.length === count ? into : undefined;
  if (target) knownNonFinite.delete(target); // a recycled array's old count no longer holds
  if (tensor.dtype === 'F32') {
    const out = target ?? new Float32Array(count);
    if (HOST_IS_LITTLE_ENDIAN) {
      reader.readInto(new Uint8Array(out.buffer), tensor.offset); // LE file bytes are the floats
    } else {
      const view = new DataView(reader.bytes(tensor.offset, tensor.byteLength).buffer);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    }
    return out;
  }
  if (tensor.dtype === 'BF16' && HOST_IS_LITTLE_ENDIAN) return readBf16Into(reader, tensor, target ?? new Float32Array(count));
  if (tensor.dtype === 'F16' || tensor.dtype === 'BF16') {
    let halves: Uint16Array;
    if (HOST_IS_LITTLE_ENDIAN) {
      halves = new Uint16Array(count); // the LE file bytes are the halves: read straight into them
      reader.readInto(new Uint8Array(halves.buffer), tensor.offset);
    } else {
      const view = new DataView(reader.bytes(tensor.offset, tensor.byteLength).buffer);
      halves = new Uint16Array(count);
      for (let i = 0; i < count; i++) halves[i] = view.getUint16(2 * i, true);
    }
    return tensor.dtype === 'F16' ? f16ToF32(halves) : bf16ToF32(halves);
  }
  throw new ModelError(tensor.file, `tensor "${tensor.name}" has dtype ${tensor.dtype}; only F32, F16 and BF16 can be read`);
}

/** BF16 → float32 through the WebAssembly kernel's chunks (bf16.ts), counting NaN/±Inf on the way. */
function readBf16Into(reader: BinaryReader, tensor: StoredTensor, out: Float32Array): Float32Array {
  knownNonFinite.set(out, readBf16((target, offset) => reader.readInto(target, offset), tensor.offset, out));
  return out;
}

/**
 * The read-ahead worker's widening (prefetch.ts; reads on the main thread go through bf16.ts): widens
 * `count` BF16 halves stored at bytes [byteOffset + 2·count, byteOffset + 4·count) of
 * `buffer` into `count` float32 at [byteOffset, byteOffset + 4·count), front to back (float i,
 * bytes [4i, 4i + 4), only overwrites halves j ≤ i, already consumed), and returns how many are
 * NaN/±Inf (exponent all ones) for requireFinite, so a streamed block costs one pass over
 * memory, not three. Two halves are read as one little-endian uint32 and the count is
 * branch-free: 0.78 ns per element against 1.19 for one half per step with an `if`.
 * Self-contained (no imports, no helpers): the prefetch worker runs its source text.
 */
export function widenBf16InPlace(buffer: ArrayBufferLike, byteOffset: number, count: number): number {
  const bits = new Uint32Array(buffer, byteOffset, count);
  let bad = 0;
  if (count % 2 === 0) {
    // pair j = halves 2j (low 16 bits) and 2j + 1 (high); writing floats 2j, 2j + 1 (bytes
    // [8j, 8j + 8)) overwrites only pairs ≤ j (bytes from 2·count + 4j up), already read.
    const pairs = new Uint32Array(buffer, byteOffset + 2 * count, count / 2);
    for (let j = 0; j < pairs.length; j++) {
      const w = pairs[j];
      bits[2 * j] = w << 16;
      bits[2 * j + 1] = w & 0xffff0000;
      bad += (((w & 0x7f80) + 0x80) >>> 15) + ((((w >>> 16) & 0x7f80) + 0x80) >>> 15); // 1 exactly when the exponent is all ones
    }
  } else {
    const halves = new Uint16Array(buffer, byteOffset + 2 * count, count); // an odd count puts the halves off 4-byte alignment
    for (let i = 0; i < count; i++) {
      const h = halves[i];
      bad += ((h & 0x7f80) + 0x80) >>> 15;
      bits[i] = h << 16;
    }
  }
  return bad;
}

/** bfloat16 is the top half of a float32: shift the bits back into place. */
export function bf16ToF32(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return out;
}

/** IEEE half → single, bit-exact (±0, subnormals, ±inf, NaN payloads) via a 64K lookup table. */
export function f16ToF32(halves: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i]];
  return out;
}

let HALF_TABLE: Uint32Array | null = null;

function halfTable(): Uint32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfToSingleBits(h);
  return (HALF_TABLE = table);
}

/** half: sign 1 | exponent 5 (bias 15) | mantissa 10; single: 1 | 8 (bias 127) | 23. */
export function halfToSingleBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // inf / NaN
  if (exponent !== 0) return (sign | ((exponent + 127 - 15) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal: value = mantissa · 2^-24. Shift the leading 1 up to bit 10 (the implicit bit),
  // lowering the exponent once per shift; in single precision the number is normal.
  let e = 127 - 15 + 1;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

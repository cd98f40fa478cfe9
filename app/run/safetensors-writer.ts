// A minimal safetensors writer (F32 and F64) and a float64 reader on top of the model reader.
// Layout (https://github.com/huggingface/safetensors#format): u64 LE header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}}, then
// the data section. The header is space-padded to a multiple of 8 so every tensor starts
// 8-byte aligned (what the Rust writer does), and tensors are laid out in the order given.
//
// Reading: app/model/safetensors.ts validates the header and converts F32/F16/BF16 to float32
// but refuses F64 (the forward pass never needs it). The calibration statistics are float64
// sums, so `readFloat64` takes the validated offsets from SafetensorsFile's header and reads
// the bytes itself — the file stays a standard safetensors file that numpy/torch can open.
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { HOST_IS_LITTLE_ENDIAN } from '../model/binary.js';
import { SafetensorsFile } from '../model/safetensors.js';
import { ModelError } from '../model/types.js';

export type TensorData = Float32Array | Float64Array;

export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  /** The values, or a function called once when its bytes are due (the file is written tensor by tensor). */
  data: TensorData | (() => TensorData);
}

/** A tensor's values, calling its producer when it has one. */
export const valuesOf = (t: Pick<TensorToWrite, 'data'>): TensorData => (typeof t.data === 'function' ? t.data() : t.data);

let counter = 0;

/**
 * Writes a safetensors file atomically (temp sibling, fsync, rename), tensor by tensor: a
 * producer's data is made, written and dropped before the next, so a whole run's W_c never
 * sits in memory. Names must be unique and not `__metadata__`.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('writeSafetensors: big-endian hosts are not supported');
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new Error(`writeSafetensors: duplicate or reserved tensor name "${t.name}"`);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 8);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));
  const temp = `${path}.tmp-${process.pid}-${counter++}`;
  const fd = openSync(temp, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, headerBytes);
    for (const t of tensors) writeAll(fd, tensorBytes(t));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, path);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    // ENOSPC says neither which file nor how large: name both (the files before it are kept).
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw new Error(`${path}: no space left on its disk for this ${(offset / 1e9).toFixed(2)} GB file (its partial copy was removed; files written before it are kept)`, { cause: error });
    throw error;
  }
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  const values = valuesOf(t);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count !== values.length) throw new Error(`writeSafetensors: ${t.name} has ${values.length} values, shape [${t.shape.join(', ')}] needs ${count}`);
  const expected = t.dtype === 'F32' ? Float32Array : Float64Array;
  const data = values instanceof expected ? values : expected.from(values);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** A safetensors file of the run, read back through the model reader's validated header. */
export class TensorFile {
  private constructor(
    readonly path: string,
    readonly file: SafetensorsFile,
  ) {}

  static open(path: string): TensorFile {
    return new TensorFile(path, SafetensorsFile.open(path));
  }

  get metadata(): Record<string, string> {
    return this.file.metadata ?? {};
  }

  has(name: string): boolean {
    return this.file.tensors.has(name);
  }

  shape(name: string): number[] {
    const tensor = this.file.tensors.get(name);
    if (!tensor) throw new ModelError(this.file.file, `has no tensor named "${name}"`);
    return tensor.shape;
  }

  f32(name: string): Float32Array {
    return this.file.read(name);
  }

  f64(name: string): Float64Array {
    return readFloat64(this.path, this.file, name);
  }

  close(): void {
    this.file.close();
  }
}

/** One tensor of a safetensors file (at `path`) as float64: F64 read directly, F32/F16/BF16 widened. */
export function readFloat64(path: string, file: SafetensorsFile, name: string): Float64Array {
  const tensor = file.tensors.get(name);
  if (!tensor) throw new ModelError(file.file, `has no tensor named "${name}"`);
  if (tensor.dtype === 'F32' || tensor.dtype === 'F16' || tensor.dtype === 'BF16') return Float64Array.from(file.read(name));
  if (tensor.dtype !== 'F64') throw new ModelError(file.file, `tensor "${name}" has dtype ${tensor.dtype}, expected F64`);
  const out = new Float64Array(tensor.byteLength / 8);
  const bytes = new Uint8Array(out.buffer);
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < bytes.byteLength) {
      const n = readSync(fd, bytes, done, bytes.byteLength - done, tensor.offset + done);
      if (n === 0) throw new ModelError(tensor.file, `tensor "${name}" ends early: expected ${bytes.byteLength} bytes. The file might be corrupted.`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

// The one bounds-checked byte reader every model format goes through. Reads by absolute
// offset from a file descriptor (no whole-file buffer, so a 10 GB checkpoint costs nothing
// until a tensor is read) and checks every range against the file size *before* allocating,
// so a corrupt header can never make us allocate or read past the end of the file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { ModelError } from './types.js';

/** True on little-endian hosts, where typed-array views can alias the file's LE bytes. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class BinaryReader {
  /** The file's name as errors show it (`model.safetensors`). */
  readonly file: string;
  readonly size: number;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
  ) {
    this.file = basename(path);
    this.fd = fd;
    this.size = size;
  }

  /** Opens `path` read-only; a missing or unreadable file is a ModelError naming it. */
  static open(path: string): BinaryReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw Object.assign(new ModelError(basename(path), describeFsError(error)), { cause: error }); // cause: an I/O failure, not a damaged file (run/errors.ts isDamage)
    }
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      closeSync(fd);
      throw new ModelError(basename(path), 'is not a regular file');
    }
    return new BinaryReader(path, fd, stat.size);
  }

  /** Throws unless [offset, offset + length) lies inside the file. */
  check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ModelError(this.file, `invalid byte range: ${length} bytes at offset ${offset}`);
    }
    if (offset + length > this.size) {
      throw new ModelError(
        this.file,
        `expected ${length} bytes at offset ${offset} but the file has only ${this.size} bytes; the file may be truncated`,
      );
    }
  }

  /** Reads `length` bytes at `offset` into a fresh Uint8Array (allocated after the check). */
  bytes(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    this.readInto(out, offset);
    return out;
  }

  /** Fills `target` from `offset`; the range is checked first. */
  readInto(target: Uint8Array, offset: number): void {
    this.check(offset, target.byteLength);
    if (this.fd === null) throw new ModelError(this.file, 'the file was already closed');
    let done = 0;
    // readSync may return fewer bytes than asked (large reads); loop until the range is filled.
    while (done < target.byteLength) {
      const n = readSync(this.fd, target, done, target.byteLength - done, offset + done);
      if (n === 0) {
        throw new ModelError(this.file, `the file ended at ${offset + done} bytes while reading; it may have been truncated`);
      }
      done += n;
    }
  }

  i32(offset: number): number {
    return view(this.bytes(offset, 4)).getInt32(0, true);
  }

  f32(offset: number): number {
    return view(this.bytes(offset, 4)).getFloat32(0, true);
  }

  u64big(offset: number): bigint {
    return view(this.bytes(offset, 8)).getBigUint64(0, true);
  }

  /** A u64 read as bigint, then refused unless it is a safe integer (< 2^53). */
  u64(offset: number, what: string): number {
    const value = this.u64big(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ModelError(this.file, `${what} ${value} at offset ${offset} is too large to be real`);
    }
    return Number(value);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A sequential cursor over a BinaryReader, for formats read front to back (tok.bin). */
export class Cursor {
  constructor(
    readonly reader: BinaryReader,
    public offset = 0,
  ) {}

  get remaining(): number {
    return this.reader.size - this.offset;
  }

  i32(): number {
    const value = this.reader.i32(this.offset);
    this.offset += 4;
    return value;
  }

  f32(): number {
    const value = this.reader.f32(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(length: number): Uint8Array {
    const value = this.reader.bytes(this.offset, length);
    this.offset += length;
    return value;
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** `ENOENT` and friends in words a user can act on. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return `cannot be read (${error instanceof Error ? error.message : String(error)})`;
}

/** `length` bytes at `offset` of the file at `path` (into `target` when given), through a short-lived checked reader. */
export function readRange(path: string, offset: number, length: number, target = new Uint8Array(length)): Uint8Array {
  const reader = BinaryReader.open(path);
  try {
    reader.readInto(target.subarray(0, length), offset);
  } finally {
    reader.close();
  }
  return target;
}

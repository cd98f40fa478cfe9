// Checks that keep a hostile or broken checkpoint from hanging the engine or turning into a
// silent NaN result: a config's sizes are checked against the weight files' tensor index
// before anything sized by the config is built, and every tensor read is checked for
// non-finite values before its first use.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { describeFsError } from './binary.js';
import { ModelError, type Model } from './types.js';

/**
 * config.json's num_hidden_layers against the layers that have tensors in the weight files:
 * an absurd value (1e9) would otherwise build a name table per layer (minutes, gigabytes, or
 * "Map maximum size exceeded") before the first missing tensor is noticed.
 */
export function checkLayerCount(numLayers: number, tensorNames: Iterable<string>, weightsFile: string): void {
  let stored = 0;
  for (const name of tensorNames) {
    const match = /^model\.layers\.(\d+)\./.exec(name);
    if (match) stored = Math.max(stored, Number(match[1]) + 1);
  }
  if (numLayers > stored) {
    throw new ModelError(weightsFile, `config.json sets num_hidden_layers ${numLayers} but the weights hold tensors for ${stored} layer${stored === 1 ? '' : 's'}`);
  }
}

/** Number of NaN and ±Inf entries. */
export function countNonFinite(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    // x - x is 0 for every finite x, NaN for NaN and ±Inf: one branch-free test.
    if (values[i]! - values[i]! !== 0) count++;
  }
  return count;
}

/** NaN/±Inf counts a reader took while decoding (safetensors BF16), so requireFinite need not pass over the data again. */
export const knownNonFinite = new WeakMap<Float32Array, number>();

/** Throws a ModelError naming the tensor and the count when `values` holds NaN or ±Inf. */
export function requireFinite(values: Float32Array, tensor: string, file: string): Float32Array {
  const bad = knownNonFinite.get(values) ?? countNonFinite(values);
  if (bad > 0) throw new ModelError(file, `tensor ${tensor} has ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or ±Inf) among ${values.length}`);
  return values;
}

/**
 * The same model with every readTensor and readRows checked by requireFinite (the check costs
 * one pass over data already read, none where the reader counted while decoding).
 */
export function withFiniteReads(model: Model): Model {
  const read = model.readTensor.bind(model);
  const readRows = model.readRows?.bind(model);
  return Object.assign(model, {
    readTensor: (name: string, into?: Float32Array) => requireFinite(read(name, into), name, model.path),
    readRows: readRows && ((name: string, start: number, count: number, into?: Float32Array) => requireFinite(readRows(name, start, count, into), `${name} rows [${start}, ${start + count})`, model.path)),
  });
}

/** The cap on a text input (calibration text, evaluation text): far above any real one, far below memory. */
export const MAX_TEXT_BYTES = 1 << 30;

/** A text input that cannot be read; `problem` is the message without the file. */
export class TextFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TextFileError';
  }
}

/**
 * Reads a UTF-8 text file in bounded chunks. Refuses what is not a regular file (/dev/zero, a
 * FIFO, a socket: they never end or block the reader) and files over `maxBytes`, saying the cap.
 * Opened non-blocking so that opening a FIFO with no writer returns at once.
 */
export function readBoundedText(file: string, maxBytes = MAX_TEXT_BYTES): string {
  return readBoundedBytes(file, maxBytes).toString('utf8');
}

/** readBoundedText's bytes, undecoded (for hashing the exact file). */
export function readBoundedBytes(file: string, maxBytes = MAX_TEXT_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new TextFileError(file, describeFsError(error));
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO (named pipe)' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : stat.isSocket() ? 'a socket' : 'not a regular file';
      throw new TextFileError(file, `is ${kind}, not a regular text file`);
    }
    const cap = `${maxBytes.toLocaleString('en-US')} bytes`;
    if (stat.size > maxBytes) throw new TextFileError(file, `is ${stat.size.toLocaleString('en-US')} bytes, over the ${cap} cap for text inputs`);
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(16 << 20);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      // The size can grow while we read (a file still being written): the cap holds anyway.
      if (total > maxBytes) throw new TextFileError(file, `grew past the ${cap} cap for text inputs while being read`);
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

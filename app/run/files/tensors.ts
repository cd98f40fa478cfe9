// Reading one tensor of a run's safetensors file without keeping the file open: a header is
// small next to a tensor, so opening per read costs little and holds no descriptor between
// blocks of a streamed pass.
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import { RunError } from '../errors.js';
import { TensorFile } from '../safetensors-writer.js';
import { readMetadata } from './metadata.js';

/** Opens a run file that a finished stage must have written; missing = RunError naming it and why it should be there. */
export function openRunFile(path: string, why: string): TensorFile {
  if (!existsSync(path)) throw new RunError(`${path}: missing (${why})`);
  return TensorFile.open(path);
}

/** An opened file whose metadata passed its kind's schema (closed when it did not). */
export function checkedOpen(file: TensorFile, schema: z.ZodType): TensorFile {
  try {
    readMetadata(file, schema);
  } catch (error) {
    file.close();
    throw error;
  }
  return file;
}

/** Opens `path`, reads with `read`, closes. */
export function withRunFile<T>(path: string, read: (file: TensorFile) => T): T {
  const file = TensorFile.open(path);
  try {
    return read(file);
  } finally {
    file.close();
  }
}

/** One tensor of a run file as float32. */
export const readRunTensor = (path: string, name: string): Float32Array => withRunFile(path, (f) => f.f32(name));

/** One tensor of a run file as float64. */
export const readRunTensor64 = (path: string, name: string): Float64Array => withRunFile(path, (f) => f.f64(name));

// compressed.safetensors: W_c per linear, F32, under the model's own weight names
// (`model.layers.0.self_attn.q_proj.weight`), so a runner takes it as a weight source.
import { join } from 'node:path';
import type { WeightSource } from '../../forward/runner.js';
import { writeSafetensors, type TensorFile, type TensorToWrite } from '../safetensors-writer.js';
import { openRunFile, readRunTensor } from './tensors.js';

export const COMPRESSED = 'compressed.safetensors';

export const compressedPath = (dir: string) => join(dir, COMPRESSED);

export function writeCompressed(dir: string, weights: readonly TensorToWrite[], source: string): void {
  writeSafetensors(compressedPath(dir), weights, { format: 'pt', source });
}

export function openCompressed(dir: string): TensorFile {
  return openRunFile(compressedPath(dir), 'run.json says compression is done');
}

/** One linear's W_c (`<linear>.weight`). */
export const readCompressedTensor = (dir: string, weight: string) => readRunTensor(compressedPath(dir), weight);

/**
 * W_c of a finished run as a ModelRunner weight source: each linear is read from
 * compressed.safetensors when its block loads, so a variant is substituted one block at a time.
 * `close` releases the file.
 */
export function compressedSource(dir: string): { source: WeightSource; has: (name: string) => boolean; read: (name: string) => Float32Array; close: () => void } {
  const file = openCompressed(dir);
  const read = (name: string) => file.f32(name);
  return { source: (name) => (file.has(name) ? read(name) : undefined), has: (name) => file.has(name), read, close: () => file.close() };
}

// compressed.safetensors: W_c per linear, F32, under the model's own weight names
// (`model.layers.0.self_attn.q_proj.weight`), so a runner takes it as a weight source.
import { join } from 'node:path';
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

/** One linear's W_c (`<linear>.weight`), the file opened for this read only (a streamed pass holds no descriptor between blocks). */
export const readCompressedTensor = (dir: string, weight: string) => readRunTensor(compressedPath(dir), weight);

// compressed.safetensors: W_c per linear, F32, under the model's own weight names
// (`model.layers.0.self_attn.q_proj.weight`), so a runner takes it as a weight source.
import { join } from 'node:path';
import { z } from 'zod';
import { writeSafetensors, type TensorFile, type TensorToWrite } from '../safetensors-writer.js';
import { metadataToWrite } from './metadata.js';
import { checkedOpen, openRunFile, readRunTensor } from './tensors.js';

export const COMPRESSED = 'compressed.safetensors';

export const compressedPath = (dir: string) => join(dir, COMPRESSED);

/** `format` pt (what loaders of HF checkpoints expect) and the compress step that made it. */
const compressedMetadata = z.looseObject({ format: z.literal('pt', { error: 'expected "pt"' }), source: z.string({ error: 'expected the compress step that made it' }) });

export function writeCompressed(dir: string, weights: readonly TensorToWrite[], source: string): void {
  const path = compressedPath(dir);
  writeSafetensors(path, weights, metadataToWrite(path, { format: 'pt', source }, compressedMetadata));
}

export function openCompressed(dir: string): TensorFile {
  return checkedOpen(openRunFile(compressedPath(dir), 'run.json says compression is done'), compressedMetadata);
}

/** One linear's W_c (`<linear>.weight`), the file opened for this read only (a streamed pass holds no descriptor between blocks). */
export const readCompressedTensor = (dir: string, weight: string) => readRunTensor(compressedPath(dir), weight);

// partial/: compress's per-block checkpoints while the stage runs, removed when it finishes.
//   layer-NNNN.safetensors   the block's W_c, exact quantized state and C per input group (tokens in __metadata__)
//   layer-NNNN.json          the block's per-linear records (layers-json.ts's schema)
//   hidden.safetensors       the next block's input hidden state [N, L, d] F32, `next_layer` in __metadata__
// A stopped compress resumes at the block after the last checkpoint and gives bit-identical
// results: everything downstream depends only on that hidden state and the original weights.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunError } from '../errors.js';
import { TensorFile, writeSafetensors, type TensorToWrite } from '../safetensors-writer.js';
import { layersJsonSchema, type LinearRecord } from './layers-json.js';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { metadataToWrite, readMetadata, tokenCounts, wholeNumber } from './metadata.js';
import { checkedOpen } from './tensors.js';

export const PARTIAL_DIR = 'partial';

const layerBase = (dir: string, layer: number) => join(dir, PARTIAL_DIR, `layer-${String(layer).padStart(4, '0')}`);
const hiddenPath = (dir: string) => join(dir, PARTIAL_DIR, 'hidden.safetensors');
/** hidden.safetensors: the block whose input it is. (A block's own file: tokenCounts.) */
const hiddenMetadata = z.looseObject({ next_layer: wholeNumber });

/** One finished block: its tensors, its C token counts (metadata) and its records, then the next block's input. */
export function writeBlockCheckpoint(dir: string, layer: number, tensors: readonly TensorToWrite[], metadata: Record<string, string>, records: readonly LinearRecord[], next: { data: Float32Array; shape: number[] }): void {
  mkdirSync(join(dir, PARTIAL_DIR), { recursive: true });
  const block = `${layerBase(dir, layer)}.safetensors`;
  writeSafetensors(block, tensors, metadataToWrite(block, metadata, tokenCounts));
  writeJsonFile(`${layerBase(dir, layer)}.json`, records);
  writeSafetensors(hiddenPath(dir), [{ name: 'hidden', dtype: 'F32', shape: next.shape, data: next.data }], metadataToWrite(hiddenPath(dir), { next_layer: String(layer + 1) }, hiddenMetadata));
}

/** The input hidden state of block `layer`, checkpointed by the block before it. */
export function readCheckpointHidden(dir: string, layer: number): Float32Array {
  const file = TensorFile.open(hiddenPath(dir));
  try {
    if (readMetadata(file, hiddenMetadata).next_layer !== String(layer)) throw new RunError(`${dir}: partial/hidden.safetensors is for layer ${file.metadata.next_layer}, run.json says ${layer}; delete the run folder and start again`);
    return file.f32('hidden');
  } finally {
    file.close();
  }
}

/** A checkpointed block's tensor file (the caller closes it). */
export const openBlockCheckpoint = (dir: string, layer: number) => checkedOpen(TensorFile.open(`${layerBase(dir, layer)}.safetensors`), tokenCounts);

export function readBlockRecords(dir: string, layer: number): LinearRecord[] {
  const file = `${layerBase(dir, layer)}.json`;
  const records = readJsonFile(file, layersJsonSchema) as LinearRecord[] | undefined;
  if (!records) throw new RunError(`${file}: missing (run.json says block ${layer} is checkpointed)`);
  return records;
}

/** Whether partial/ exists (assembly removes it only after every run file is written). */
export const hasCheckpoints = (dir: string) => existsSync(join(dir, PARTIAL_DIR));

export function removeCheckpoints(dir: string): void {
  rmSync(join(dir, PARTIAL_DIR), { recursive: true, force: true });
}

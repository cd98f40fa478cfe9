// calibration.safetensors: C = Σ x xᵀ over the calibration tokens per layer input group, F64
// [k, k] under `model.layers.<i>.<group>` (attn_in: q/k/v, o_in: o, mlp_in: gate/up,
// down_in: down), each group's token count in __metadata__ as `<key>.tokens`.
import { join } from 'node:path';
import { writeSafetensors, type TensorFile, type TensorToWrite } from '../safetensors-writer.js';
import { metadataToWrite, tokenCounts } from './metadata.js';
import { checkedOpen, openRunFile } from './tensors.js';

export const CALIBRATION = 'calibration.safetensors';

export const calibrationPath = (dir: string) => join(dir, CALIBRATION);
export const gramKey = (layer: number, group: string) => `model.layers.${layer}.${group}`;

/** `tokens`: `<key>.tokens` → count, as the metadata stores it. */
export function writeCalibration(dir: string, grams: readonly TensorToWrite[], tokens: Record<string, string>): void {
  const path = calibrationPath(dir);
  writeSafetensors(path, grams, metadataToWrite(path, { ...tokens, content: 'C = sum over calibration tokens of x x^T per layer input group (attn_in: q/k/v, o_in: o, mlp_in: gate/up, down_in: down)' }, tokenCounts));
}

export function openCalibration(dir: string): TensorFile {
  return checkedOpen(openRunFile(calibrationPath(dir), 'run.json says compression is done'), tokenCounts);
}

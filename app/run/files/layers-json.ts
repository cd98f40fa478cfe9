// layers.json: one record per compressed linear (errors, sparsity, bits per weight), in model order.
import { join } from 'node:path';
import { z } from 'zod';
import type { LayerError } from '../../contract/index.js';
import type { LinearKind } from '../../model/types.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const LAYERS_JSON = 'layers.json';

/** One linear's record: the contract's LayerError with the kind typed. */
export type LinearRecord = Omit<LayerError, 'kind'> & { kind: LinearKind };

export const linearRecordSchema = z.looseObject({
  name: z.string(),
  layer: z.number().int().min(0),
  kind: z.string(),
  out: z.number().int().positive(),
  in: z.number().int().positive(),
  // null: a NaN written by JSON.stringify (an all-zero weight); older runs may lack the last four.
  rel_weight_error: z.number().nullable(),
  rel_output_error: z.number().nullable(),
  sparsity: z.number().nullable().optional(),
  bits_per_weight: z.number().nullable().optional(),
  output_energy: z.number().nullable().optional(),
  error_output_energy: z.number().nullable().optional(),
});
export const layersJsonSchema = z.array(linearRecordSchema, { error: 'expected a list of linears' });

export const layersJsonPath = (dir: string) => join(dir, LAYERS_JSON);

/** The run's per-linear records; [] when the run has none yet. */
export function readLayersJson(dir: string): LinearRecord[] {
  return (readJsonFile(layersJsonPath(dir), layersJsonSchema) as LinearRecord[] | undefined) ?? [];
}

export function writeLayersJson(dir: string, records: readonly LinearRecord[]): void {
  writeJsonFile(layersJsonPath(dir), records);
}

// run.json: what a run is (config, model, device, workbench version) and where it stands
// (per-stage status and timings, facts recorded along the way such as the calibration windows
// and the writer's process).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const RUN_JSON = 'run.json';
export const RUN_FORMAT = 'eora-run';
export const RUN_FORMAT_VERSION = 1;

export type StageName = 'compress' | 'evaluate' | 'compensate' | 'samples';
export type StageStatus = 'pending' | 'running' | 'stopped' | 'failed' | 'done';

export interface StageRecord {
  status: StageStatus;
  started?: string;
  finished?: string;
  seconds?: number;
  error?: string;
  /** compress: layers finished (the resume point). */
  layers_done?: number;
  /** compress: seconds per finished layer. */
  layer_seconds?: number[];
}

export interface RunManifest {
  format: typeof RUN_FORMAT;
  format_version: number;
  workbench_version: string;
  created: string;
  model: { path: string; format: string; fingerprint: string };
  device: string;
  /** What determines the result; a resume must present the same config. */
  config: Record<string, unknown>;
  /** Facts recorded along the way (calibration windows, …). */
  records: Record<string, unknown>;
  stages: Partial<Record<StageName, StageRecord>>;
}

const stageSchema = z.looseObject({
  status: z.enum(['pending', 'running', 'stopped', 'failed', 'done'], { error: 'expected pending, running, stopped, failed or done' }),
  seconds: z.number().optional(),
  error: z.string().optional(),
  layers_done: z.number().int().min(0).optional(),
  layer_seconds: z.array(z.number()).optional(),
});

/** The fields readers rely on; older or hand-written runs may lack the version fields, config and records. */
export const runJsonSchema = z.looseObject({
  format: z.literal(RUN_FORMAT, { error: (issue) => `not an eora run (format ${JSON.stringify(issue.input)})` }),
  model: z.looseObject({ path: z.string(), format: z.string().optional(), fingerprint: z.string().optional() }, { error: 'expected {"path", "format", "fingerprint"}' }),
  device: z.string().optional(),
  config: z.record(z.string(), z.unknown(), { error: 'expected an object' }).optional(),
  records: z.record(z.string(), z.unknown()).optional(),
  stages: z.record(z.string(), stageSchema, { error: 'expected an object of stages' }),
});

export const runJsonPath = (dir: string) => join(dir, RUN_JSON);
export const hasRunJson = (dir: string) => existsSync(runJsonPath(dir));

/** The run's manifest, or undefined when the folder has no run.json; malformed = RunError naming the file. */
export function readRunJson(dir: string): RunManifest | undefined {
  const manifest = readJsonFile(runJsonPath(dir), runJsonSchema) as RunManifest | undefined;
  if (manifest) {
    manifest.config ??= {};
    manifest.records ??= {};
  }
  return manifest;
}

export function writeRunJson(dir: string, manifest: RunManifest): void {
  writeJsonFile(runJsonPath(dir), manifest);
}

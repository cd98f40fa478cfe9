// metrics.json: every measurement of a run, one entry per variant (the format is described in
// ../metrics.ts). The schema checks the fields readers rely on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { emptyMetrics, METRICS_FORMAT, METRICS_VERSION, type RunMetrics } from '../metrics.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const METRICS_JSON = 'metrics.json';

const pplEntry = z.looseObject({ ppl: z.number() }, { error: 'expected {"ppl": number, …}' });
const taskEntry = z.looseObject(
  { acc: z.number(), acc_norm: z.number(), stderr: z.looseObject({}), n: z.number() },
  { error: 'expected {"acc", "acc_norm", "stderr", "n"}' },
);
const variantEntry = z.looseObject({ name: z.string(), ppl: z.record(z.string(), pplEntry, { error: 'expected an object' }), tasks: z.record(z.string(), taskEntry, { error: 'expected an object' }) }, { error: 'expected an object' });

export const metricsJsonSchema = z
  .looseObject(
    {
      format: z.literal(METRICS_FORMAT, { error: (issue) => `not an eora metrics file (format ${JSON.stringify(issue.input)}; runs made before metrics version ${METRICS_VERSION} must be re-evaluated)` }),
      variants: z.record(z.string(), variantEntry, { error: 'expected an object' }),
    },
    { error: 'expected a JSON object' },
  )
  .superRefine((value, ctx) => {
    for (const [name, v] of Object.entries(value.variants)) {
      if (v.name !== name) ctx.addIssue({ code: 'custom', path: ['variants', name, 'name'], message: `expected "${name}", got ${JSON.stringify(v.name)}` });
    }
  });

export const metricsJsonPath = (dir: string) => join(dir, METRICS_JSON);
export const hasMetricsJson = (dir: string) => existsSync(metricsJsonPath(dir));

/** A run's metrics.json, checked for shape; absent = empty; unreadable or malformed = RunError naming the file. */
export function readMetricsJson(dir: string): RunMetrics {
  return (readJsonFile(metricsJsonPath(dir), metricsJsonSchema) as RunMetrics | undefined) ?? emptyMetrics();
}

export function writeMetricsJson(dir: string, metrics: RunMetrics): void {
  writeJsonFile(metricsJsonPath(dir), metrics);
}

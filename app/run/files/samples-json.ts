// samples.json: greedy continuations of the experiment's prompts, per variant.
//   { prompts, max_new_tokens, variants: { <name>: [{ prompt, text, tokens, stop_reason }] } }
import { join } from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const SAMPLES_JSON = 'samples.json';

export interface Sample {
  prompt: string;
  text: string;
  tokens: number;
  stop_reason: string;
}

export interface SamplesFile {
  prompts: string[];
  max_new_tokens: number;
  variants: Record<string, Sample[]>;
}

const sampleSchema = z.looseObject({ prompt: z.string(), text: z.string(), tokens: z.number(), stop_reason: z.string() });
export const samplesJsonSchema = z.looseObject({
  prompts: z.array(z.string()),
  max_new_tokens: z.number().int().min(0),
  variants: z.record(z.string(), z.array(sampleSchema)),
});

export const samplesJsonPath = (dir: string) => join(dir, SAMPLES_JSON);

export function readSamplesJson(dir: string): SamplesFile | undefined {
  return readJsonFile(samplesJsonPath(dir), samplesJsonSchema) as SamplesFile | undefined;
}

export function writeSamplesJson(dir: string, samples: SamplesFile): void {
  writeJsonFile(samplesJsonPath(dir), samples);
}

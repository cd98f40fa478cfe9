// Experiment config checks and the bundled configs, for the New run form.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Defaults, Validation } from '../contract/index.js';
import { ExperimentError, issuesOf, parseExperiment } from '../experiment/config.js';
import { bundledModelPath, resourcesPath } from '../model/open.js';

/** Every problem of `config`, one per field, with the engine's own messages; never throws. */
export function validateExperiment(config: unknown): Validation {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    return { ok: false, issues: [{ path: '', message: 'expected an object with "compression" and other sections' }] };
  }
  const issues = issuesOf(config);
  if (issues.length > 0) return { ok: false, issues };
  // The schema passed; the method grammar and the paths are checked by the full parse.
  try {
    parseExperiment(config, 'config');
    return { ok: true, issues: [] };
  } catch (error) {
    if (!(error instanceof ExperimentError)) throw error;
    const match = /^config: ([A-Za-z0-9_.[\]]+): (.*)$/s.exec(error.message);
    return { ok: false, issues: [match ? { path: match[1], message: match[2] } : { path: '', message: error.message.replace(/^config: /, '') }] };
  }
}

async function readPreset(file: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

export async function experimentDefaults(runsRoot: string): Promise<Defaults> {
  const dir = resourcesPath('experiments');
  const presets: Record<string, Record<string, unknown>> = {};
  if (existsSync(dir)) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) presets[basename(file, '.json')] = await readPreset(join(dir, file));
  }
  // Without a bundled default.json the form still starts from something sensible.
  presets.default ??= { compression: { quant: 'gptq:w3g32', prune: 'none' }, compensation: { methods: ['svd', 'eora'], ranks: [8, 16, 32] } };
  return { bundledModel: bundledModelPath(), runsRoot, experiment: presets.default, presets };
}

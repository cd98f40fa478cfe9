// Experiment config checks and the bundled configs, for the New run form.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Defaults, Validation } from '../contract/index.js';
import { checkAgainstModel, ExperimentError, issuesOf, parseExperiment, type ConfigIssue, type ExperimentConfig } from '../experiment/config.js';
import { bundledModelPath, openModel, resourcesPath } from '../model/open.js';

/**
 * The config's problems against its model (sequence lengths, ranks, group sizes, memory):
 * config.ts checkAgainstModel on the model's config, opened without reading weights.
 */
export async function modelIssues(config: ExperimentConfig): Promise<ConfigIssue[]> {
  let model;
  try {
    model = await openModel(config.model);
  } catch (error) {
    return [{ path: 'model', message: (error as Error).message }];
  }
  try {
    return checkAgainstModel(config, model.config);
  } finally {
    model.close();
  }
}

/** Throws an ExperimentError naming the first field checkAgainstModel refuses (for `eora run` and experiment.start). */
export async function requireFitsModel(config: ExperimentConfig, label: string): Promise<void> {
  const issues = await modelIssues(config);
  if (issues.length === 0) return;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  throw new ExperimentError(`${label}: ${issues[0]!.path}: ${issues[0]!.message}${more}`);
}

/** Every problem of `config`, one per field, with the engine's own messages; never throws. */
export async function validateExperiment(config: unknown): Promise<Validation> {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    return { ok: false, issues: [{ path: '', message: 'expected an object with "compression" and other sections' }] };
  }
  const issues = issuesOf(config);
  if (issues.length > 0) return { ok: false, issues };
  // The schema passed; the method grammar and the paths are checked by the full parse.
  try {
    const issues = await modelIssues(parseExperiment(config, 'config'));
    return { ok: issues.length === 0, issues };
  } catch (error) {
    if (!(error instanceof ExperimentError)) throw error;
    const match = /^config: ([A-Za-z0-9_.[\]]+): (.*)$/s.exec(error.message);
    return { ok: false, issues: [match ? { path: match[1], message: match[2] } : { path: '', message: error.message.replace(/^config: /, '') }] };
  }
}

async function readPreset(file: string): Promise<Record<string, unknown>> {
  try {
    const preset = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    // A preset's relative model path is relative to the preset file (as `eora run FILE` reads it),
    // not to wherever the engine was started (the stories15M presets name ../models/stories15m); a hub
    // repo id such as Org/Name stays as it is.
    if (typeof preset.model === 'string' && !isAbsolute(preset.model) && /^\.\.?[\\/]/.test(preset.model)) preset.model = resolve(dirname(file), preset.model);
    return preset;
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

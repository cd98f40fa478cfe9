// Reading an experiment file (JSON or YAML) into a validated ExperimentConfig. Every error
// names the file, the field path and what was expected:
//   exp.json: compensation.ranks[1]: expected a positive integer, got "8"
// Relative paths in the file are resolved against the file's folder, so a config and its data
// can move together; the method specs are checked with the `eora compress` grammar here too.
import { existsSync, readFileSync } from 'node:fs';
import { parseRepoId, resolveSnapshot } from '../model/hub.js';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describeFsError } from '../model/binary.js';
import { resolveMethod } from '../pipeline/compress.js';
import { experimentSchema, issuesOf, type ExperimentConfig } from './schema.js';

export { experimentSchema, issuesOf, type ExperimentConfig, type ExperimentInput, type ConfigIssue } from './schema.js';

/** A bad experiment file; the message starts with the file's label. */
export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

/** Reads and validates `file` (.json, .yaml or .yml). */
export function parseExperimentFile(file: string): ExperimentConfig {
  const label = basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExperimentError(`${file}: ${describeFsError(error)}`);
  }
  const yaml = /\.ya?ml$/i.test(file);
  if (!yaml && !/\.json$/i.test(file)) throw new ExperimentError(`${file}: expected a .json, .yaml or .yml experiment file`);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ExperimentError(`${label}: not valid ${yaml ? 'YAML' : 'JSON'}: ${message}`);
  }
  return parseExperiment(value, label, dirname(resolve(file)));
}

/**
 * Validates a parsed config; `fileLabel` starts every message, `baseDir` resolves relative
 * paths (default: the working directory). Reports the first problem (issuesOf lists them all).
 */
export function parseExperiment(value: unknown, fileLabel: string, baseDir = process.cwd()): ExperimentConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ExperimentError(`${fileLabel}: expected an object with "compression" and other sections, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  const issues = issuesOf(value);
  if (issues.length) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new ExperimentError(`${fileLabel}: ${first.path ? `${first.path}: ` : ''}${first.message}${more}`);
  }
  const config = experimentSchema.parse(value);
  // Each spec alone first, so a pruning error is reported at compression.prune (the form shows it there).
  const specs: [string, string, string][] = [['compression.quant', config.compression.quant, 'none'], ['compression.prune', 'none', config.compression.prune], ['compression.quant', config.compression.quant, config.compression.prune]];
  for (const [field, quant, prune] of specs) {
    try {
      resolveMethod(quant, prune);
    } catch (error) {
      const message = (error as Error).message;
      // A combination error names the pruning side when it is about pruning (as it always did).
      const at = quant !== 'none' && prune !== 'none' && /--prune|prun/i.test(message) ? 'compression.prune' : field;
      throw new ExperimentError(`${fileLabel}: ${at}: ${message.replace(/--(quant|prune)/g, '$1')}`);
    }
  }
  const at = (path: string | undefined, field: string): string | undefined => {
    if (path === undefined) return undefined;
    const abs = isAbsolute(path) ? path : resolve(baseDir, path);
    if (!existsSync(abs)) throw new ExperimentError(`${fileLabel}: ${field}: ${abs} does not exist`);
    return abs;
  };
  config.model = atModel(config.model, at, fileLabel);
  config.calibration.file = at(config.calibration.file, 'calibration.file');
  config.evaluation.perplexity.forEach((t, i) => (t.file = at(t.file, `evaluation.perplexity[${i}].file`)));
  config.evaluation.tasks.forEach((t, i) => (t.path = at(t.path, `evaluation.tasks[${i}].path`)));
  return config;
}

/** `model` may also be a Hugging Face repo id (ORG/NAME[@rev]): a path on disk wins, else the cached snapshot (its commit folder, so the run records exactly what it used). */
function atModel(model: string | undefined, at: (path: string | undefined, field: string) => string | undefined, fileLabel: string): string | undefined {
  if (model === undefined) return undefined;
  const ref = parseRepoId(model);
  try {
    return at(model, 'model');
  } catch (error) {
    if (!ref) throw error;
  }
  try {
    return resolveSnapshot(ref);
  } catch (error) {
    throw new ExperimentError(`${fileLabel}: model: ${(error as Error).message}`);
  }
}


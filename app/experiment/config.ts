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
import { parseMethod } from '../compress/spec.js';
import { resolveMethod } from './stages/compress.js';
import { experimentSchema, issuesOf, type ConfigIssue, type ExperimentConfig } from './schema.js';
import type { ModelConfig } from '../model/types.js';
import { totalmem } from 'node:os';

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
  // Each spec alone first, so that a bad prune spec is reported under its own field.
  for (const field of ['quant', 'prune'] as const) {
    try {
      parseMethod(config.compression[field]);
    } catch (error) {
      throw new ExperimentError(`${fileLabel}: compression.${field}: ${(error as Error).message.replace(/--(quant|prune)/g, '$1')}`);
    }
  }
  try {
    resolveMethod(config.compression.quant, config.compression.prune);
  } catch (error) {
    const field = /--prune|prun/i.test((error as Error).message) && config.compression.prune !== 'none' ? 'compression.prune' : 'compression.quant';
    throw new ExperimentError(`${fileLabel}: ${field}: ${(error as Error).message.replace(/--(quant|prune)/g, '$1')}`);
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

/**
 * What can only be checked with the model in hand, before any work starts: one function for
 * the CLI (`eora run`), the server (`experiment.start`, `experiment.validate`) and the form.
 * Issues name the config field, in the zod-like {path, message} shape of issuesOf.
 */
export function checkAgainstModel(config: ExperimentConfig, model: ModelConfig, memoryBytes = totalmem()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const positions = model.max_position_embeddings;
  if (config.calibration.seq_len > positions) {
    issues.push({ path: 'calibration.seq_len', message: `${config.calibration.seq_len} is longer than the model's ${positions} positions (max_position_embeddings)` });
  }
  config.evaluation.perplexity.forEach((p, i) => {
    if (p.seq_len !== undefined && p.seq_len > positions) issues.push({ path: `evaluation.perplexity[${i}].seq_len`, message: `${p.seq_len} is longer than the model's ${positions} positions (max_position_embeddings)` });
  });
  const d = model.hidden_size;
  const q = model.num_heads * model.head_dim;
  const kv = model.num_kv_heads * model.head_dim;
  const I = model.intermediate_size;
  // Every linear as [out, in]: q, k, v, o, gate, up, down.
  const shapes: [string, number, number][] = [['q_proj', q, d], ['k_proj', kv, d], ['v_proj', kv, d], ['o_proj', d, q], ['gate_proj', I, d], ['up_proj', I, d], ['down_proj', d, I]];
  const smallest = shapes.reduce((a, b) => (Math.min(b[1], b[2]) < Math.min(a[1], a[2]) ? b : a));
  const limit = Math.min(smallest[1], smallest[2]);
  (config.compensation?.ranks ?? []).forEach((rank, i) => {
    if (rank > limit) issues.push({ path: `compensation.ranks[${i}]`, message: `rank ${rank} exceeds the smallest linear's size ${limit} (${smallest[0]} is [${smallest[1]}, ${smallest[2]}])` });
  });
  let spec: ReturnType<typeof resolveMethod> | undefined;
  try {
    spec = resolveMethod(config.compression.quant, config.compression.prune);
  } catch {
    spec = undefined; // reported by parseExperiment under its own field
  }
  const group = spec && 'quant' in spec ? spec.quant?.groupSize : undefined;
  if (group !== undefined && group > 0) {
    const bad = [...new Set(shapes.map((s) => s[2]))].filter((n) => n % group !== 0);
    if (bad.length > 0) {
      const field = spec!.method === 'sparsegpt' && config.compression.prune !== 'none' && config.compression.quant === 'none' ? 'compression.prune' : 'compression.quant';
      issues.push({ path: field, message: `group size ${group} does not divide the linears' input size${bad.length > 1 ? 's' : ''} ${bad.join(', ')}` });
    }
  }
  // Calibration keeps the block inputs of every window in float32: [samples, seq_len, hidden].
  const hiddenBytes = config.calibration.samples * config.calibration.seq_len * d * 4;
  if (hiddenBytes > memoryBytes / 2) {
    issues.push({
      path: 'calibration.samples',
      message: `${config.calibration.samples} samples × ${config.calibration.seq_len} tokens × hidden ${d} need ${gib(hiddenBytes)} GiB for the calibration activations, over half of this machine's ${gib(memoryBytes)} GiB`,
    });
  }
  return issues;
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

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


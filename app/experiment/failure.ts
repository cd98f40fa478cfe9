// Why an experiment failed (run/files/failure-json.ts keeps it in the folder's failed.json).
import { bundledModelPath } from '../model/open.js';
import { readFailureJson, removeFailureJson, writeFailureJson, type RunFailure } from '../run/files/failure-json.js';

export type { RunFailure };

export function recordFailure(dir: string, error: string, config: { model?: string; compression?: { quant?: string; prune?: string } } = {}): void {
  const c = config.compression;
  const method = c ? [c.quant, c.prune].filter((m) => m && m !== 'none').join('+') || 'none' : null;
  writeFailureJson(dir, { error, at: new Date().toISOString(), model: config.model ?? bundledModelPath(), method });
}

export const readFailure = readFailureJson;
export const clearFailure = removeFailureJson;

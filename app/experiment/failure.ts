// Why an experiment failed, kept in its folder (failed.json) so the runs list can say so after a
// reload, also for a run that failed before it wrote run.json (a model that does not load, a
// context too short). Written by the engine's experiment jobs, cleared when a resume starts.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledModelPath } from '../model/open.js';

export const FAILURE_FILE = 'failed.json';

export interface RunFailure {
  error: string;
  /** ISO time of the failure. */
  at: string;
  model: string | null;
  method: string | null;
}

export function recordFailure(dir: string, error: string, config: { model?: string; compression?: { quant?: string; prune?: string } } = {}): void {
  const c = config.compression;
  const method = c ? [c.quant, c.prune].filter((m) => m && m !== 'none').join('+') || 'none' : null;
  const failure: RunFailure = { error, at: new Date().toISOString(), model: config.model ?? bundledModelPath(), method };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, FAILURE_FILE), JSON.stringify(failure, null, 2) + '\n');
}

/** The recorded failure, or null (none, or a file that is not one: the listing must not crash). */
export function readFailure(dir: string): RunFailure | null {
  const file = join(dir, FAILURE_FILE);
  if (!existsSync(file)) return null;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as RunFailure;
    return typeof value?.error === 'string' ? value : { error: `${file}: not a failure record`, at: '', model: null, method: null };
  } catch (error) {
    return { error: `${file}: ${(error as Error).message}`, at: '', model: null, method: null };
  }
}

export function clearFailure(dir: string): void {
  rmSync(join(dir, FAILURE_FILE), { force: true });
}

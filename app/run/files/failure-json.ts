// failed.json: why an experiment failed, kept in its folder so the runs list can say so after a
// reload, also for a run that failed before it wrote run.json (a model that does not load, a
// context too short). Written by the engine's experiment jobs, cleared when a resume starts.
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunError } from '../errors.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const FAILURE_JSON = 'failed.json';

export interface RunFailure {
  error: string;
  /** ISO time of the failure. */
  at: string;
  model: string | null;
  method: string | null;
}

export const failureJsonSchema = z.looseObject({ error: z.string() }, { error: 'not a failure record' });

export const failureJsonPath = (dir: string) => join(dir, FAILURE_JSON);
export const hasFailureJson = (dir: string) => existsSync(failureJsonPath(dir));

export function writeFailureJson(dir: string, failure: RunFailure): void {
  mkdirSync(dir, { recursive: true });
  writeJsonFile(failureJsonPath(dir), failure);
}

/** The recorded failure, or null (none, or a file that is not one: the listing must not crash, so the problem becomes the error). */
export function readFailureJson(dir: string): RunFailure | null {
  try {
    const value = readJsonFile(failureJsonPath(dir), failureJsonSchema) as RunFailure | undefined;
    return value ?? null;
  } catch (error) {
    return { error: (error as Error).message, at: '', model: null, method: null };
  }
}

export function removeFailureJson(dir: string): void {
  rmSync(failureJsonPath(dir), { force: true });
}

/** Deletes the folder of a run that failed before it wrote run.json: its failed.json, then the folder; anything else in it is refused and nothing removed. */
export function deleteFailedFolder(dir: string): void {
  const foreign = readdirSync(dir).filter((entry) => entry !== FAILURE_JSON);
  if (foreign.length > 0) throw new RunError(`${dir}: not deleted: it holds files the workbench did not write (${foreign.slice(0, 5).join(', ')}); move them out first`);
  rmSync(failureJsonPath(dir));
  rmdirSync(dir);
}

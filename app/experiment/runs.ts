// The runs on disk: where they live by default, a listing that never crashes on a broken
// folder (a corrupt or missing run.json / metrics.json is a 'corrupt' row with the reason),
// and deletion limited to real run folders.
import { isActive } from './active.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { deleteFailedFolder, hasFailureJson } from '../run/files/failure-json.js';
import { hasMetricsJson, readMetricsJson } from '../run/files/metrics-json.js';
import { hasRunJson } from '../run/files/run-json.js';
import { readFailure } from './failure.js';
import { acquireRunLock } from '../run/lock.js';
import { deleteRunFolder, RunError, RunFolder, type StageName } from '../run/run.js';
import { writerAlive, type RunWriter } from '../run/writer.js';

export type RunStatus = 'done' | 'running' | 'stopped' | 'failed' | 'corrupt';

export interface RunListing {
  dir: string;
  /** The folder's name. */
  name: string;
  status: RunStatus;
  /** The model's path, or null when run.json cannot be read. */
  model: string | null;
  /** The compression spec (`gptq:w3g32`), or null. */
  method: string | null;
  /** ISO time run.json was created, or null. */
  created: string | null;
  /** Why the run is corrupt or failed. */
  error?: string;
}

/**
 * The runs root: $EORA_RUNS_DIR, else the platform's per-user data folder + eora-workbench/runs
 * (Linux $XDG_DATA_HOME or ~/.local/share; macOS ~/Library/Application Support; Windows %APPDATA%).
 */
export function defaultRunsRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (env.EORA_RUNS_DIR) return resolve(env.EORA_RUNS_DIR);
  const data =
    platform === 'win32'
      ? (env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/')
          ? env.XDG_DATA_HOME
          : join(home, '.local', 'share');
  return join(data, 'eora-workbench', 'runs');
}

/** Every sub-folder of `root` that looks like a run (has run.json or metrics.json), newest first. */
export function listRuns(root: string): RunListing[] {
  if (!existsSync(root)) return [];
  const rows: RunListing[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    // A run that failed before run.json (failed.json) or is just starting (this engine's) is listed too.
    if (!hasRunJson(dir) && !hasMetricsJson(dir) && !hasFailureJson(dir) && !isActive(dir)) continue;
    rows.push(describeRun(dir));
  }
  return rows.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name));
}

/** One run's row; never throws for a broken folder. */
export function describeRun(dir: string): RunListing {
  const name = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
  const corrupt = (error: string): RunListing => ({ dir, name, status: 'corrupt', model: null, method: null, created: createdOf(dir), error });
  const failure = readFailure(dir);
  if (!hasRunJson(dir) && !hasMetricsJson(dir)) {
    if (isActive(dir)) return { dir, name, status: 'running', model: null, method: null, created: createdOf(dir) };
    if (failure) return { dir, name, status: 'failed', model: failure.model, method: failure.method, created: failure.at || createdOf(dir), error: failure.error };
  }
  let run: RunFolder;
  try {
    run = RunFolder.open(dir);
  } catch (error) {
    return corrupt((error as Error).message);
  }
  const m = run.manifest; // checked by run-json.ts's schema: model.path and stages are there
  const row: RunListing = { dir, name, status: 'done', model: m.model.path, method: typeof m.config?.method === 'string' ? m.config.method : null, created: typeof m.created === 'string' ? m.created : null };
  try {
    readMetricsJson(run.dir);
  } catch (error) {
    return { ...row, status: 'corrupt', error: (error as Error).message };
  }
  const status = statusOf(run);
  // The job's own error is the real one (a stage record may be missing or say less).
  if (failure && status.status !== 'done' && status.status !== 'running') return { ...row, status: 'failed', error: failure.error };
  return { ...row, ...status };
}

/** done / running / stopped / failed from the stages the run expects (records.experiment.stages, else those present). */
export function statusOf(run: RunFolder): { status: RunStatus; error?: string } {
  const stages = run.manifest.stages;
  const expected = (run.manifest.records?.experiment as { stages?: StageName[] } | undefined)?.stages ?? (Object.keys(stages) as StageName[]);
  const records = expected.map((s) => ({ name: s, ...(stages[s] ?? { status: 'pending' as const }) }));
  const failed = records.find((r) => r.status === 'failed');
  if (failed) return { status: 'failed', error: `${failed.name}: ${failed.error ?? 'failed'}` };
  if (records.length > 0 && records.every((r) => r.status === 'done')) return { status: 'done' };
  // Our own runs read 'running' exactly while this engine works on them (active.ts), also before
  // their first stage starts (a starting run is not 'stopped'); another process's run needs a
  // running stage and its recorded writer alive.
  const running = own(run) ? isActive(run.dir) : records.some((r) => r.status === 'running') && writerAlive(writerOf(run), startedOf(run));
  return { status: running ? 'running' : 'stopped' };
}

function writerOf(run: RunFolder): Partial<RunWriter> | undefined {
  return run.manifest.records?.process as Partial<RunWriter> | undefined;
}

/** When the recorded writer started (a writer started before the last boot is gone). */
function startedOf(run: RunFolder): string | undefined {
  const started = (run.manifest.records?.process as { started?: unknown } | undefined)?.started;
  return typeof started === 'string' ? started : undefined;
}

/** Whether this process recorded itself as the run's writer. */
function own(run: RunFolder): boolean {
  const writer = writerOf(run);
  return writer?.pid === process.pid && (writer.host === undefined || writer.host === hostname());
}

function createdOf(dir: string): string | null {
  try {
    return statSync(dir).birthtime.toISOString();
  } catch {
    return null;
  }
}

/**
 * Deletes a run folder: only what the workbench wrote (run.ts RUN_FILES / RUN_FOLDERS), then the
 * empty folder. Refuses anything without a valid run.json, a folder holding any other file
 * (listed, nothing removed), and a run a job is writing.
 */
export function deleteRun(dir: string): void {
  if (!hasRunJson(dir) && hasFailureJson(dir) && !isActive(dir)) return deleteFailedFolder(dir); // failed before run.json: only its failed.json goes
  const run = RunFolder.open(dir); // throws RunError when not a run folder
  if (isActive(run.dir) || statusOf(run).status === 'running') throw new RunError(`${run.dir}: the run is in use by a job; stop it first`);
  // Held around the delete, so no other process starts writing the run between check and delete.
  const release = acquireRunLock(run.dir, 'delete');
  try {
    deleteRunFolder(run);
  } finally {
    release();
  }
}

// A run folder: everything one compression experiment produced, readable by the CLI, the UI
// and later stages without recomputation.
//
//   run.lock                  the one process writing the folder now (lock.ts; absent when none)
//   run.json                  config, workbench version, model path + fingerprint, device,
//                             calibration windows, per-stage status and timings
//   compressed.safetensors    W_c per linear (F32, HF names `model.layers.0.self_attn.q_proj.weight`)
//   calibration.safetensors   C = Σ x xᵀ per layer input group (F64 [k, k], keys
//                             `model.layers.0.attn_in` …; token counts in __metadata__ as
//                             `model.layers.0.attn_in.tokens`)
//   layers.json               per linear: rel_weight_error, rel_output_error, sparsity, bits_per_weight
//   metrics.json              held-out perplexity and task accuracy per variant (schema in metrics.ts)
//   samples.json              greedy continuations of fixed prompts per variant (`eora run`)
//   decompositions/           rank-r_max adapters per method, for variants added later
//   spectra/, adapters/       added by `eora compensate`
//   partial/                  per-layer checkpoints while compression runs (removed at the end)
//
// Each file kind has one module in files/ (its schema, its path, its read/write pair; reads name
// the file and the problem); nothing outside app/run reads or writes them itself (app/run/owner.test.ts).
// Every file is written atomically (atomic.ts): an interrupted run never leaves a torn file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { engineVersion } from '../paths.js';
import type { Model } from '../model/types.js';
import { RunError } from './errors.js';
import { ADAPTERS_DIR } from './files/adapters.js';
import { CALIBRATION } from './files/calibration.js';
import { COMPRESSED } from './files/compressed.js';
import { DECOMPOSITIONS_DIR, DECOMPOSITIONS_PARTIAL } from './files/decompositions.js';
import { LAYERS_JSON } from './files/layers-json.js';
import { RUN_LOCK } from './lock.js';
import { METRICS_JSON } from './files/metrics-json.js';
import { PARTIAL_DIR } from './files/partial.js';
import { QUANTIZED } from './files/quantized.js';
import { readRunJson, RUN_FORMAT, RUN_FORMAT_VERSION, RUN_JSON, runJsonPath, writeRunJson, type RunManifest, type StageName, type StageRecord, type StageStatus } from './files/run-json.js';
import { SAMPLES_JSON } from './files/samples-json.js';
import { SPECTRA_DIR } from './files/spectra.js';
import { currentWriter, pidAlive } from './writer.js';

export { RunError } from './errors.js';
export { RUN_FORMAT, RUN_FORMAT_VERSION, type RunManifest, type StageName, type StageRecord, type StageStatus } from './files/run-json.js';

/** The files and folders the workbench writes at the top of a run folder (see above; failed.json is the jobs' own). */
export const RUN_FILES = [RUN_JSON, RUN_LOCK, COMPRESSED, CALIBRATION, QUANTIZED, LAYERS_JSON, METRICS_JSON, SAMPLES_JSON];
export const RUN_FOLDERS = [DECOMPOSITIONS_DIR, SPECTRA_DIR, ADAPTERS_DIR, PARTIAL_DIR];
/** Folders inside RUN_FOLDERS (a stopped compensate's per-linear files), held to the same rule. */
const NESTED_FOLDERS = [DECOMPOSITIONS_PARTIAL];
/** Inside RUN_FOLDERS: safetensors and JSON files, and atomic.ts's temp siblings of either. */
const RUN_FOLDER_FILE = /^[^/\\]+\.(safetensors|json)(\.tmp-\d+-\d+)?$/;

/** Top-level entries of `dir` the workbench did not write (a temp sibling of a run file counts as ours). */
function foreignEntries(dir: string): string[] {
  const foreign: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const base = entry.name.replace(/\.tmp-\d+-\d+$/, '');
    if (entry.isFile() && RUN_FILES.includes(base)) continue;
    if (entry.isDirectory() && RUN_FOLDERS.includes(entry.name)) {
      for (const inner of readdirSync(join(dir, entry.name), { withFileTypes: true })) {
        const nested = join(entry.name, inner.name);
        if (inner.isDirectory() && NESTED_FOLDERS.includes(nested)) {
          for (const file of readdirSync(join(dir, nested), { withFileTypes: true })) if (!file.isFile() || !RUN_FOLDER_FILE.test(file.name)) foreign.push(`${nested}/${file.name}`);
        } else if (!inner.isFile() || !RUN_FOLDER_FILE.test(inner.name)) foreign.push(`${entry.name}/${inner.name}`);
      }
      continue;
    }
    foreign.push(entry.name);
  }
  return foreign.sort();
}

/**
 * Deletes a run folder: only what the workbench wrote (RUN_FILES, RUN_FOLDERS), run.json last
 * (a half-deleted folder still reads as a run), then the empty folder. A folder holding anything
 * else is refused, naming it, and nothing is removed. The caller checks no job is using it.
 */
export function deleteRunFolder(run: RunFolder): void {
  const foreign = foreignEntries(run.dir);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} in all)` : '');
    throw new RunError(`${run.dir}: not deleted: it holds files the workbench did not write (${shown}); move them out first`);
  }
  // run.json goes after the data (a cut delete still reads as a run), run.lock last (the deleter holds it).
  for (const entry of readdirSync(run.dir)) {
    if (entry !== RUN_JSON && entry !== RUN_LOCK) rmSync(join(run.dir, entry), { recursive: true, force: true });
  }
  rmSync(runJsonPath(run.dir), { force: true });
  rmSync(join(run.dir, RUN_LOCK), { force: true });
  rmdirSync(run.dir);
}

/**
 * sha256 over the model's config.json bytes (or, for llama2.c checkpoints, the normalized
 * config) and its tensor index (name, dtype, shape, sorted by name): changes whenever the
 * architecture or any tensor's layout changes; cheap (no weight bytes are read).
 */
export function modelFingerprint(model: Model): string {
  const hash = createHash('sha256');
  const configFile = join(model.path, 'config.json');
  if (model.format === 'huggingface' && existsSync(configFile)) hash.update(readFileSync(configFile));
  else hash.update(JSON.stringify(model.config));
  const index = [...model.tensors.values()].map((t) => [t.name, t.dtype, t.shape] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  hash.update('\n' + JSON.stringify(index));
  return hash.digest('hex');
}

export class RunFolder {
  private constructor(
    readonly dir: string,
    public manifest: RunManifest,
  ) {}

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Opens an existing run folder (run.json must exist and be well-formed). */
  static open(dir: string): RunFolder {
    const abs = resolve(dir);
    const manifest = readRunJson(abs);
    if (!manifest) throw new RunError(`${abs}: not a run folder (no run.json)`);
    return new RunFolder(abs, manifest);
  }

  /**
   * Opens the run in `dir` when it was made with the same model and config (to resume it),
   * else creates a new one. A folder holding a different run is refused, never overwritten.
   */
  static createOrResume(dir: string, model: Model, device: string, config: Record<string, unknown>, log?: (message: string) => void): { run: RunFolder; resumed: boolean } {
    const abs = resolve(dir);
    const fingerprint = modelFingerprint(model);
    if (existsSync(join(abs, RUN_JSON))) {
      const run = RunFolder.open(abs);
      if (run.manifest.model.fingerprint !== fingerprint) throw new RunError(`${abs} holds a run of another model (${run.manifest.model.path}); choose another --out`);
      if (JSON.stringify(run.manifest.config) !== JSON.stringify(config)) {
        throw new RunError(`${abs} holds a run with a different configuration; choose another --out (or delete the folder)`);
      }
      run.removeStaleTemps(log);
      return { run, resumed: true };
    }
    if (existsSync(abs)) {
      const found = readdirSync(abs).filter((name) => name !== RUN_LOCK); // the caller's own writer lock
      if (found.length > 0) {
        const shown = found.slice(0, 5).join(', ') + (found.length > 5 ? `, … (${found.length} entries)` : '');
        throw new RunError(`${abs} is not empty and holds no run (found ${shown}); choose an empty or new folder`);
      }
    }
    mkdirSync(abs, { recursive: true });
    const manifest: RunManifest = {
      format: RUN_FORMAT,
      format_version: RUN_FORMAT_VERSION,
      workbench_version: engineVersion(),
      created: new Date().toISOString(),
      model: { path: model.path, format: model.format, fingerprint },
      device,
      config,
      records: {},
      stages: {},
    };
    const run = new RunFolder(abs, manifest);
    run.save();
    return { run, resumed: false };
  }

  /**
   * Removes atomic.ts temp files (`NAME.tmp-PID-N`) left by a killed writer: ours are renamed
   * or removed before a write returns, so any other process's temp here is stale once that
   * process is gone. Called when a run is resumed and when compensate starts; `log` hears of each.
   */
  removeStaleTemps(log?: (message: string) => void): void {
    for (const folder of ['', ...RUN_FOLDERS, ...NESTED_FOLDERS]) {
      const dir = join(this.dir, folder);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        const match = /\.tmp-(\d+)-\d+$/.exec(name);
        if (!match || Number(match[1]) === process.pid || pidAlive(Number(match[1]))) continue;
        rmSync(join(dir, name), { force: true });
        log?.(`${join(folder, name)}: removed (a write cut short: its writer, pid ${match[1]}, is gone)`);
      }
    }
  }

  save(): void {
    writeRunJson(this.dir, this.manifest);
  }

  stage(name: StageName): StageRecord {
    return (this.manifest.stages[name] ??= { status: 'pending' });
  }

  startStage(name: StageName): void {
    const stage = this.stage(name);
    stage.status = 'running';
    stage.started ??= new Date().toISOString();
    delete stage.error;
    // Who writes it now, so that a killed writer's run reads 'stopped' (writer.ts).
    this.manifest.records.process = { ...(this.manifest.records.process as object | undefined), ...currentWriter() };
    this.save();
  }

  finishStage(name: StageName, status: Exclude<StageStatus, 'pending' | 'running'>, seconds: number, error?: string): void {
    const stage = this.stage(name);
    stage.status = status;
    stage.finished = new Date().toISOString();
    stage.seconds = (stage.seconds ?? 0) + seconds;
    if (error) stage.error = error;
    this.save();
  }
}

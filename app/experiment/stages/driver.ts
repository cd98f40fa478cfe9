// The stage driver: the one place a stage's start/finish/resume bookkeeping lives. Every stage
// (compress, import, compensate, evaluate, samples) runs through runStage, from `eora run`, the
// CLI commands, import-gptq and add-variant alike:
//
//   done already and nothing left (`isComplete`)  → skipped, run.json untouched
//   otherwise                                     → 'running' (with this process as the writer),
//                                                   then 'done', or 'stopped' on cancel, or
//                                                   'failed' with the error's message
//
// Every stage holds the run's writer lock while it runs (run/lock.ts; shared with the command
// that already holds it): a second process writing the folder is refused.
//
// A stage resumes by itself from what the run folder holds (compress from its last block
// checkpoint, evaluate and samples from the first variant not yet recorded); the driver only
// records where it stands, so a killed process leaves the stage 'running' with a dead writer,
// which the runs list reads as stopped.
import { openModel } from '../../model/open.js';
import type { Model } from '../../model/types.js';
import type { Device } from '../../onnx/runtime.js';
import { acquireRunLock } from '../../run/lock.js';
import { modelFingerprint, RunError, type RunFolder, type StageName } from '../../run/run.js';

/** What every stage gets: the run, the model it was made from, the device, cancel and progress. */
export interface StageContext {
  run: RunFolder;
  model: Model;
  device: Device;
  signal?: AbortSignal;
  /** Progress within the stage: `done` of `total` steps, and what is being done. */
  progress?: (done: number, total: number, label: string) => void;
  /** What the user should know happened (a stale lock taken over, damaged files redone); the CLI prints it, the UI shows it. */
  log?: (message: string) => void;
}

export interface Stage<P, R> {
  name: StageName;
  /** Whether a stage recorded 'done' still has nothing to do for `params` (then it is skipped and `resume` gives its result). */
  isComplete?: (ctx: StageContext, params: P) => boolean;
  /** The result of a finished stage, read back from the run folder. */
  resume?: (ctx: StageContext, params: P) => R;
  run: (ctx: StageContext, params: P) => Promise<R>;
}

export async function runStage<P, R>(ctx: StageContext, stage: Stage<P, R>, params: P): Promise<R> {
  const { run } = ctx;
  if (run.stage(stage.name).status === 'done' && stage.resume && (stage.isComplete?.(ctx, params) ?? true)) return stage.resume(ctx, params);
  const release = acquireRunLock(run.dir, stage.name, ctx.log); // shared when the command already holds it
  try {
    const t0 = performance.now();
    run.startStage(stage.name);
    try {
      const result = await stage.run(ctx, params);
      run.finishStage(stage.name, 'done', (performance.now() - t0) / 1000);
      return result;
    } catch (error) {
      const aborted = ctx.signal?.aborted === true;
      run.finishStage(stage.name, aborted ? 'stopped' : 'failed', (performance.now() - t0) / 1000, aborted ? undefined : (error as Error).message);
      throw error;
    }
  } finally {
    release();
  }
}

/** The model a run was made from, refused when it changed since (the fingerprint differs). */
export async function openRunModel(run: RunFolder): Promise<Model> {
  const model = await openModel(run.manifest.model.path);
  if (modelFingerprint(model) !== run.manifest.model.fingerprint) {
    model.close();
    throw new RunError(`${run.manifest.model.path} is not the model this run was made from (fingerprint differs)`);
  }
  return model;
}

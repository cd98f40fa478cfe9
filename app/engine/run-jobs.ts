// The long run jobs: start or resume an experiment, add a variant, export one. Each reports
// progress through the job context (stage, done/total, label, ETA) and stops at its next
// checkpoint when cancelled; a cancelled experiment is left 'stopped' and resumable.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Exported, JobOutcome, ParsedParams, Progress, VariantAdded } from '../contract/index.js';
import { addVariant } from '../experiment/add-variant.js';
import { parseExperiment } from '../experiment/config.js';
import { requireFitsModel } from './experiments.js';
import { requireInactive } from '../experiment/active.js';
import { exportVariant } from '../export/index.js';
import { clearFailure, recordFailure } from '../experiment/failure.js';
import { runExperiment, type ExperimentProgress } from '../experiment/run.js';
import { defaultRunsRoot, describeRun } from '../experiment/runs.js';
import type { JobContext } from '../jobs/context.js';
import type { WorkerConfig } from '../jobs/messages.js';
import { runJsonPath } from '../run/files/run-json.js';
import { RunLockedError, withRunLock } from '../run/lock.js';
import { RunFolder } from '../run/run.js';

/** Progress, and notices (a dead writer's lock taken over, a damaged file redone) as the current step's message: shown, and kept in the job log. */
function reporter(context: JobContext) {
  let last: Progress = { stage: 'start', done: 0, total: 0 };
  return {
    onProgress: (event: ExperimentProgress) => context.progress((last = { stage: event.stage, done: event.done, total: event.total, label: event.label, ...(event.eta_s === undefined ? {} : { eta_s: event.eta_s }) })),
    onLog: (message: string) => context.progress({ ...last, label: message, message }),
  };
}

function newRunDir(root: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  for (let i = 0; ; i++) {
    const dir = join(root, `run-${stamp}${i === 0 ? '' : `-${i}`}`);
    if (!existsSync(dir)) return dir;
  }
}

/**
 * Runs an experiment job holding the folder's writer lock (the stages share it); a failure (not
 * a cancel) is written to the folder's failed.json for the runs list. The old failed.json is
 * cleared only once the lock is ours: a job refused because another process (or another job of
 * this engine) writes the folder touches nothing in it.
 */
async function keepingFailure<T>(dir: string, config: Parameters<typeof recordFailure>[2], context: JobContext, log: (message: string) => void, work: () => Promise<T>): Promise<T> {
  requireInactive(dir); // a job of this engine holds it: the lock below would be shared, not refused
  return withRunLock(dir, 'experiment', async () => {
    clearFailure(dir);
    try {
      return await work();
    } catch (error) {
      if (!context.signal.aborted && !(error instanceof RunLockedError)) recordFailure(dir, (error as Error).message, config);
      throw error;
    }
  }, log);
}

export function runJobs(_config: WorkerConfig) {
  const outcome = (dir: string): JobOutcome => ({ dir, status: describeRun(dir).status });
  return {
    runsRoot: () => defaultRunsRoot(),

    async 'experiment.start'({ config, dir }: ParsedParams<'experiment.start'>, context: JobContext): Promise<JobOutcome> {
      const parsed = parseExperiment(config, 'experiment');
      await requireFitsModel(parsed, 'experiment'); // before any work: lengths, ranks, group sizes, memory
      const out = resolve(dir ?? newRunDir(defaultRunsRoot()));
      const report = reporter(context);
      await keepingFailure(out, parsed, context, report.onLog, () => runExperiment(parsed, out, { signal: context.signal, ...report }));
      return outcome(out);
    },

    /** Reruns the experiment recorded in the run's run.json on the same folder: it continues where it stopped. */
    async 'experiment.resume'({ dir }: ParsedParams<'experiment.resume'>, context: JobContext): Promise<JobOutcome> {
      const run = RunFolder.open(dir);
      const recorded = run.manifest.config.experiment;
      if (recorded === undefined) throw new Error(`${runJsonPath(run.dir)}: made by the CLI stages, not an experiment; resume it with \`eora compress\` / \`eora compensate\``);
      const parsed = parseExperiment({ ...(recorded as object), device: run.manifest.device }, 'run.json');
      const report = reporter(context);
      await keepingFailure(run.dir, parsed, context, report.onLog, () => runExperiment(parsed, run.dir, { signal: context.signal, ...report }));
      return outcome(run.dir);
    },

    /** Materializes the variant from the run's stored decompositions and measures it like the others. */
    async 'run.addVariant'({ dir, method, rank, budget, ranks }: ParsedParams<'run.addVariant'>, context: JobContext): Promise<VariantAdded> {
      const entry = await addVariant(dir, { method, rank, budget, ranks }, { signal: context.signal, ...reporter(context) });
      return { dir: resolve(dir), variant: entry.name };
    },

    /** Writes one variant in a deployable format into outDir (atomically: all of it or nothing). */
    async 'run.export'({ dir, variant, format, outDir, dtype, force }: ParsedParams<'run.export'>, context: JobContext): Promise<Exported> {
      const summary = await exportVariant(dir, variant, format, resolve(outDir), {
        dtype,
        force,
        signal: context.signal,
        onProgress: (e) => context.progress({ stage: 'export', done: e.done, total: e.total, label: e.label }),
      });
      return { outDir: summary.dir, files: readdirSync(summary.dir).sort() };
    },
  };
}

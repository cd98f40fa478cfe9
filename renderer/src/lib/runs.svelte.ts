// What the run views share: the runs list, the open run, the job in flight (an experiment,
// a resume, a new variant, an export) with its progress log, and the user's choices that
// carry across views (the linear whose spectrum is shown, the rank). Views read it; only the
// methods here change it, and a failed open leaves the previous run in place.
import type { CurveSet, Defaults, Method, Params, Progress, Result, RunDetails, RunListing } from '../../../app/contract/index.js';
import { engine, errorMessage, isCancelled } from './engine.js';
import { closeTimes, nextTimes, plannedStages, type StageTimes } from './stages.js';

export type JobKind = 'experiment.start' | 'experiment.resume' | 'run.addVariant' | 'run.export';

export interface LogLine {
  at: string;
  text: string;
}

export interface Job {
  kind: JobKind;
  title: string;
  /** The run folder the job writes (known at start for resume/variant/export). */
  dir: string | null;
  /** The stages the job will go through, known before any report (lib/stages.ts). */
  planned: string[];
  /** Latest progress per stage, in first-seen order. */
  stages: Record<string, Progress>;
  /** When each stage was first seen and seen finished, for its duration. */
  times: Record<string, StageTimes>;
  log: LogLine[];
  state: 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';
  error: string | null;
  started: number;
}

const time = () => new Date().toLocaleTimeString('en-GB', { hour12: false });

class Runs {
  defaults = $state.raw<Defaults | null>(null);
  list = $state.raw<RunListing[]>([]);
  root = $state<string>('');
  listing = $state(false);
  listError = $state<string | null>(null);

  current = $state.raw<RunDetails | null>(null);
  opening = $state<string | null>(null);
  openError = $state<string | null>(null);

  job = $state.raw<Job | null>(null);
  #controller: AbortController | null = null;

  /** err(r) curves of the open run, per compensation method (loaded on first use). */
  curves = $state.raw<Record<string, CurveSet>>({});
  curvesError = $state<string | null>(null);
  #curvesFor: string | null = null;

  /** The linear shown in Spectra (set by a click in Per-layer error too). */
  linear = $state<string | null>(null);
  /** The rank the error views and the rank explorer compare at. */
  rank = $state(16);

  async loadDefaults(): Promise<void> {
    if (this.defaults) return;
    try {
      this.defaults = await engine.call('defaults', {});
    } catch (error) {
      this.listError = errorMessage(error);
    }
  }

  async refresh(): Promise<void> {
    this.listing = true;
    try {
      const result = await engine.call('runs.list', {});
      this.list = result.runs;
      this.root = result.root;
      this.listError = null;
    } catch (error) {
      this.listError = errorMessage(error);
    } finally {
      this.listing = false;
    }
  }

  async open(dir: string): Promise<boolean> {
    this.opening = dir;
    this.openError = null;
    try {
      const details = await engine.call('runs.open', { dir });
      if (this.opening !== dir) return false;
      this.current = details;
      this.curves = {};
      this.curvesError = null;
      this.#curvesFor = null;
      if (!this.linear || !details.spectra.includes(this.linear)) this.linear = details.spectra[0] ?? null;
      return true;
    } catch (error) {
      if (this.opening === dir) this.openError = errorMessage(error);
      return false;
    } finally {
      if (this.opening === dir) this.opening = null;
    }
  }

  /** Loads every method's curves of the open run once; views call it from an effect. */
  async loadCurves(): Promise<void> {
    const run = this.current;
    if (!run || this.#curvesFor === run.dir) return;
    this.#curvesFor = run.dir;
    try {
      const sets = await Promise.all(run.methods.map((method) => engine.call('run.curves', { dir: run.dir, method: method as 'eora' })));
      if (this.current?.dir === run.dir) this.curves = Object.fromEntries(sets.map((set) => [set.method, set]));
    } catch (error) {
      if (this.current?.dir === run.dir) this.curvesError = errorMessage(error);
    }
  }

  async remove(dir: string): Promise<void> {
    await engine.call('runs.delete', { dir });
    if (this.current?.dir === dir) this.current = null;
    await this.refresh();
  }

  /** Runs one long job; its progress lands in `job`. Resolves to the result, or null when it failed or was cancelled. */
  async runJob<M extends JobKind>(kind: M, params: Params<M>, title: string, dir: string | null): Promise<Result<M> | null> {
    if (this.job?.state === 'running' || this.job?.state === 'cancelling') throw new Error('another job is running; cancel it first');
    const controller = new AbortController();
    this.#controller = controller;
    let job: Job = { kind, title, dir, planned: plannedStages(kind, params), stages: {}, times: {}, log: [{ at: time(), text: `${title}: started` }], state: 'running', error: null, started: Date.now() };
    this.job = job;
    // Based on the latest state: cancelJob() may have marked it 'cancelling' meanwhile.
    const update = (patch: Partial<Job>) => {
      job = { ...(this.job ?? job), ...patch };
      this.job = job;
    };
    let lastLine = '';
    try {
      const result = await engine.call(kind as Method, params as Params<Method>, {
        signal: controller.signal,
        waitForStop: true,
        onProgress: (progress) => {
          const line = `${progress.stage}${progress.label ? ` · ${progress.label}` : ''}`;
          const log = line !== lastLine ? [...job.log, { at: time(), text: `${line} (${progress.done}/${progress.total})` }].slice(-200) : job.log;
          lastLine = line;
          update({ stages: { ...job.stages, [progress.stage]: progress }, times: nextTimes(job.times, progress, Date.now()), log });
        },
      });
      const resultDir = (result as { dir?: string }).dir ?? dir;
      update({ state: 'done', dir: resultDir, times: closeTimes(job.times, Date.now()), log: [...job.log, { at: time(), text: `${title}: done` }] });
      return result as Result<M>;
    } catch (error) {
      const cancelled = isCancelled(error);
      update({
        state: cancelled ? 'cancelled' : 'failed',
        error: cancelled ? null : errorMessage(error),
        log: [...job.log, { at: time(), text: cancelled ? `${title}: cancelled (resumable)` : `${title}: failed: ${errorMessage(error)}` }],
      });
      return null;
    } finally {
      this.#controller = null;
    }
  }

  /** Asks the engine to stop the job; `job.state` says 'cancelling' until it has. */
  cancelJob(): void {
    if (!this.#controller || this.job?.state !== 'running') return;
    this.job = { ...this.job, state: 'cancelling', log: [...this.job.log, { at: time(), text: 'cancel requested; waiting for the engine to stop' }] };
    this.#controller.abort();
  }
}

export const runs = new Runs();

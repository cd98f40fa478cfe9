// What the run views share: the runs list, the open run, the job in flight (an experiment,
// a resume, a new variant, an export) with its progress log, and the user's choices that
// carry across views (the linear whose spectrum is shown, the rank). Views read it; only the
// methods here change it, and a failed open leaves the previous run in place.
import type { ActiveJob, CurveSet, Defaults, Method, Params, Progress, Result, RunDetails, RunListing } from '../../../app/contract/index.js';
import { baseName } from './format.js';
import { engine, errorMessage, isCancelled } from './engine.js';
import { closeTimes, nextTimes, plannedStages, type StageTimes } from './stages.js';

export const jobKinds = ['experiment.start', 'experiment.resume', 'run.addVariant', 'run.export'] as const;
export type JobKind = (typeof jobKinds)[number];

/** A re-attached job's title (the page that started it chose a better one). */
const titles: Record<JobKind, string> = { 'experiment.start': 'Experiment', 'experiment.resume': 'Resume', 'run.addVariant': 'New variant in', 'run.export': 'Export of' };

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
  /** Found in the engine after a reload (jobs.active), not started by this page. */
  attached: boolean;
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
const time = () => clock(Date.now());

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
  /** Asks the engine to stop the job in flight; null when none runs. */
  #stop: (() => void) | null = null;
  #reattachTried = false;

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
    // A resume of the run the last job wrote continues its log (what happened before is why it is resumed).
    const earlier = kind === 'experiment.resume' && this.job?.dir === dir ? [...this.job.log, { at: time(), text: '──── resumed ────' }] : [];
    const job: Job = { kind, title, dir, planned: plannedStages(kind, params), stages: {}, times: {}, log: [...earlier, { at: time(), text: `${title}: started` }].slice(-400), state: 'running', error: null, started: Date.now(), attached: false };
    const result = await this.#follow(job, () => controller.abort(), (onProgress) =>
      engine.call(kind as Method, params as Params<Method>, { signal: controller.signal, waitForStop: true, onProgress }),
    );
    return result as Result<M> | null;
  }

  /**
   * After a reload (or in a second window): asks the engine for its jobs in flight and shows the
   * first run job in `job` (stages, log so far, Cancel), following it to its end. Once per page;
   * does nothing while this page runs a job of its own.
   */
  async reattach(): Promise<void> {
    if (this.#reattachTried || this.job?.state === 'running' || this.job?.state === 'cancelling') return;
    this.#reattachTried = true;
    let active: ActiveJob | undefined;
    try {
      active = (await engine.call('jobs.active', {})).jobs.find((j) => (jobKinds as readonly string[]).includes(j.method));
    } catch {
      return; // an engine that cannot answer shows its error elsewhere (the header banner)
    }
    if (!active || this.job) return;
    const kind = active.method as JobKind;
    const jobId = active.id;
    const title = `${titles[kind]}${active.dir ? ` ${baseName(active.dir)}` : ''}`;
    // The engine's log so far (it began before this page), then where this page took over.
    const log = [
      ...active.log.map((line) => ({ at: clock(Date.parse(line.at)), text: line.text })),
      { at: time(), text: `${title}: re-attached to the engine's job ${jobId} (started ${clock(Date.parse(active.started))})` },
    ];
    const job: Job = { kind, title, dir: active.dir, planned: plannedStages(kind, null), stages: active.stages, times: active.times, log, state: 'running', error: null, started: Date.parse(active.started), attached: true };
    const result = await this.#follow(job, () => void engine.cancel(jobId).catch(() => {}), (onProgress) => engine.call('jobs.attach', { id: jobId }, { onProgress }), active.log.at(-1)?.text.replace(/ \(\d+\/\d+\)$/, ''));
    void this.refresh();
    const resultDir = (result as { dir?: unknown } | null)?.dir;
    if (kind.startsWith('experiment.') && typeof resultDir === 'string') await this.open(resultDir);
  }

  /** Shows `job` in flight: its progress, then how it ended. `stop` asks the engine to stop it. */
  async #follow(job: Job, stop: () => void, call: (onProgress: (progress: Progress) => void) => Promise<unknown>, lastLine = ''): Promise<unknown> {
    const { title } = job;
    this.#stop = stop;
    this.job = job;
    // Based on the latest state: cancelJob() may have marked it 'cancelling' meanwhile.
    const update = (patch: Partial<Job>) => {
      job = { ...(this.job ?? job), ...patch };
      this.job = job;
    };
    try {
      const result = await call((progress) => {
        const line = `${progress.stage}${progress.label ? ` · ${progress.label}` : ''}`;
        const log = line !== lastLine ? [...job.log, { at: time(), text: `${line} (${progress.done}/${progress.total})` }].slice(-400) : job.log;
        lastLine = line;
        update({ stages: { ...job.stages, [progress.stage]: progress }, times: nextTimes(job.times, progress, Date.now()), log });
      });
      const resultDir = (result as { dir?: string } | null)?.dir ?? job.dir;
      update({ state: 'done', dir: resultDir, times: closeTimes(job.times, Date.now()), log: [...job.log, { at: time(), text: `${title}: done` }] });
      return result;
    } catch (error) {
      const cancelled = isCancelled(error);
      update({
        state: cancelled ? 'cancelled' : 'failed',
        error: cancelled ? null : errorMessage(error),
        log: [...job.log, { at: time(), text: cancelled ? `${title}: cancelled (resumable)` : `${title}: failed: ${errorMessage(error)}` }],
      });
      return null;
    } finally {
      this.#stop = null;
    }
  }

  /** Asks the engine to stop the job; `job.state` says 'cancelling' until it has. */
  cancelJob(): void {
    if (!this.#stop || this.job?.state !== 'running') return;
    this.job = { ...this.job, state: 'cancelling', log: [...this.job.log, { at: time(), text: 'cancel requested; waiting for the engine to stop' }] };
    this.#stop();
  }
}

export const runs = new Runs();

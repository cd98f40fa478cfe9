// The host's registry of calls in flight, so a page that did not start a job (a reload, a
// second window) can find it, show where it is, follow it and cancel it. It lives in the host,
// not the worker: it outlives a worker replaced by a hard cancel, and answers while the worker
// is busy inside onnxruntime. Pure bookkeeping: the host feeds it starts, progress and ends.
import { ContractError, type ActiveJob, type JobStageTimes, type Progress } from '../contract/index.js';

/** How a job ended: as its caller saw it. */
export type JobEnd = { ok: true; result: unknown } | { ok: false; error: ContractError };

export interface JobRegistryOptions {
  /** Log lines kept per job (the most recent). */
  logLines?: number;
  /** Ended jobs remembered, so an attach that races the end still gets the answer. */
  keepEnded?: number;
  now?: () => number;
}

interface Entry {
  job: ActiveJob;
  lastLine: string;
  watchers: Set<(progress: Progress) => void>;
  ended: Promise<JobEnd>;
  finish(end: JobEnd): void;
}

export class JobRegistry {
  private readonly active = new Map<string, Entry>();
  /** Recently ended, oldest first (Map keeps insertion order). */
  private readonly ended = new Map<string, JobEnd>();
  private readonly logLines: number;
  private readonly keepEnded: number;
  private readonly now: () => number;

  constructor(options: JobRegistryOptions = {}) {
    this.logLines = options.logLines ?? 200;
    this.keepEnded = options.keepEnded ?? 50;
    this.now = options.now ?? Date.now;
  }

  start(id: string, method: string, params: unknown): void {
    let finish: (end: JobEnd) => void = () => {};
    const ended = new Promise<JobEnd>((resolve) => (finish = resolve));
    const job: ActiveJob = { id, method, dir: dirOf(params), started: new Date(this.now()).toISOString(), last: null, stages: {}, times: {}, log: [] };
    this.active.set(id, { job, lastLine: '', watchers: new Set(), ended, finish });
    this.ended.delete(id);
  }

  progress(id: string, progress: Progress): void {
    const entry = this.active.get(id);
    if (!entry) return;
    const { job } = entry;
    const now = this.now();
    job.last = progress;
    job.stages[progress.stage] = progress;
    job.times = nextStageTimes(job.times, progress, now);
    const line = `${progress.stage}${progress.label ? ` · ${progress.label}` : ''}`;
    if (line !== entry.lastLine) {
      entry.lastLine = line;
      job.log.push({ at: new Date(now).toISOString(), text: `${line} (${progress.done}/${progress.total})` });
      if (job.log.length > this.logLines) job.log.splice(0, job.log.length - this.logLines);
    }
    for (const watcher of entry.watchers) watcher(progress);
  }

  end(id: string, end: JobEnd): void {
    const entry = this.active.get(id);
    if (!entry) return;
    this.active.delete(id);
    this.ended.set(id, end);
    for (const old of this.ended.keys()) {
      if (this.ended.size <= this.keepEnded) break;
      this.ended.delete(old);
    }
    entry.finish(end);
  }

  /** Snapshots of the jobs in flight, oldest first (copies: callers may keep or send them). */
  list(): ActiveJob[] {
    return [...this.active.values()].map(({ job }) => structuredClone(job));
  }

  /**
   * Follows a job: progress from now on goes to `onProgress`; resolves or rejects as the job
   * does. Aborting `signal` stops following (rejects 'cancelled') and leaves the job running.
   */
  watch(id: string, onProgress: ((progress: Progress) => void) | undefined, signal?: AbortSignal): Promise<unknown> {
    const settle = (end: JobEnd) => (end.ok ? Promise.resolve(end.result) : Promise.reject(end.error));
    const done = this.ended.get(id);
    if (done) return settle(done);
    const entry = this.active.get(id);
    if (!entry) return Promise.reject(new ContractError('invalid_params', `jobs.attach: no job "${id}" is running (it ended a while ago, or the engine restarted)`));
    const watcher = (progress: Progress) => onProgress?.(progress);
    entry.watchers.add(watcher);
    return new Promise((resolve, reject) => {
      const stop = () => {
        entry.watchers.delete(watcher);
        reject(new ContractError('cancelled', 'cancelled'));
      };
      if (signal?.aborted) return stop();
      signal?.addEventListener('abort', stop, { once: true });
      void entry.ended.then((end) => {
        entry.watchers.delete(watcher);
        signal?.removeEventListener('abort', stop);
        settle(end).then(resolve, reject);
      });
    });
  }
}

/** The run folder a job's params name (resume, add variant, export, a start given its folder). */
function dirOf(params: unknown): string | null {
  const dir = (params as { dir?: unknown } | null)?.dir;
  return typeof dir === 'string' ? dir : null;
}

/** A stage starts at its first report and ends when full or when another stage reports. */
export function nextStageTimes(times: Record<string, JobStageTimes>, progress: Progress, now: number): Record<string, JobStageTimes> {
  const next: Record<string, JobStageTimes> = {};
  for (const [name, t] of Object.entries(times)) next[name] = name !== progress.stage && t.end === undefined ? { ...t, end: now } : t;
  const own = next[progress.stage] ?? { start: now };
  const full = progress.total > 0 && progress.done >= progress.total;
  next[progress.stage] = full ? { start: own.start, end: own.end ?? now } : { start: own.start };
  return next;
}

// The rows of the Progress view: every stage the job will go through, from the start, each
// pending, running, done (with its duration) or passed over. Pure: the view only draws rows.
import type { Progress } from '../../../app/contract/index.js';

export type StageStatus = 'pending' | 'running' | 'stopped' | 'done' | 'earlier' | 'skipped';

/** When the window first saw a stage report, and when it saw it finished (ms since the epoch). */
export interface StageTimes {
  start: number;
  end?: number;
}

export interface StageRow {
  name: string;
  status: StageStatus;
  /** The latest report, when the engine sent one. */
  progress: Progress | null;
  /** Seconds from the first report to the end, for a done stage the window watched. */
  seconds: number | null;
}

export type JobState = 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

/** The stages an experiment goes through (app/experiment/run.ts experimentStages), without the ones its config leaves out. */
export function plannedStages(kind: string, params: unknown): string[] {
  if (kind === 'run.addVariant') return ['evaluate', 'samples'];
  if (kind !== 'experiment.start' && kind !== 'experiment.resume') return [];
  const config = (params as { config?: unknown } | null)?.config;
  if (kind === 'experiment.start' && typeof config === 'object' && config !== null) {
    const c = config as { compensation?: unknown; evaluation?: { generation?: { prompts?: unknown } } };
    const prompts = c.evaluation?.generation?.prompts;
    return ['compress', ...(c.compensation ? ['compensate'] : []), 'evaluate', ...(Array.isArray(prompts) && prompts.length === 0 ? [] : ['samples'])];
  }
  return ['compress', 'compensate', 'evaluate', 'samples'];
}

/**
 * Planned stages first (in order), then any other stage the engine reported. A stage is done when
 * its count is full, a later stage has reported, or the job finished; one never reported is
 * pending until a later stage reports; then, in a resume, it was done earlier (a resume reruns
 * nothing finished), else skipped.
 */
export function stageRows(planned: string[], reported: Record<string, Progress>, times: Record<string, StageTimes>, state: JobState, resumed = false): StageRow[] {
  const names = [...planned, ...Object.keys(reported).filter((name) => !planned.includes(name))];
  const lastReported = names.reduce((last, name, i) => (name in reported ? i : last), -1);
  return names.map((name, i): StageRow => {
    const progress = reported[name] ?? null;
    const passed = i < lastReported || state === 'done';
    if (!progress) return { name, status: passed ? (resumed ? 'earlier' : 'skipped') : 'pending', progress: null, seconds: null };
    const full = progress.total > 0 && progress.done >= progress.total;
    const done = full || passed;
    const t = times[name];
    // A stage first seen already full (a resume) was not watched: no duration rather than "0 ms".
    const seconds = done && t?.end !== undefined && t.end > t.start ? (t.end - t.start) / 1000 : null;
    const status: StageStatus = done ? 'done' : state === 'running' || state === 'cancelling' ? 'running' : 'stopped';
    return { name, status, progress, seconds };
  });
}

/** Timing bookkeeping for one progress event: a stage starts at its first report and ends when full or when another stage reports. */
export function nextTimes(times: Record<string, StageTimes>, progress: Progress, now: number): Record<string, StageTimes> {
  const next: Record<string, StageTimes> = {};
  for (const [name, t] of Object.entries(times)) next[name] = name !== progress.stage && t.end === undefined ? { ...t, end: now } : t;
  const own = next[progress.stage] ?? { start: now };
  const full = progress.total > 0 && progress.done >= progress.total;
  next[progress.stage] = full ? { start: own.start, end: own.end ?? now } : { start: own.start };
  return next;
}

/** Ends every stage still open (the job finished). */
export function closeTimes(times: Record<string, StageTimes>, now: number): Record<string, StageTimes> {
  return Object.fromEntries(Object.entries(times).map(([name, t]) => [name, t.end === undefined ? { ...t, end: now } : t]));
}

/**
 * What is left of the job, as far as it can be known: the running stage's ETA, and how many
 * stages after it have not reported yet (their length is unknown until they start).
 */
export function remaining(rows: readonly StageRow[]): { eta_s: number | null; stagesAfter: number } {
  const i = rows.findIndex((r) => r.status === 'running');
  if (i < 0) return { eta_s: null, stagesAfter: 0 };
  return { eta_s: rows[i].progress?.eta_s ?? null, stagesAfter: rows.slice(i + 1).filter((r) => r.status === 'pending').length };
}

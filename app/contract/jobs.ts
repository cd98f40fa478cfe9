// The jobs part of the contract: which calls the engine is running now, and re-attaching to one
// from a page that did not start it (a reload, a second window). The host answers these itself,
// from its job registry (app/jobs/registry.ts); they never reach the engine worker.
import { z } from 'zod';
import type { Progress } from './results.js';

/** A call id, as the transports choose them (app/contract/wire.ts). */
const callId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a call id: 1-64 characters of [A-Za-z0-9_-]');

export const jobParams = {
  /** The calls in flight, oldest first, each with its latest progress and a bounded recent log. */
  'jobs.active': z.object({}).strict(),
  /**
   * Follows a call in flight by its id: this call's progress events are the job's (the latest
   * one per stage first), and it answers as the job does (its result, or its error, 'cancelled'
   * included). A job that ended in the last moments answers at once. Cancel the job by its own id.
   */
  'jobs.attach': z.object({ id: callId }).strict(),
} as const;

/** Methods the host answers from its registry instead of the worker. */
export const hostMethods = ['jobs.active', 'jobs.attach'] as const;
export type HostMethod = (typeof hostMethods)[number];

/** When a stage was first reported, and when it was seen finished (ms since the epoch). */
export interface JobStageTimes {
  start: number;
  end?: number;
}

export interface JobLogLine {
  /** ISO time the line was logged. */
  at: string;
  text: string;
}

export interface ActiveJob {
  /** The call id: cancel with it, attach with it. */
  id: string;
  method: string;
  /** The run folder the job writes, when its params name one. */
  dir: string | null;
  /** ISO start time. */
  started: string;
  /** The latest progress event, null before the first. */
  last: Progress | null;
  /** Latest progress per stage, in first-seen order. */
  stages: Record<string, Progress>;
  times: Record<string, JobStageTimes>;
  /** One line per change of stage or label, the most recent ones (bounded). */
  log: JobLogLine[];
}

export interface ActiveJobs {
  jobs: ActiveJob[];
}

// The run folders this engine instance is working on right now. A run's stage left 'running'
// in run.json by our own process id says little on its own: the engine worker that ran it may
// have been replaced after a hard cancel (jobs/host.ts terminates a worker that does not stop
// in time), leaving the process — and its pid — alive. Module state lives per worker thread,
// so a replaced worker starts with none, and its runs read as stopped (resumable) at once.
// It also refuses a second job on a folder this engine is still writing.
import { resolve } from 'node:path';
import { RunError } from '../run/run.js';

const active = new Set<string>();

export function isActive(dir: string): boolean {
  return active.has(resolve(dir));
}

/** Runs `work` with `dir` marked active; refuses when a job of this engine already holds it. */
export async function whileActive<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const key = resolve(dir);
  if (active.has(key)) throw new RunError(`${key}: this engine is already working on this run; wait for it to finish or cancel it`);
  active.add(key);
  try {
    return await work();
  } finally {
    active.delete(key);
  }
}

// The run folders this engine process is working on right now, also before their first stage
// records a writer. Each engine lane is a child process (jobs/host.ts); one that a hard cancel
// killed takes this set with it, and its runs read as stopped (their writer's pid is dead).
// Another lane (quick reads) sees a run through its recorded writer instead (experiment/runs.ts).
// It also refuses a second job on a folder this process is still writing.
import { resolve } from 'node:path';
import { withRunLock } from '../run/lock.js';
import { RunError } from '../run/run.js';

const active = new Set<string>();

export function isActive(dir: string): boolean {
  return active.has(resolve(dir));
}

/** Refuses a folder a job of this engine is working on. */
export function requireInactive(dir: string): void {
  if (isActive(dir)) throw new RunError(`${resolve(dir)}: this engine is already working on this run; wait for it to finish or cancel it`);
}

/**
 * Runs `work` with `dir` marked active and its writer lock held (run/lock.ts: no other process
 * writes it meanwhile); refuses when a job of this engine or another process holds it.
 */
export async function whileActive<T>(dir: string, work: () => Promise<T>, command = 'job', log?: (message: string) => void): Promise<T> {
  const key = resolve(dir);
  requireInactive(key);
  active.add(key);
  try {
    return await withRunLock(key, command, work, log);
  } finally {
    active.delete(key);
  }
}

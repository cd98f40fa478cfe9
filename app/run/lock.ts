// One writer per run folder: `run.lock` names the process writing it (pid, host, its start time
// since boot, the command, when it took the lock). Every stage that writes takes it (the stage
// driver, and around a whole command so no other process slips in between two stages); reads
// (inspect, the runs list) never do.
//
//   no lock                        → created (exclusively: a hard link of a finished temp file,
//                                    so no reader ever sees a half-written lock)
//   held by a live process         → refused, naming the folder and the holder
//   held by a dead process         → taken over, and the caller is told (a killed run; a lock
//                                    taken before the last boot is dead whatever its pid or host)
//   held by this process already   → shared (a command holding it runs its stages)
//
// Released on normal exit, error and cancel (finally); a killed process leaves a stale lock,
// which the next writer takes over: by renaming it aside (only one of two racing processes'
// renames succeeds) and checking that what it moved is the lock it judged dead, not a live
// lock another process linked meanwhile (that one is linked back and the acquire retried).
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { RunError } from './errors.js';
import { currentWriter, writerAlive, type RunWriter } from './writer.js';

export const RUN_LOCK = 'run.lock';

/** Refused: another live process writes the folder (not a failure of this run: nothing is recorded in the folder). */
export class RunLockedError extends RunError {
  override name = 'RunLockedError';
}

interface LockRecord extends RunWriter {
  command: string;
  since: string;
}

/** Held locks of this process: folder → how many holders, what it wrote, the topmost folder it made (if any), where notices go. */
const held = new Map<string, { count: number; record: LockRecord; madeDir: string | undefined; notice: (message: string) => void }>();

function readLock(path: string): Partial<LockRecord> | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Partial<LockRecord>) : {};
  } catch {
    return {}; // unreadable: no live holder can be named, so it counts as stale
  }
}

function holderText(lock: Partial<LockRecord>): string {
  return `pid ${lock.pid ?? '?'} on ${lock.host ?? '?'}, \`${lock.command ?? '?'}\` since ${lock.since ?? '?'}`;
}

/** Whether a lock file's holder may still be running (this process counts only through `held`). */
function liveHolder(lock: Partial<LockRecord>): boolean {
  const me = currentWriter();
  if (lock.pid === me.pid && lock.host === me.host && lock.proc_start === me.proc_start) return false;
  return writerAlive(lock, lock.since);
}

/** Same content: the lock file moved aside is the one judged dead. */
function sameLock(a: Partial<LockRecord> | null, b: Partial<LockRecord>): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Moves the stale lock `holder` (read from `path`) aside and deletes it; false when the lock
 * changed meanwhile (released, or another process took it: its live lock is put back).
 */
function takeOver(path: string, holder: Partial<LockRecord>, attempt: number): boolean {
  // A temp name (atomic.ts's pattern), so a process killed right here leaves a file RunFolder.removeStaleTemps removes.
  const aside = `${path}.tmp-${process.pid}-${attempt + 1}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false; // another process moved or released it first
    throw error;
  }
  if (!sameLock(readLock(aside), holder)) {
    // Not the lock judged dead: a live writer's, linked after we read. Put it back (unless yet another lock took its place).
    try {
      linkSync(aside, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    rmSync(aside, { force: true });
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

/**
 * Takes the writer lock of run folder `dir` (made if missing) for `command`; returns its release.
 * `onNotice` hears of a stale lock taken over (the message names the dead holder) and of a
 * release that could not clean up (a warning otherwise).
 */
export function acquireRunLock(dir: string, command: string, onNotice?: (message: string) => void): () => void {
  const key = resolve(dir);
  const mine = held.get(key);
  if (mine) {
    mine.count++;
    return once(() => release(key));
  }
  const madeDir = mkdirSync(key, { recursive: true });
  const path = join(key, RUN_LOCK);
  const record: LockRecord = { ...currentWriter(), command, since: new Date().toISOString() };
  let tookOver: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const temp = `${path}.tmp-${process.pid}-0`; // a killed writer's is removed like any stale temp (RunFolder.removeStaleTemps)
    writeFileSync(temp, JSON.stringify(record) + '\n');
    try {
      linkSync(temp, path);
      rmSync(temp, { force: true });
      break;
    } catch (error) {
      rmSync(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (attempt >= 2) throw new RunError(`${key}: ${RUN_LOCK} keeps coming back: other processes are starting to write this run; wait for them`);
    }
    const holder = readLock(path);
    if (holder === null) continue; // released meanwhile
    if (liveHolder(holder)) {
      throw new RunLockedError(`${key}: another process is writing this run (${holderText(holder)}); wait for it to finish or stop it; if no such process is running, delete ${path}`);
    }
    if (takeOver(path, holder, attempt)) tookOver = `${key}: took over the lock of a writer that is gone (${holderText(holder)}); its unfinished work is redone`;
  }
  const notice = onNotice ?? ((message: string) => process.emitWarning(message));
  held.set(key, { count: 1, record, madeDir, notice });
  if (tookOver) notice(tookOver);
  return once(() => release(key));
}

/** Drops one share of the lock; the last removes run.lock. Never throws (it runs in finally blocks, where it would hide the real error): problems become notices. */
function release(key: string): void {
  const mine = held.get(key);
  if (!mine || --mine.count > 0) return;
  held.delete(key);
  const path = join(key, RUN_LOCK);
  try {
    const lock = readLock(path);
    if (lock && lock.pid === mine.record.pid && lock.since === mine.record.since) rmSync(path, { force: true });
    if (mine.madeDir) removeEmptyFolders(key, mine.madeDir);
  } catch (error) {
    mine.notice(`${path}: could not release the lock (${(error as Error).message}); if no process is writing ${key}, delete ${path}`);
  }
}

/** The folders made only for the lock (the command failed before writing anything), from `leaf` up to `top`; a folder already gone (the work deleted it) is skipped. */
function removeEmptyFolders(leaf: string, top: string): void {
  for (let dir = leaf; ; dir = dirname(dir)) {
    try {
      if (readdirSync(dir).length > 0) return;
      rmdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (dir === top || dirname(dir) === dir) return;
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** Runs `work` holding the writer lock of `dir` (see acquireRunLock). */
export async function withRunLock<T>(dir: string, command: string, work: () => Promise<T>, onNotice?: (message: string) => void): Promise<T> {
  const release = acquireRunLock(dir, command, onNotice);
  try {
    return await work();
  } finally {
    release();
  }
}

/** The lock's holder when a live process other than this one holds it, else null (for the runs list). */
export function runLockHolder(dir: string): string | null {
  const lock = readLock(join(resolve(dir), RUN_LOCK));
  return lock && liveHolder(lock) ? holderText(lock) : null;
}

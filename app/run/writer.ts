// Who is writing a run folder, recorded in run.json (records.process) whenever a stage starts,
// so that a run left 'running' by a killed process reads 'stopped' (resumable, deletable):
// the pid alone is not enough (pids are reused), so the host and, where /proc exists, the
// process's start time since boot are recorded with it.
import { readFileSync } from 'node:fs';
import { hostname, uptime } from 'node:os';

export interface RunWriter {
  pid: number;
  host: string;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22); absent off Linux. */
  proc_start?: number;
}

/** Field 22 of /proc/<pid>/stat, or undefined where /proc is absent or the process is gone. */
function procStart(pid: number | 'self'): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[22 - 3]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

export function currentWriter(): RunWriter {
  const start = procStart('self');
  return { pid: process.pid, host: hostname(), ...(start === undefined ? {} : { proc_start: start }) };
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `since` (an ISO time a writer recorded) lies before this machine's last boot: no
 * process of that time still runs here. This is what catches a dead writer where /proc is absent
 * (macOS, Windows: its pid may belong to a live process now) and after a hostname change (macOS
 * renames the host with the network, and a lock naming the old host would look remote forever).
 */
export function beforeLastBoot(since: string | undefined): boolean {
  const taken = since === undefined ? NaN : Date.parse(since);
  return Number.isFinite(taken) && taken < Date.now() - uptime() * 1000;
}

/**
 * Whether the recorded writer may still be running. Started (`since`) before the last boot:
 * gone. A writer on another host cannot be probed: assume alive (a shared folder must not be
 * deleted under a live job). No record: gone (runs written before writers were recorded, or a
 * hand-written run.json).
 */
export function writerAlive(writer: Partial<RunWriter> | undefined, since?: string): boolean {
  if (!writer || typeof writer.pid !== 'number') return false;
  if (beforeLastBoot(since)) return false;
  if (typeof writer.host === 'string' && writer.host !== hostname()) return true;
  if (!pidAlive(writer.pid)) return false;
  if (typeof writer.proc_start !== 'number') return true;
  const now = procStart(writer.pid);
  return now === undefined || now === writer.proc_start; // a different start time: the pid was reused
}

// The run folder's writer lock (lock.ts): one writer, shared within a process, a dead holder's
// lock taken over with a message, a live one refused naming it. Cross-process behaviour with
// the real CLI is in app/cli/killed-run.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireRunLock, RUN_LOCK, runLockHolder, withRunLock } from './lock.js';
import { writerAlive } from './writer.js';

const root = mkdtempSync(join(tmpdir(), 'eora-lock-'));
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
afterAll(() => void sleeper.kill('SIGKILL'));

function lockOf(dir: string) {
  return JSON.parse(readFileSync(join(dir, RUN_LOCK), 'utf8')) as { pid: number; host: string; command: string; since: string; proc_start?: number };
}

/** A pid that certainly names no process now (a child that has exited). */
function deadPid(): number {
  const child = spawnSync('true');
  return child.pid!;
}

describe('run.lock', () => {
  it('is written on acquire, shared within the process, removed at the last release', () => {
    const dir = join(root, 'shared');
    mkdirSync(dir);
    const outer = acquireRunLock(dir, 'run');
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: hostname(), command: 'run' });
    const inner = acquireRunLock(dir, 'compress'); // a stage under the command: no second lock
    expect(lockOf(dir).command).toBe('run');
    inner();
    inner(); // a release is idempotent: it cannot drop the outer holder's share
    expect(existsSync(join(dir, RUN_LOCK))).toBe(true);
    outer();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a live holder refuses a second writer, naming the folder, pid and command', () => {
    const dir = join(root, 'live');
    mkdirSync(dir);
    expect(sleeper.pid).toBeGreaterThan(0);
    const since = new Date().toISOString(); // after the last boot (one before it is stale, below)
    writeFileSync(join(dir, RUN_LOCK), JSON.stringify({ pid: sleeper.pid, host: hostname(), command: 'compensate', since }));
    expect(() => acquireRunLock(dir, 'compress')).toThrow(
      `${dir}: another process is writing this run (pid ${sleeper.pid} on ${hostname()}, \`compensate\` since ${since}); wait for it to finish or stop it; if no such process is running, delete ${join(dir, RUN_LOCK)}`,
    );
    expect(lockOf(dir).pid).toBe(sleeper.pid); // untouched
    expect(runLockHolder(dir)).toContain(`pid ${sleeper.pid}`);
  });

  it('a dead holder’s lock is taken over, and the caller told whose it was', async () => {
    const dir = join(root, 'stale');
    mkdirSync(dir);
    const pid = deadPid();
    writeFileSync(join(dir, RUN_LOCK), JSON.stringify({ pid, host: hostname(), command: 'compress', since: '2026-01-02T03:04:05.000Z' }));
    expect(runLockHolder(dir)).toBeNull();
    const told: string[] = [];
    await withRunLock(dir, 'compress', async () => {
      expect(lockOf(dir)).toMatchObject({ pid: process.pid, command: 'compress' });
    }, (m) => told.push(m));
    expect(told).toEqual([`${dir}: took over the lock of a writer that is gone (pid ${pid} on ${hostname()}, \`compress\` since 2026-01-02T03:04:05.000Z); its unfinished work is redone`]);
    expect(existsSync(join(dir, RUN_LOCK))).toBe(false);
  });

  it.skipIf(process.platform !== 'linux')('a reused pid (same pid, another start time) counts as stale (needs /proc for the start time)', () => {
    const dir = join(root, 'reused');
    mkdirSync(dir);
    writeFileSync(join(dir, RUN_LOCK), JSON.stringify({ pid: sleeper.pid, host: hostname(), proc_start: 1, command: 'run', since: 'x' }));
    const told: string[] = [];
    acquireRunLock(dir, 'run', (m) => told.push(m))();
    expect(told).toEqual([`${dir}: took over the lock of a writer that is gone (pid ${sleeper.pid} on ${hostname()}, \`run\` since x); its unfinished work is redone`]);
  });

  it('an unreadable lock counts as stale', () => {
    const dir = join(root, 'unreadable');
    mkdirSync(dir);
    writeFileSync(join(dir, RUN_LOCK), '{"pid": 12');
    const told: string[] = [];
    acquireRunLock(dir, 'run', (m) => told.push(m))();
    expect(told).toEqual([`${dir}: took over the lock of a writer that is gone (pid ? on ?, \`?\` since ?); its unfinished work is redone`]);
  });

  it('a lock taken before the last boot is stale, even when its pid is live or its host another name (no /proc, a renamed host)', () => {
    const since = new Date(Date.now() - uptime() * 1000 - 60_000).toISOString();
    for (const host of [hostname(), `old-name-of-${hostname()}`]) {
      const dir = join(root, `booted-${host}`);
      mkdirSync(dir);
      writeFileSync(join(dir, RUN_LOCK), JSON.stringify({ pid: sleeper.pid, host, command: 'run', since }));
      expect(runLockHolder(dir)).toBeNull();
      const told: string[] = [];
      acquireRunLock(dir, 'run', (m) => told.push(m))();
      expect(told).toEqual([`${dir}: took over the lock of a writer that is gone (pid ${sleeper.pid} on ${host}, \`run\` since ${since}); its unfinished work is redone`]);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('a run.json writer started before the last boot is gone too (the runs list reads its run stopped)', () => {
    const beforeBoot = new Date(Date.now() - uptime() * 1000 - 60_000).toISOString();
    const writer = { pid: sleeper.pid!, host: hostname() };
    expect([writerAlive(writer), writerAlive(writer, new Date().toISOString()), writerAlive(writer, beforeBoot)]).toEqual([true, true, false]);
    expect(writerAlive({ ...writer, host: `old-name-of-${hostname()}` }, beforeBoot)).toBe(false);
  });

  it('is released when the work throws, and the folders made only for it go too (every level it made)', async () => {
    const dir = join(root, 'new', 'deeper', 'run');
    await expect(withRunLock(dir, 'run', async () => Promise.reject(new Error('bad config')))).rejects.toThrow('bad config');
    expect(existsSync(join(root, 'new'))).toBe(false);
    expect(existsSync(root)).toBe(true);
    const kept = join(root, 'kept');
    await withRunLock(kept, 'run', async () => writeFileSync(join(kept, 'run.json'), '{}'));
    expect(readdirSync(kept)).toEqual(['run.json']);
  });

  it('a lock on another host is assumed live (it cannot be probed)', async () => {
    const dir = join(root, 'remote');
    mkdirSync(dir);
    writeFileSync(join(dir, RUN_LOCK), JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, command: 'run', since: 'x' }));
    await expect(withRunLock(dir, 'run', async () => undefined)).rejects.toThrow(/another process is writing this run/);
  });

  it('a release never hides the work’s error: the work deleted the folder, or the lock cannot be read', async () => {
    const gone = join(root, 'made', 'gone');
    const deleting = withRunLock(gone, 'delete', async () => {
      rmSync(gone, { recursive: true });
      throw new Error('the real error');
    });
    await expect(deleting).rejects.toThrow('the real error');
    expect(existsSync(join(root, 'made'))).toBe(false); // the level above, made for the lock, goes too

    const dir = join(root, 'unreadable-at-release');
    mkdirSync(dir);
    const told: string[] = [];
    const work = withRunLock(dir, 'run', async () => {
      rmSync(join(dir, RUN_LOCK));
      mkdirSync(join(dir, RUN_LOCK)); // reading it fails with EISDIR
      throw new Error('the real error');
    }, (m) => told.push(m));
    await expect(work).rejects.toThrow('the real error');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(new RegExp(`^${join(dir, RUN_LOCK)}: could not release the lock \\(EISDIR`));
  });

});

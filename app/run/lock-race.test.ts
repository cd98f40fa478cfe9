// The takeover race (lock.ts takeOver): this process reads a stale lock and judges its holder
// dead; before it acts, the dead holder's lock is replaced by a live writer's (another process
// removed the stale one and linked its own). The takeover must not delete that live lock.
// node:fs is wrapped only to run the other process's two steps at that exact moment.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const race = { path: '', live: '' };
vi.mock('node:fs', async (original) => {
  const real = await original<typeof fs>();
  const readFileSync = ((path: fs.PathOrFileDescriptor, options?: unknown) => {
    const text = real.readFileSync(path, options as BufferEncoding);
    if (path === race.path) {
      race.path = ''; // once: the stale content was read; now the other process swaps in its live lock
      real.rmSync(path as string);
      real.writeFileSync(path as string, race.live);
    }
    return text;
  }) as typeof fs.readFileSync;
  return { ...real, readFileSync, default: { ...real, readFileSync } };
});

const { acquireRunLock, RUN_LOCK } = await import('./lock.js');

const root = fs.mkdtempSync(join(tmpdir(), 'eora-lock-race-'));
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
afterAll(() => void sleeper.kill('SIGKILL'));

describe('run.lock takeover race', () => {
  it('a live lock linked after the stale one was read is kept, and this writer refused', () => {
    const dir = join(root, 'run');
    fs.mkdirSync(dir);
    const path = join(dir, RUN_LOCK);
    fs.writeFileSync(path, JSON.stringify({ pid: 999_999_999, host: hostname(), command: 'compress', since: new Date().toISOString() }));
    race.live = JSON.stringify({ pid: sleeper.pid, host: hostname(), command: 'compensate', since: new Date().toISOString() });
    race.path = path;
    expect(() => acquireRunLock(dir, 'run')).toThrow(`another process is writing this run (pid ${sleeper.pid} on ${hostname()}, \`compensate\``);
    expect(race.path).toBe(''); // the race did happen
    expect(fs.readFileSync(path, 'utf8')).toBe(race.live);
    expect(fs.readdirSync(dir)).toEqual([RUN_LOCK]); // nothing left aside
  });
});

// Notices reach the desktop app: an experiment job that takes over a dead writer's lock on its
// run folder says so in a progress event's message (what the UI's progress note and job log
// show). A real engine job on the bundled model, no mocks.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../contract/index.js';
import { directContext } from '../jobs/context.js';
import { whileActive } from '../experiment/active.js';
import { runJobs } from './run-jobs.js';

describe('job notices', () => {
  it('a stale run.lock taken over is reported as a progress message', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'eora-notice-')), 'run');
    mkdirSync(dir);
    const dead = spawnSync('true').pid!; // exited: its pid names no process now
    writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid: dead, host: hostname(), command: 'run', since: '2026-01-02T03:04:05.000Z' }));
    const events: Progress[] = [];
    const config = { calibration: { samples: 2, seq_len: 32, seed: 0 }, compression: { quant: 'rtn:w4g32' }, evaluation: { perplexity: [{ tokens: 100 }] } };
    await runJobs({} as never)['experiment.start']({ config, dir }, directContext((p) => events.push(p)));
    const notices = events.filter((e) => e.message !== undefined);
    expect(notices).toEqual([
      expect.objectContaining({ message: `${dir}: took over the lock of a writer that is gone (pid ${dead} on ${hostname()}, \`run\` since 2026-01-02T03:04:05.000Z); its unfinished work is redone` }),
    ]);
  }, 300_000);

  it('a folder another process is writing is refused, and not marked failed', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'eora-notice-')), 'busy');
    mkdirSync(dir);
    const writer = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid: writer.pid, host: hostname(), command: 'compress', since: new Date().toISOString() }));
      writeFileSync(join(dir, 'failed.json'), '{"error": "an earlier failure"}'); // the other process's to clear, not ours
      const config = { calibration: { samples: 2, seq_len: 32, seed: 0 }, compression: { quant: 'rtn:w4g32' }, evaluation: { perplexity: [{ tokens: 100 }] } };
      await expect(runJobs({} as never)['experiment.start']({ config, dir }, directContext())).rejects.toThrow(`${dir}: another process is writing this run (pid ${writer.pid} on ${hostname()}, \`compress\``);
      expect(readdirSync(dir).sort()).toEqual(['failed.json', 'run.lock']); // nothing written nor cleared in a folder it does not own
      expect(readFileSync(join(dir, 'failed.json'), 'utf8')).toBe('{"error": "an earlier failure"}');
    } finally {
      writer.kill('SIGKILL');
    }
  }, 300_000);

  it('a folder another job of this engine is writing is refused, and its failed.json kept', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'eora-notice-')), 'busy-here');
    mkdirSync(dir);
    writeFileSync(join(dir, 'failed.json'), '{"error": "an earlier failure"}');
    const config = { calibration: { samples: 2, seq_len: 32, seed: 0 }, compression: { quant: 'rtn:w4g32' }, evaluation: { perplexity: [{ tokens: 100 }] } };
    await whileActive(dir, async () => {
      await expect(runJobs({} as never)['experiment.start']({ config, dir }, directContext())).rejects.toThrow(`${dir}: this engine is already working on this run`);
    });
    expect(readdirSync(dir)).toEqual(['failed.json']);
    expect(readFileSync(join(dir, 'failed.json'), 'utf8')).toBe('{"error": "an earlier failure"}');
  }, 300_000);
});

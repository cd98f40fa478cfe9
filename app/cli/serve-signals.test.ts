// `eora serve` as a real process: SIGTERM and SIGINT end it within 2 s even while a job keeps
// the engine busy (issue #15 item 8).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';

const token = 'signal-test-token-0123456789';

async function startServe() {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin/eora.mjs'), 'serve', '--token', token], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /127\.0\.0\.1:(\d+)\//.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`eora serve exited early: ${stderr}`)));
  });
  return { child, port, exited, stderr: () => stderr };
}

describe('eora serve signals', () => {
  // A FIFO nobody writes to blocks a reader inside a system call, where terminate() cannot
  // reach it (the engine refuses FIFOs now, but serve must not depend on that).
  const fifo = join(mkdtempSync(join(tmpdir(), 'eora-fifo-')), 'text.fifo');
  execFileSync('mkfifo', [fifo]);
  const jobs = { 'a long job': { seqLen: 64 }, 'a job reading a FIFO': { text: fifo } };
  for (const [signal, [what, params]] of [
    ['SIGTERM', Object.entries(jobs)[0]!],
    ['SIGINT', Object.entries(jobs)[0]!],
    ['SIGTERM', Object.entries(jobs)[1]!],
  ] as const) {
    it(`${signal} ends the server within 2 s during ${what}`, async () => {
      const { child, port, exited } = await startServe();
      const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
      const body = JSON.stringify({ id: 'long', method: 'model.perplexity', params });
      const job = fetch(`http://127.0.0.1:${port}/api/call`, { method: 'POST', headers, body }).catch(() => undefined);
      // Wait until the engine has the job (a state, not a sleep).
      await expect
        .poll(
          async () => {
            const active = await fetch(`http://127.0.0.1:${port}/api/call`, { method: 'POST', headers, body: JSON.stringify({ id: 'a', method: 'jobs.active', params: {} }) });
            return ((await active.json()) as { result: { jobs: { id: string }[] } }).result.jobs.map((j) => j.id);
          },
          { timeout: 120_000, interval: 100 },
        )
        .toContain('long');
      const sent = performance.now();
      child.kill(signal);
      const [code] = await exited;
      const elapsed = performance.now() - sent;
      expect(code).toBe(0);
      expect(elapsed).toBeLessThan(2000);
      await job;
    });
  }
});

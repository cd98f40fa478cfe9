// A run whose writer was killed (SIGKILL: no handler runs) reads 'stopped', not 'running'
// forever, and can then be deleted or resumed (issue #16 item 5).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';
import { runCli } from './testing/run.js';

const compressArgs = (out: string) => ['compress', '--quant', 'gptq:w4g32', '--samples', '8', '--seq-len', '64', '--eval-tokens', '0', '--out', out];

/** Starts `eora compress` as a child and waits until its run.json says 'running' (fails at once, with its stderr, if it exits first). */
async function startCompress(out: string) {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin/eora.mjs'), ...compressArgs(out)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let exitCode: number | null | undefined;
  const exited = once(child, 'exit').then(([code]) => void (exitCode = code as number | null));
  await expect
    .poll(() => (exitCode !== undefined ? `exited ${exitCode} before running: ${stderr}` : stageOf(out)), { timeout: 180_000, interval: 50 })
    .toBe('running');
  return { child, exited };
}

function stageOf(out: string): string | undefined {
  try {
    return JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).stages?.compress?.status;
  } catch {
    return undefined; // not written yet (or mid-rename)
  }
}

async function statusOf(root: string, name: string): Promise<string | undefined> {
  const { stdout } = await runCli(['runs', '--root', root, '--json']);
  return (JSON.parse(stdout) as { name: string; status: string }[]).find((r) => r.name === name)?.status;
}

describe('a killed writer', () => {
  it('eora compress killed with SIGKILL: running while alive, stopped after, then resumable and deletable', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-killed-'));
    const out = join(root, 'killed');
    const { child, exited } = await startCompress(out);
    // Frozen, not dead: its run is still being written.
    child.kill('SIGSTOP');
    expect(await statusOf(root, 'killed')).toBe('running');
    expect((await runCli(['runs', '--root', root, '--delete', out])).code).not.toBe(0);
    // A second writer is refused, naming the folder and the one writing it; nothing it did stays.
    const second = await runCli(compressArgs(out));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${out}: another process is writing this run (pid ${child.pid} on `);
    expect(second.stderr).toContain('`compress`');
    expect(stageOf(out)).toBe('running');
    child.kill('SIGKILL');
    await exited;
    expect(stageOf(out)).toBe('running'); // run.json itself still says so
    expect(await statusOf(root, 'killed')).toBe('stopped');
    // A temp file the killed writer left mid-write (atomic.ts names them NAME.tmp-PID-N).
    const stale = join(out, `layers.json.tmp-${child.pid}-7`);
    writeFileSync(stale, '{"torn": ');

    const left = JSON.parse(readFileSync(join(out, 'run.lock'), 'utf8')) as { pid: number; host: string; command: string; since: string };
    expect(left).toMatchObject({ pid: child.pid, command: 'compress' });
    const resumed = await runCli(compressArgs(out));
    // The killed writer's lock is taken over, and said so (its unfinished layer is redone).
    expect(resumed.stderr).toBe(
      `note: ${out}: took over the lock of a writer that is gone (pid ${child.pid} on ${left.host}, \`compress\` since ${left.since}); its unfinished work is redone\n` +
        `note: layers.json.tmp-${child.pid}-7: removed (a write cut short: its writer, pid ${child.pid}, is gone)\n`,
    );
    expect(resumed.code).toBe(0);
    expect(await statusOf(root, 'killed')).toBe('done');
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(out, 'run.lock'))).toBe(false); // released at the end
  });

  it('a run left running by a killed writer can be deleted', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-killed-'));
    const out = join(root, 'gone');
    const { child, exited } = await startCompress(out);
    child.kill('SIGKILL');
    await exited;
    expect(await statusOf(root, 'gone')).toBe('stopped');
    const deleted = await runCli(['runs', '--root', root, '--delete', out]);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(existsSync(out)).toBe(false);
  });
});

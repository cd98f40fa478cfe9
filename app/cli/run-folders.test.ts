// Deleting a run removes only what the workbench wrote, and output folders never swallow a
// user's files (issue #16 item 6).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { whileActive } from '../experiment/active.js';
import { deleteRun } from '../experiment/runs.js';
import { runCli } from './testing/run.js';

const handWritten = JSON.stringify({ format: 'eora-run', stages: {}, model: { path: '/m' }, records: {} });
const compressArgs = (out: string) => ['compress', '--quant', 'rtn:w4g32', '--samples', '2', '--seq-len', '32', '--eval-tokens', '0', '--out', out];

describe('deleting a run', () => {
  const root = mkdtempSync(join(tmpdir(), 'eora-delete-'));

  it('refuses a folder that holds a file the workbench did not write, and removes nothing', async () => {
    const dir = join(root, 'mixed');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), handWritten);
    writeFileSync(join(dir, 'thesis.tex'), 'my thesis');
    const { code, stderr } = await runCli(['runs', '--delete', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('holds files the workbench did not write (thesis.tex)');
    expect(readdirSync(dir).sort()).toEqual(['run.json', 'thesis.tex']);
  });

  it('a real run with a foreign file inside adapters/ is refused; without it, deleted whole', async () => {
    const dir = join(root, 'real');
    expect((await runCli(compressArgs(dir))).code).toBe(0);
    const before = readdirSync(dir).sort();
    expect(before).toContain('compressed.safetensors');
    mkdirSync(join(dir, 'adapters'), { recursive: true });
    writeFileSync(join(dir, 'adapters', 'notes.txt'), 'mine');
    expect(() => deleteRun(dir)).toThrow(/adapters\/notes\.txt/);
    expect(readdirSync(dir).sort()).toEqual([...new Set([...before, 'adapters'])].sort());
    writeFileSync(join(dir, 'adapters', 'notes.txt.tmp-1-2'), 'x'); // still not ours: only .safetensors/.json temps are
    expect(() => deleteRun(dir)).toThrow(/notes\.txt\.tmp-1-2/);
    for (const f of ['notes.txt', 'notes.txt.tmp-1-2']) rmSync(join(dir, 'adapters', f));
    // A stopped compensate's per-linear files are ours; anything else in that folder is not.
    mkdirSync(join(dir, 'decompositions', 'partial'), { recursive: true });
    writeFileSync(join(dir, 'decompositions', 'partial', 'model.layers.0.mlp.up_proj.safetensors'), 'x');
    writeFileSync(join(dir, 'decompositions', 'partial', 'model.layers.0.mlp.up_proj.safetensors.tmp-1-2'), 'x');
    writeFileSync(join(dir, 'decompositions', 'partial', 'notes.txt'), 'mine');
    expect(() => deleteRun(dir)).toThrow(/decompositions\/partial\/notes\.txt\)/);
    rmSync(join(dir, 'decompositions', 'partial', 'notes.txt'));
    deleteRun(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('a hand-written run.json alone is deleted (it is the only file, and ours by name)', () => {
    const dir = join(root, 'bare');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), handWritten);
    deleteRun(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a run a job of this engine is using', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), handWritten);
    await whileActive(dir, async () => {
      expect(() => deleteRun(dir)).toThrow(/in use by a job/);
    });
    expect(existsSync(join(dir, 'run.json'))).toBe(true);
  });

  it('refuses a run another live process holds the lock of, naming it; the lock and files stay', () => {
    const dir = join(root, 'locked');
    mkdirSync(dir);
    writeFileSync(join(dir, 'run.json'), handWritten);
    const writer = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const lock = JSON.stringify({ pid: writer.pid, host: hostname(), command: 'compress', since: new Date().toISOString() });
      writeFileSync(join(dir, 'run.lock'), lock);
      expect(() => deleteRun(dir)).toThrow(`${dir}: another process is writing this run (pid ${writer.pid} on ${hostname()}, \`compress\``);
      expect(readdirSync(dir).sort()).toEqual(['run.json', 'run.lock']);
      expect(readFileSync(join(dir, 'run.lock'), 'utf8')).toBe(lock);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});

describe('--out', () => {
  it('a non-empty folder that is not a run is refused before anything is written, naming what it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eora-out-'));
    writeFileSync(join(dir, 'data.csv'), '1,2,3');
    const { code, stderr } = await runCli(compressArgs(dir));
    expect(code).toBe(1);
    expect(stderr).toContain('is not empty and holds no run (found data.csv)');
    expect(readdirSync(dir)).toEqual(['data.csv']);
  });

  it('an empty folder is used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eora-out-'));
    expect((await runCli(compressArgs(dir))).code).toBe(0);
    expect(readdirSync(dir)).toContain('run.json');
  });
});

// compensate resumes per linear: a compensate stopped by its cancel signal after k linears is
// continued by `eora compensate` on the same folder, which decomposes only the linears not yet
// written (and one whose file was damaged), discards a dead writer's temp file, and ends with
// the same decompositions, spectra, adapters and metrics as an uninterrupted run.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCompensate } from '../experiment/commands.js';
import { compressBundled } from '../experiment/testing/compressed-run.js';
import type { RunManifest } from '../run/run.js';
import { runCli } from './testing/run.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-compensate-resume-'));
const compressed = join(dir, 'compressed');
const options = { methods: ['svd', 'eora'] as const, ranks: [4, 8], budget: 20_000, device: 'cpu' as const };
const flags = ['--method', 'svd,eora', '--ranks', '4,8', '--budget', '20000', '--quiet'];

beforeAll(() => compressBundled(compressed, 'gptq:w3g32', 2000));

const copy = (name: string) => {
  const to = join(dir, name);
  cpSync(compressed, to, { recursive: true });
  return to;
};
/** Every file under `root`, relative and sorted. */
const files = (root: string) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
const TIMING = new Set(['seconds', 'milliseconds', 'started', 'finished', 'created', 'process']);
const withoutTimings = (text: string) => JSON.stringify(JSON.parse(text, (key, value) => (TIMING.has(key) ? undefined : value)));
/** spectra/<linear>.json → inode: a file written again (atomic rename) gets a new one. */
const spectraInodes = (run: string) => new Map(readdirSync(join(run, 'spectra')).map((f) => [f, statSync(join(run, 'spectra', f)).ino]));

describe('compensate resume per linear', () => {
  it('stopped after k linears, `eora compensate` computes only the rest and ends identical to an uninterrupted run', async () => {
    const straight = copy('straight');
    await runCompensate(straight, options);

    const resumed = copy('resumed');
    const k = 5;
    const controller = new AbortController();
    const stop = (e: { phase: string; done: number }) => void (e.phase === 'decompose' && e.done === k && controller.abort());
    await expect(runCompensate(resumed, { ...options, signal: controller.signal, onProgress: stop })).rejects.toThrow();
    const manifest = JSON.parse(readFileSync(join(resumed, 'run.json'), 'utf8')) as RunManifest;
    expect(manifest.stages.compensate!.status).toBe('stopped');
    const partialDir = join(resumed, 'decompositions', 'partial');
    const partial = readdirSync(partialDir).sort();
    expect(partial).toHaveLength(k);
    const before = spectraInodes(resumed);
    expect([...before.keys()].sort()).toEqual(partial.map((f) => f.replace(/\.safetensors$/, '.json')));

    // Damage one finished linear (cut its last bytes) and leave a dead writer's temp file.
    const damaged = partial[k - 1];
    truncateSync(join(partialDir, damaged), statSync(join(partialDir, damaged)).size - 8);
    const dead = 4_194_305; // no process has it (above every pid_max)
    const temp = join(partialDir, `${partial[0]}.tmp-${dead}-0`);
    writeFileSync(temp, 'cut short');

    const { code, stderr } = await runCli(['compensate', resumed, ...flags]);
    expect(code, stderr).toBe(0);
    // The user is told which file was discarded and why (work was redone).
    const lines = stderr.split('\n');
    expect(lines[0]).toBe(`note: decompositions/partial/${partial[0]}.tmp-${dead}-0: removed (a write cut short: its writer, pid ${dead}, is gone)`);
    expect(lines[1]).toMatch(new RegExp(`^note: decompositions/partial/${damaged.replaceAll('.', '\\.')}: discarded \\(.+the file may be truncated\\); .+ is decomposed again$`));
    expect(lines.slice(2)).toEqual(['']);
    expect(existsSync(partialDir)).toBe(false);
    const after = spectraInodes(resumed);
    const damagedSpectra = damaged.replace(/\.safetensors$/, '.json');
    for (const [file, ino] of before) {
      if (file === damagedSpectra) expect(after.get(file), file).not.toBe(ino); // decomposed again
      else expect(after.get(file), file).toBe(ino); // reused, not decomposed again
    }
    expect(after.size).toBe(14);

    const list = files(straight);
    expect(files(resumed)).toEqual(list);
    expect(list).toEqual(expect.arrayContaining(['decompositions/eora.safetensors', 'decompositions/svd.safetensors', 'adapters/eora-r8.safetensors', 'adapters/eora-budget-20000.safetensors', 'metrics.json']));
    for (const file of list) {
      const a = readFileSync(join(resumed, file));
      const b = readFileSync(join(straight, file));
      if (file.endsWith('.json')) expect(withoutTimings(a.toString('utf8')), file).toBe(withoutTimings(b.toString('utf8')));
      else expect(a.equals(b), file).toBe(true);
    }
  });

  it('a NaN in one linear’s stored curve: a rerun decomposes that linear alone, says so, and (stopped right after, rerun) ends as before', async () => {
    const run = copy('nan-curve');
    await runCompensate(run, { ...options, evalTokens: 0 });
    const decompositions = () => readdirSync(join(run, 'decompositions')).map((f) => readFileSync(join(run, 'decompositions', f)));
    const before = spectraInodes(run);
    const assembled = decompositions();
    const linear = 'model.layers.1.self_attn.v_proj';
    const spectraFile = join(run, 'spectra', `${linear}.json`);
    const spectra = JSON.parse(readFileSync(spectraFile, 'utf8')) as { methods: Record<string, { rel_output_error: (number | null)[] }> };
    const good = readFileSync(spectraFile, 'utf8');
    spectra.methods.eora.rel_output_error[3] = null; // how JSON stores a NaN
    writeFileSync(spectraFile, JSON.stringify(spectra));

    // Stopped right after redoing it (its partial file beside the whole decompositions), then rerun.
    const controller = new AbortController();
    const told: string[] = [];
    const stop = (e: { phase: string; label: string }) => void (e.phase === 'decompose' && e.label === 'model.layers.1.self_attn.o_proj' && controller.abort());
    await expect(runCompensate(run, { ...options, evalTokens: 0, signal: controller.signal, onProgress: stop, onLog: (m) => told.push(m) })).rejects.toThrow();
    expect(told).toEqual([`spectra/${linear}.json: eora's err(r) curve holds NaN at r = 3; ${linear} is decomposed again`]);
    expect(readdirSync(join(run, 'decompositions', 'partial'))).toEqual([`${linear}.safetensors`]);
    const { code, stderr } = await runCli(['compensate', run, ...flags, '--eval-tokens', '0']);
    expect(code, stderr).toBe(0);
    expect(stderr).toBe('');
    const after = spectraInodes(run);
    for (const [file, ino] of before) {
      if (file === `${linear}.json`) expect(after.get(file), file).not.toBe(ino);
      else expect(after.get(file), file).toBe(ino); // kept, not decomposed again
    }
    expect(withoutTimings(readFileSync(spectraFile, 'utf8'))).toBe(withoutTimings(good));
    expect(decompositions().map((bytes, i) => bytes.equals(assembled[i]))).toEqual(assembled.map(() => true));
    expect(existsSync(join(run, 'decompositions', 'partial'))).toBe(false);
  });

  it('a finished compensate rerun with other ranks cuts them from its decompositions; another --r-max decomposes again', async () => {
    const run = copy('rerun');
    await runCompensate(run, { ...options, evalTokens: 0 });
    const inodes = () => new Map([...spectraInodes(run), ...readdirSync(join(run, 'decompositions')).map((f) => [f, statSync(join(run, 'decompositions', f)).ino] as const)]);
    const before = inodes();
    const adapters = ['eora-r4', 'eora-budget-20000'].map((v) => readFileSync(join(run, 'adapters', `${v}.safetensors`)));
    expect((await runCli(['compensate', run, '--method', 'svd,eora', '--ranks', '2,4', '--budget', '20000', '--eval-tokens', '0', '--quiet'])).code).toBe(0);
    expect(inodes()).toEqual(before); // neither spectra nor decompositions written again
    // The same adapters: the budget's allocation ran on curves read back from the spectra.
    expect(['eora-r4', 'eora-budget-20000'].map((v, i) => readFileSync(join(run, 'adapters', `${v}.safetensors`)).equals(adapters[i]))).toEqual([true, true]);
    expect(existsSync(join(run, 'adapters', 'svd-r2.safetensors'))).toBe(true);

    expect((await runCli(['compensate', run, '--method', 'svd,eora', '--ranks', '2,4', '--r-max', '16', '--eval-tokens', '0', '--quiet'])).code).toBe(0);
    const after = inodes();
    for (const [file, ino] of before) expect(after.get(file), file).not.toBe(ino);
    expect(JSON.parse(readFileSync(join(run, 'spectra', 'model.layers.0.mlp.down_proj.json'), 'utf8')).r_max).toBe(16);
  });
});

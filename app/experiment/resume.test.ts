// Kill-and-resume: `eora run` as a child process is killed (SIGKILL, no chance to clean up)
// once after the first compressed layer and once in the middle of the evaluation; rerunning
// the same command twice more finishes the run, and every file then equals an uninterrupted
// run's — adapters, decompositions, W_c bit for bit, JSON with timing fields removed.
// Runs the compiled CLI (out/app): `npm run build:app` first (npm test builds before testing).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../paths.js';
import type { RunManifest } from '../run/run.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-resume-'));
const experiment = join(dir, 'resume.json');
writeFileSync(
  experiment,
  JSON.stringify({
    calibration: { samples: 16, seq_len: 64 },
    compression: { quant: 'gptq:w3g32' },
    compensation: { methods: ['svd', 'eora'], ranks: [4, 8], budgets: [30000] },
    evaluation: { perplexity: [{ tokens: 3000 }], tasks: [{ name: 'tinystories_cloze', limit: 24 }], generation: { prompts: ['Once upon a time'], max_new_tokens: 8 } },
  }),
);
const cli = join(packageRoot(), 'bin', 'eora.mjs');

/** Runs `eora run` into `out`; kills it with SIGKILL as soon as `killWhen(out)` holds. Resolves with the exit code, or 'killed'. */
function run(out: string, killWhen?: (out: string) => boolean): Promise<number | 'killed'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'run', experiment, '--out', out, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let killed = false;
    const timer = killWhen
      ? setInterval(() => {
          if (!killed && killWhen(out)) {
            killed = true;
            child.kill('SIGKILL');
          }
        }, 20)
      : undefined;
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (!killed && code !== 0) reject(new Error(`eora run exited ${code}: ${stderr}`));
      resolve(killed ? 'killed' : (code ?? -1));
    });
  });
}

const readJson = <T>(file: string): T | null => {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null; // absent, or being replaced right now
  }
};
const afterFirstLayer = (out: string) => (readJson<RunManifest>(join(out, 'run.json'))?.stages.compress?.layers_done ?? 0) >= 1;
const midEvaluation = (out: string) => Object.keys(readJson<{ variants: object }>(join(out, 'metrics.json'))?.variants ?? {}).length >= 3;

/** Every file under `root` (relative paths), without the temporary files an interrupted atomic write leaves. */
function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.includes('.tmp-'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

const TIMING = new Set(['seconds', 'milliseconds', 'layer_seconds', 'started', 'finished', 'created', 'process']);
const withoutTimings = (text: string) => JSON.stringify(JSON.parse(text, (key, value) => (TIMING.has(key) ? undefined : value)));

describe('kill and resume (child process, SIGKILL)', () => {
  it('a run killed after a compress layer and mid-evaluation ends identical to an uninterrupted run', async () => {
    expect(existsSync(join(packageRoot(), 'out', 'app', 'experiment', 'run.js')), 'build the engine first: npm run build:app').toBe(true);
    const resumed = join(dir, 'resumed');
    expect(await run(resumed, afterFirstLayer)).toBe('killed');
    const stopped = readJson<RunManifest>(join(resumed, 'run.json'))!;
    expect(stopped.stages.compress).toMatchObject({ status: 'running' });
    expect(existsSync(join(resumed, 'metrics.json'))).toBe(false);

    expect(await run(resumed, midEvaluation)).toBe('killed');
    const partial = readJson<{ variants: object }>(join(resumed, 'metrics.json'))!;
    expect(Object.keys(partial.variants).length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(partial.variants).length).toBeLessThan(7);

    expect(await run(resumed)).toBe(0);
    const straight = join(dir, 'straight');
    expect(await run(straight)).toBe(0);

    const list = files(straight);
    expect(files(resumed)).toEqual(list);
    expect(list).toEqual(expect.arrayContaining(['compressed.safetensors', 'calibration.safetensors', 'adapters/eora-r8.safetensors', 'adapters/eora-budget-30000.safetensors', 'decompositions/eora.safetensors', 'metrics.json', 'samples.json', 'layers.json']));
    for (const file of list) {
      const a = readFileSync(join(resumed, file));
      const b = readFileSync(join(straight, file));
      if (file.endsWith('.json')) expect(withoutTimings(a.toString('utf8')), file).toBe(withoutTimings(b.toString('utf8')));
      else expect(a.equals(b), file).toBe(true);
    }
    const manifest = readJson<RunManifest>(join(resumed, 'run.json'))!;
    for (const stage of ['compress', 'compensate', 'evaluate', 'samples'] as const) expect(manifest.stages[stage]!.status).toBe('done');
  }, 240_000);
});

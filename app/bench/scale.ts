// `npm run bench -- scale [--dir D] [--shapes llama-3.2-1b,llama-3-8b,qwen2.5-1.5b] [--layers N]
//  [--skip-compress] [--keep]`: the memory model measured on random-weight checkpoints of real
// shapes. Per shape it writes the checkpoint (bf16, sharded with an index like the Hub), then
// runs `eora inspect`, `eora ppl` on 512 tokens, `eora compress` (gptq:w4g128, 8 × 256
// calibration tokens) and `eora compensate` (eora, ranks 16 and 64) as child processes, and
// reports each one's seconds and peak RSS (the child's own getrusage maxRSS, written at its
// exit by a preloaded hook), ppl tokens/s against the MatMul floor measured in the same run,
// and compress's seconds per layer. `--layers` overrides the layer count (e.g. 8 vs 32 of the
// same width: peak memory should not grow with it). Random weights: the perplexities mean
// nothing. Checkpoints go to a temp folder (or --dir) and are removed unless --keep.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointBytes, SHAPES, writeRandomCheckpoint, type RandomShape } from '../model/random-checkpoint.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { packageRoot } from '../paths.js';
import { blockFlops, headFlops } from './flops.js';
import { matmulFloor } from './forward.js';
import { readRunJson } from '../run/files/run-json.js';

export interface ScaleOptions {
  dir?: string;
  shapes: string[];
  layers?: number;
  skipCompress?: boolean;
  keep?: boolean;
  /** Token counts of the ppl runs (default [512]; windows of 512, batched by the evaluator). */
  pplTokens?: number[];
}

interface Step {
  seconds: number;
  maxRssBytes: number;
  stdout: string;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const GiB = 1024 ** 3;
const EVAL_TEXT = join(packageRoot(), 'resources', 'data', 'tinystories', 'validation.txt');

export async function benchScale(options: ScaleOptions, print: (line: string) => void): Promise<void> {
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'eora-scale-'));
  mkdirSync(root, { recursive: true }); // a --dir that does not exist yet
  const hook = join(root, 'maxrss-hook.cjs');
  // Preloaded into every child: its own peak RSS (kB on Linux) to a file named by the env var, at exit.
  writeFileSync(hook, "process.on('exit', () => { if (process.env.EORA_MAXRSS_FILE) require('fs').writeFileSync(process.env.EORA_MAXRSS_FILE, String(process.resourceUsage().maxRSS * 1024)); });\n");
  const sessions = new SessionCache('cpu');
  const floor = await matmulFloor(sessions);
  await sessions.release();
  print(`MatMul floor (float32 Gemm, same run): ${floor.gflops!.toFixed(1)} GFLOP/s; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  try {
    for (const name of options.shapes) {
      const base = SHAPES[name];
      if (!base) throw new Error(`unknown shape "${name}" (known: ${Object.keys(SHAPES).join(', ')})`);
      const shape: RandomShape = { ...base, layers: options.layers ?? base.layers };
      const bytes = checkpointBytes(shape);
      const dir = join(root, `${name}-${shape.layers}L`);
      // A checkpoint left by --keep (or `eora make-random-model --out` this folder) is reused: 16 GB at 8B take minutes to write.
      const reused = existsSync(join(dir, 'config.json'));
      const { bavail, bsize } = statfsSync(root);
      if (!reused && bytes * 1.05 > bavail * bsize) throw new Error(`${root}: ${(bytes / GiB).toFixed(1)} GiB needed for ${name} (${shape.layers} layers), ${((bavail * bsize) / GiB).toFixed(1)} GiB free; pass --layers or --dir`);
      const t0 = performance.now();
      const written = reused ? 'reused' : `${writeRandomCheckpoint(dir, shape).length} shard(s), written in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      print(`\n${name}, ${shape.layers} layers (d ${shape.hidden}, inter ${shape.intermediate}, vocab ${shape.vocab}${shape.tied ? ', tied' : ''}${shape.bias ? ', q/k/v bias' : ''}): ${(bytes / GiB).toFixed(2)} GiB bf16, ${written}`);
      const step = (args: string[]) => runChild(hook, root, args);
      const row = (label: string, s: Step, extra = '') => print(`  ${label.padEnd(34)} ${s.seconds.toFixed(1).padStart(7)} s   peak RSS ${(s.maxRssBytes / GiB).toFixed(2).padStart(6)} GiB${extra}`);

      row('inspect', await step(['inspect', dir]));
      const block = { hidden: shape.hidden, heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.hidden / shape.heads, intermediate: shape.intermediate, eps: 1e-5, bias: shape.bias };
      for (const tokens of options.pplTokens ?? [512]) {
        // A text just long enough, so the evaluator's tokenizing of the whole file is not timed as forward.
        const text = join(root, 'ppl-text.txt');
        writeFileSync(text, readFileSync(EVAL_TEXT, 'utf8').slice(0, 16 * tokens + 4096));
        const ppl = await step(['ppl', dir, '--text', text, '--max-tokens', String(tokens + 1), '--seq-len', '512', '--json']);
        const result = JSON.parse(ppl.stdout) as { tokens: number; seconds: number };
        if (result.tokens !== tokens) throw new Error(`ppl scored ${result.tokens} tokens, expected ${tokens}: the text is too short`);
        const windows = Math.ceil(tokens / 512);
        const flops = shape.layers * windows * blockFlops(block, 1, 512) + headFlops(shape.hidden, shape.vocab, tokens);
        const gflops = flops / result.seconds / 1e9;
        row(`ppl, ${tokens} tokens`, ppl, `   ${(result.tokens / result.seconds).toFixed(1)} tokens/s, ${gflops.toFixed(1)} GFLOP/s = ${(gflops / floor.gflops!).toFixed(2)}× floor (forward ${result.seconds.toFixed(1)} s)`);
      }
      if (!options.skipCompress) {
        const run = join(dir, 'run');
        rmSync(run, { recursive: true, force: true }); // a kept checkpoint's earlier run would resume as done: time a fresh one
        const c = await step(['compress', dir, '--quant', 'gptq:w4g128', '--samples', '8', '--seq-len', '256', '--eval-tokens', '0', '--out', run, '--quiet']);
        const perLayer = readRunJson(run)?.stages.compress?.layer_seconds ?? [];
        const meanLayer = perLayer.reduce((a, b) => a + b, 0) / Math.max(1, perLayer.length);
        row('compress gptq:w4g128, 8×256', c, `   ${meanLayer.toFixed(1)} s/layer`);
        row('compensate eora r16,64 (r_max 64)', await step(['compensate', run, '--method', 'eora', '--ranks', '16,64', '--r-max', '64', '--eval-tokens', '0', '--quiet']));
      }
      if (!options.keep) rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    if (!options.keep && !options.dir) rmSync(root, { recursive: true, force: true });
    else rmSync(hook, { force: true });
  }
}

/** Runs `eora <args>` in a child node process; its stdout, seconds and peak RSS. */
function runChild(hook: string, root: string, args: string[]): Promise<Step> {
  const rssFile = join(root, `maxrss-${process.pid}-${Date.now()}`);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', hook, '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(new URL(`file://${CLI}`).href)}); process.exitCode = await main(${JSON.stringify(args)});`], {
      env: { ...process.env, EORA_MAXRSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`eora ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      let maxRssBytes = NaN;
      try {
        maxRssBytes = Number(readFileSync(rssFile, 'utf8'));
        rmSync(rssFile);
      } catch {
        // the hook did not run: leave NaN
      }
      resolve({ seconds, maxRssBytes, stdout });
    });
  });
}

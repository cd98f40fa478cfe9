// `npm run bench -- forward [--device D] [--json]`: benchmarks, not tests. Timing depends on
// the machine, so nothing here asserts a speed; the output is for people and for PR notes.
import { parseArgs } from 'node:util';
import { parseDevice } from '../onnx/runtime.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { benchEora } from './eora.js';
import { benchForward, type BenchRow } from './forward.js';
import { benchGptq } from './gptq.js';
import { benchScale } from './scale.js';

const usage = `Usage: npm run bench -- forward|gptq|eora [--device cpu|cuda|webgpu] [--json]
       npm run bench -- scale [--dir D] [--shapes llama-3.2-1b,llama-3-8b,qwen2.5-1.5b] [--layers N] [--ppl-tokens 512,4096] [--skip-compress] [--keep]

forward   MatMul floor, the bundled model (forward + NLL, generation) and one synthetic
          7B-shape decoder block: tokens/s, GFLOP/s and the fraction of the MatMul floor.
gptq      GPTQ on 1024², 4096² and 11008×4096 layers: Hinv factor (ORT) and column sweep (JS)
          seconds against the float32 MatMul floor (text only; --json is ignored).
eora      EoRA decomposition to r_max 256 on 4096² and 11008×4096 layers with ORT products,
          against the MatMul floor and numpy's eigh + svd when python3 has numpy.
          --shapes 4096x4096,11008x4096,4096x14336 picks the layers (default the first two).
          --traces compress: tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ) measured first by compress's output-error
          metric (timed on its own line) and given to the decomposition, as the compensate
          stage does for a compressed run's layers from 1024 wide.
scale     random-weight bf16 checkpoints of real shapes (default llama-3.2-1b): seconds and
          peak RSS of inspect, ppl on 512 tokens, compress (gptq:w4g128, 8×256) and compensate
          (eora r16,64) as child processes; ppl against the MatMul floor. --layers overrides
          the layer count (8 vs 32 of one width: the peak should not grow). Needs out/app built.`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { device: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, dir: { type: 'string' }, shapes: { type: 'string' }, layers: { type: 'string' }, 'skip-compress': { type: 'boolean' }, keep: { type: 'boolean' }, 'ppl-tokens': { type: 'string' }, traces: { type: 'string' } } });
  } catch (error) {
    process.stderr.write(`eora-bench: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const [which] = parsed.positionals;
  if (parsed.values.help || which === undefined) {
    process.stdout.write(usage + '\n');
    return which === undefined && !parsed.values.help ? 2 : 0;
  }
  if (which === 'scale') {
    const v = parsed.values;
    const layers = v.layers === undefined ? undefined : Number(v.layers);
    if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1)) {
      process.stderr.write(`eora-bench: --layers must be a positive integer, got ${v.layers}\n`);
      return 2;
    }
    const pplTokens = (v['ppl-tokens'] ?? '512').split(',').map(Number);
    if (!pplTokens.every((t) => Number.isInteger(t) && t >= 2)) {
      process.stderr.write(`eora-bench: --ppl-tokens takes token counts ≥ 2, e.g. 512,4096; got ${v['ppl-tokens']}\n`);
      return 2;
    }
    await benchScale({ dir: v.dir, shapes: (v.shapes ?? 'llama-3.2-1b').split(','), layers, skipCompress: v['skip-compress'] === true, keep: v.keep === true, pplTokens }, (line) => process.stdout.write(line + '\n'));
    return 0;
  }
  if (parsed.values.traces !== undefined && parsed.values.traces !== 'compress') {
    process.stderr.write(`eora-bench: --traces takes "compress" (or leave it out: the decomposition computes them), got ${parsed.values.traces}\n`);
    return 2;
  }
  if (which === 'gptq' || which === 'eora') {
    const device = parseDevice(parsed.values.device ?? 'cpu');
    process.stdout.write(`${which} bench on ${device}\n`);
    const sessions = new SessionCache(device);
    try {
      const print = (line: string) => process.stdout.write(line + '\n');
      await (which === 'gptq' ? benchGptq(sessions, print) : benchEora(sessions, print, parsed.values.shapes?.split(','), { tracesFromCompress: parsed.values.traces === 'compress' }));
    } finally {
      await sessions.release();
    }
    return 0;
  }
  if (which !== 'forward') {
    process.stderr.write(`eora-bench: unknown benchmark "${which}"\n${usage}\n`);
    return 2;
  }
  const device = parseDevice(parsed.values.device ?? 'cpu');
  const json = parsed.values.json === true;
  if (!json) process.stdout.write(`forward bench on ${device}\n`);
  const rows = await benchForward(device, (row) => json || process.stdout.write(format(row) + '\n'));
  if (json) process.stdout.write(JSON.stringify({ device, rows }, null, 2) + '\n');
  return 0;
}

function format(row: BenchRow): string {
  const parts = [`${row.name} ${row.shape}:`];
  if (row.tokensPerSecond !== undefined) parts.push(`${Math.round(row.tokensPerSecond).toLocaleString('en-US')} tokens/s,`);
  if (row.gflops !== undefined) parts.push(`${row.gflops.toFixed(1)} GFLOP/s`);
  if (row.ofFloor !== undefined && row.ofFloor !== 1) parts.push(`(${row.ofFloor.toFixed(2)}× floor)`);
  parts.push(`[best ${(row.seconds * 1000).toFixed(1)} ms, median ${(row.medianSeconds * 1000).toFixed(1)} ms per run]`);
  return '  ' + parts.join(' ');
}

import { openModel, resourcesPath } from '../../model/open.js';
import { runCompress, type CompressSummary } from '../../experiment/commands.js';
import { resolveMethod } from '../../experiment/stages/compress.js';
import { CompressError } from '../../compress/index.js';
import { deviceOption, intOption, stringOption, UsageError, type Command } from '../args.js';
import { onInterrupt } from '../interrupt.js';
import { noticePrinter, progressBar } from '../progress.js';

export const compressCommand: Command = {
  name: 'compress',
  summary: 'quantize and/or prune a model layer by layer into a run folder',
  help: `Usage: eora compress [MODEL] [--quant SPEC] [--prune SPEC] [--calib FILE] [--samples N]
                     [--seq-len L] [--seed S] [--no-sequential] [--eval-tokens N] --out RUN_DIR [--json]

Compresses every decoder linear, block by block, calibrated on N windows of L tokens drawn
from FILE with seed S (the windows are recorded in RUN_DIR/run.json). By default block i is
calibrated on the outputs of the already compressed blocks 0..i−1 and, inside the block, in
GPTQ's sequential groups [q,k,v] → [o] → [gate,up] → [down]. Ctrl-C stops after the current
layer; rerunning the same command continues from there with identical results.

RUN_DIR receives run.json, compressed.safetensors (W_c), calibration.safetensors (C = Σ x xᵀ per
input group, float64), layers.json (per-linear errors) and metrics.json (held-out perplexity of
the original and the compressed model).

Options:
  --quant SPEC        gptq:w3g32 | gptq:w4g128,act | rtn:w4g128 | rtn:w3 | none (default none)
  --prune SPEC        sparsegpt:2:4 | sparsegpt:0.5 | wanda:0.5 | magnitude:2:4 | none (default none);
                      sparsegpt with --quant gptq:… runs SparseGPT's joint prune + quantize
  --calib FILE        text (stories separated by blank lines) or .jsonl (default: bundled
                      TinyStories calibration text)
  --template T        JSONL only: e.g. "Q: {question} A: {answer}" (default: the "text" field)
  --samples N         calibration windows (default 128)
  --seq-len L         tokens per calibration sample (default 128)
  --seed S            window sampling seed (default 0)
  --no-sequential     calibrate every block on the original model's activations
  --eval-tokens N     held-out perplexity on the first N tokens of --eval FILE (default 20000; 0: skip)
  --eval FILE         held-out text (default: bundled TinyStories validation text)
  --out RUN_DIR       run folder (created; an unfinished run of the same config is resumed)
  --device D          cpu | cuda | webgpu (default cpu)
  --json              print a JSON summary (per-linear rel_output_error and the mean)
  --quiet             no progress bar
  -h, --help`,
  options: {
    quant: { type: 'string' },
    prune: { type: 'string' },
    calib: { type: 'string' },
    template: { type: 'string' },
    samples: { type: 'string' },
    'seq-len': { type: 'string' },
    seed: { type: 'string' },
    'no-sequential': { type: 'boolean' },
    'eval-tokens': { type: 'string' },
    eval: { type: 'string' },
    out: { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError('--out RUN_DIR is required');
    const quant = stringOption(args, 'quant') ?? 'none';
    const prune = stringOption(args, 'prune') ?? 'none';
    try {
      resolveMethod(quant, prune);
    } catch (error) {
      if (error instanceof CompressError) throw new UsageError(error.message);
      throw error;
    }
    const samples = intOption(args, 'samples', { min: 1 }) ?? 128;
    const seqLen = intOption(args, 'seq-len', { min: 1 }) ?? 128;
    const seed = intOption(args, 'seed', { min: 0 }) ?? 0;
    const evalTokens = intOption(args, 'eval-tokens', { min: 0 }) ?? 20_000;
    if (evalTokens === 1) throw new UsageError('--eval-tokens must be 0 (skip) or at least 2');
    const device = deviceOption(args);
    const quiet = args.values.quiet === true || args.values.json === true;

    const model = await openModel(args.positionals[0]);
    if (seqLen > model.config.max_position_embeddings) {
      model.close();
      throw new UsageError(`--seq-len ${seqLen} exceeds the model's max_position_embeddings (${model.config.max_position_embeddings})`);
    }
    const interrupt = onInterrupt(io, 'after the current layer');
    const layersBar = progressBar(io, 'compress', 'layers', quiet);
    const evalBar = progressBar(io, 'perplexity', 'variants', quiet);
    let summary: CompressSummary;
    try {
      summary = await runCompress(model, {
        quant,
        prune,
        calibFile: stringOption(args, 'calib') ?? resourcesPath('data', 'tinystories', 'calibration.txt'),
        template: stringOption(args, 'template'),
        samples,
        seqLen,
        seed,
        activations: args.values['no-sequential'] ? 'original' : 'sequential',
        evalTokens,
        evalFile: stringOption(args, 'eval') ?? resourcesPath('data', 'tinystories', 'validation.txt'),
        device,
        out,
        signal: interrupt.signal,
        onLog: noticePrinter(io),
        onProgress: (e) => (e.phase === 'layers' ? layersBar.update(e.done, e.total) : evalBar.update(e.done, e.total)),
      });
    } catch (error) {
      if (interrupt.signal.aborted) {
        layersBar.finish();
        io.stderr(`eora compress: stopped; rerun the same command to continue from the last finished layer (${out})\n`);
        return 130;
      }
      throw error;
    } finally {
      interrupt.dispose();
      layersBar.finish();
      evalBar.finish();
      model.close();
    }
    if (args.values.json) {
      io.stdout(JSON.stringify(summary, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `${summary.method} (${summary.activations} activations) → ${summary.run}${summary.resumed_from_layer !== null ? ` (resumed at layer ${summary.resumed_from_layer})` : ''}`,
      `  mean relative output error ${fmt(summary.mean_rel_output_error)} over ${summary.linears.length} linears`,
    ];
    const worst = [...summary.linears].sort((a, b) => (b.rel_output_error ?? 0) - (a.rel_output_error ?? 0)).slice(0, 3);
    for (const l of worst) lines.push(`  ${l.name}: output error ${fmt(l.rel_output_error)}, weight error ${fmt(l.rel_weight_error)}, sparsity ${l.sparsity.toFixed(3)}, ${l.bits_per_weight.toFixed(2)} bits/weight`);
    if (summary.ppl) lines.push(`  held-out perplexity: original ${summary.ppl.original.toFixed(3)}, compressed ${summary.ppl.compressed.toFixed(3)}`);
    lines.push(`  ${summary.seconds.toFixed(1)} s`);
    io.stdout(lines.join('\n') + '\n');
    return 0;
  },
};

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toExponential(3);
}

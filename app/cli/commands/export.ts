// `eora export`: a run variant as PEFT adapter, merged checkpoint, compressed (GPTQ) checkpoint
// or ONNX model; `eora import-gptq`: a run from a GPTQ checkpoint and its original model.
import { importGptq } from '../../experiment/stages/import-gptq.js';
import { EXPORT_FORMATS, exportVariant, listVariants, type ExportFormat } from '../../export/index.js';
import { resourcesPath } from '../../model/open.js';
import { deviceOption, intOption, runDirArgument, stringOption, UsageError, type Command } from '../args.js';
import { onInterrupt } from '../interrupt.js';
import { noticePrinter, progressBar } from '../progress.js';

const DTYPES = ['f16', 'bf16', 'f32'] as const;

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a run variant as a PEFT adapter, merged or GPTQ checkpoint, or ONNX model',
  help: `Usage: eora export RUN_DIR --variant NAME --format peft|merged|compressed|onnx --out DIR
                   [--dtype f16|bf16|f32] [--shard-mb N] [--force] [--json]

  peft        adapter_config.json + adapter_model.safetensors (PEFT LoRA, scaling 1) and
              DIR/base/: the compressed model it corrects, which base_model_name_or_path names
  merged      Hugging Face checkpoint with W_c + B·A merged (config, tokenizer, safetensors)
  compressed  the compressed model W_c (dequantized checkpoint) and, for 2/3/4/8-bit runs,
              DIR/gptq/: the packed GPTQ checkpoint (qweight, qzeros, scales, g_idx,
              quantize_config.json) for AutoGPTQ / GPTQModel / transformers; with an
              adapter variant also DIR/adapter/, its PEFT adapter on top of DIR
  onnx        model.onnx + model.onnx.data: input_ids → logits; 4-bit linears as
              com.microsoft::MatMulNBits with the exact codes, adapters as two small MatMuls

Options:
  --variant NAME    compressed, eora-r16, svd-r8, eora-budget-…: see the run's adapters/
                    (default: compressed)
  --format F        peft | merged | compressed | onnx
  --out DIR         output folder; written to a temp folder and renamed at the end
  --dtype D         weight dtype of checkpoints (default f32; GPTQ scales f16 unless f32)
  --shard-mb N      shard checkpoints above N MB (default 2000)
  --force           replace a non-empty DIR
  --json            print {dir, format, variant, seconds, bytes, notes}
  --quiet           no progress bar
  -h, --help`,
  options: {
    variant: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string' },
    'shard-mb': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const runDir = runDirArgument(args);
    const format = stringOption(args, 'format');
    if (!format || !(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}${format ? `, got "${format}"` : ''}`);
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError('--out DIR is required');
    const dtype = stringOption(args, 'dtype');
    if (dtype !== undefined && !(DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype must be f16, bf16 or f32, got "${dtype}"`);
    const shardMb = intOption(args, 'shard-mb', { min: 1 });
    const variant = stringOption(args, 'variant') ?? 'compressed';
    const quiet = args.values.quiet === true || args.values.json === true;
    const bar = progressBar(io, 'export', 'steps', quiet);
    const interrupt = onInterrupt(io, 'the export (nothing is left behind)');
    const summary = await exportVariant(runDir, variant, format as ExportFormat, out, {
      dtype: dtype as (typeof DTYPES)[number] | undefined,
      force: args.values.force === true,
      shardBytes: shardMb === undefined ? undefined : shardMb * 1_000_000,
      signal: interrupt.signal,
      onProgress: (e) => bar.update(e.done, e.total),
    }).finally(() => {
      interrupt.dispose();
      bar.finish();
    });
    if (args.values.json) {
      io.stdout(JSON.stringify(summary, null, 2) + '\n');
      return 0;
    }
    const lines = [`${summary.dir}`, `  ${summary.format} export of ${summary.variant}: ${(summary.bytes / 1e6).toFixed(2)} MB in ${summary.seconds.toFixed(1)} s`];
    const gptq = summary.notes.gptq as { written: boolean; reason?: string; checkpoint_format?: string } | undefined;
    if (gptq) lines.push(gptq.written ? `  packed GPTQ checkpoint in gptq/ (${gptq.checkpoint_format})` : `  no packed GPTQ checkpoint: ${gptq.reason}`);
    if (summary.notes.float_reason) lines.push(`  float linears: ${String(summary.notes.float_reason)}`);
    if (format === 'peft') lines.push('  the adapter, on top of the compressed model in base/ (base_model_name_or_path)');
    if (summary.notes.adapter) lines.push('  its PEFT adapter in adapter/, on top of this folder (base_model_name_or_path)');
    io.stdout(lines.join('\n') + '\n');
    return 0;
  },
};

export const importGptqCommand: Command = {
  name: 'import-gptq',
  summary: 'make a run from a GPTQ checkpoint and its original model, ready for eora compensate',
  help: `Usage: eora import-gptq GPTQ_DIR --model ORIGINAL_DIR --out RUN_DIR [--calib FILE] [--samples 128]
                        [--seq-len 128] [--seed 0] [--device D] [--json]

Reads a GPTQ-packed checkpoint (AutoGPTQ / GPTQModel: qweight, qzeros, scales, g_idx;
2/3/4/8 bits, with or without act-order) as the compressed weights W_c, runs calibration on
ORIGINAL_DIR (the full-precision model it was quantized from) to get the input statistics C,
and writes a run folder like \`eora compress\` does. Then: eora compensate RUN_DIR.

Options:
  --model DIR       the original full-precision checkpoint (required)
  --out DIR         the run folder to create
  --calib FILE      calibration text (default: the bundled TinyStories calibration.txt)
  --samples N       calibration windows (default 128)
  --seq-len N       window length in tokens (default 128)
  --seed N          window sampling seed (default 0)
  --device D        cpu | cuda | webgpu (default cpu)
  --json            print the summary as JSON
  --quiet           no progress bar
  -h, --help`,
  options: {
    model: { type: 'string' },
    out: { type: 'string' },
    calib: { type: 'string' },
    samples: { type: 'string' },
    'seq-len': { type: 'string' },
    seed: { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const gptqDir = args.positionals[0];
    if (!gptqDir) throw new UsageError('GPTQ_DIR is required (a GPTQ-quantized Hugging Face checkpoint)');
    const model = stringOption(args, 'model');
    if (!model) throw new UsageError('--model ORIGINAL_DIR is required (the full-precision checkpoint it was quantized from)');
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError('--out RUN_DIR is required');
    const quiet = args.values.quiet === true || args.values.json === true;
    const bar = progressBar(io, 'calibrate', 'layers', quiet);
    const interrupt = onInterrupt(io, 'the import');
    const summary = await importGptq(gptqDir, model, out, {
      calibFile: stringOption(args, 'calib') ?? resourcesPath('data', 'tinystories', 'calibration.txt'),
      samples: intOption(args, 'samples', { min: 1 }) ?? 128,
      seqLen: intOption(args, 'seq-len', { min: 2 }) ?? 128,
      seed: intOption(args, 'seed', { min: 0 }) ?? 0,
      device: deviceOption(args),
      signal: interrupt.signal,
      onLog: noticePrinter(io),
      onProgress: (e) => bar.update(e.done, e.total),
    }).finally(() => {
      interrupt.dispose();
      bar.finish();
    });
    if (args.values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
    else io.stdout(`${summary.run}\n  imported ${summary.method}, ${summary.linears} linears, mean rel. output error ${summary.mean_rel_output_error?.toExponential(3) ?? 'n/a'}, ${summary.seconds.toFixed(1)} s\n  next: eora compensate ${summary.run}\n`);
    return 0;
  },
};

export { listVariants };

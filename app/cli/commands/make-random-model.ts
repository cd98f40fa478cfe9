import { checkpointBytes, SHAPES, writeRandomCheckpoint } from '../../model/random-checkpoint.js';
import { intOption, stringOption, UsageError, type Command } from '../args.js';

export const makeRandomModelCommand: Command = {
  name: 'make-random-model',
  summary: 'write a random-weight checkpoint of a real model shape (for memory/speed tests)',
  help: `Usage: eora make-random-model --shape llama-3.2-1b|llama-3-8b|qwen2.5-1.5b --out DIR [--layers N] [--dtype bf16|f32] [--seed S]

Writes a Hugging Face folder (config.json, safetensors sharded with an index above 5 GB, the
bundled tokenizer) with random weights of a published model shape. Perplexities and errors of
random weights mean nothing: such checkpoints are for measuring memory and speed.
Sizes in bf16: llama-3.2-1b 2.3 GiB, qwen2.5-1.5b 2.9 GiB, llama-3-8b 15 GiB (--layers shrinks them).

Options:
  --shape NAME    the published config to copy
  --out DIR       an empty or new folder
  --layers N      override the number of decoder layers
  --dtype D       bf16 (default) or f32
  --seed S        default 1
  -h, --help`,
  options: { shape: { type: 'string' }, out: { type: 'string' }, layers: { type: 'string' }, dtype: { type: 'string' }, seed: { type: 'string' } },
  maxPositionals: 0,
  async run(args, io) {
    const name = stringOption(args, 'shape');
    const out = stringOption(args, 'out');
    if (!name || !SHAPES[name]) throw new UsageError(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
    if (!out) throw new UsageError('--out DIR is required');
    const dtypeName = stringOption(args, 'dtype') ?? 'bf16';
    if (dtypeName !== 'bf16' && dtypeName !== 'f32') throw new UsageError(`--dtype must be bf16 or f32, got ${dtypeName}`);
    const dtype = dtypeName === 'bf16' ? 'BF16' : 'F32';
    const shape = { ...SHAPES[name], layers: intOption(args, 'layers', { min: 1 }) ?? SHAPES[name].layers };
    const files = writeRandomCheckpoint(out, shape, { dtype, seed: intOption(args, 'seed', { min: 0 }) ?? 1 });
    io.stdout(`${out}: ${name} shape, ${shape.layers} layers, ${(checkpointBytes(shape, dtype) / 1024 ** 3).toFixed(2)} GiB ${dtypeName} in ${files.length} file(s) (random weights)\n`);
    return 0;
  },
};

import { ModelRunner } from '../../forward/runner.js';
import { generate } from '../../generate/generate.js';
import { openModel } from '../../model/open.js';
import { deviceOption, intOption, numberOption, stringOption, UsageError, type Command } from '../args.js';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'continue a prompt with the model (greedy or sampled)',
  help: `Usage: eora generate [MODEL] [--prompt TEXT] [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] [--json]

Continues a prompt (BOS is prepended) until EOS, --max-new-tokens, or the model's context
length. Temperature 0 (the default) is greedy decoding; above 0 tokens are sampled from the
softmax, restricted to the top-p nucleus, reproducibly for a given --seed. MODEL defaults to
the bundled TinyStories-656K model.

Options:
  --prompt TEXT          default "Once upon a time"
  --max-new-tokens N     default 64
  --temperature T        0 (greedy, default) .. 10
  --top-p P              nucleus mass in (0, 1] (default 1: no truncation)
  --seed S               PRNG seed for sampling (default 0)
  --device D             cpu | cuda | webgpu (default cpu)
  --json                 print one JSON object with the token ids
  -h, --help`,
  options: {
    prompt: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    seed: { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const prompt = stringOption(args, 'prompt') ?? 'Once upon a time';
    const options = {
      maxNewTokens: intOption(args, 'max-new-tokens', { min: 1, max: 100_000 }) ?? 64,
      temperature: numberOption(args, 'temperature', { min: 0, max: 10 }) ?? 0,
      topP: numberOption(args, 'top-p', { min: 0, max: 1 }) ?? 1,
      seed: intOption(args, 'seed', { min: 0, max: 2 ** 31 - 1 }) ?? 0,
    };
    if (options.topP === 0) throw new UsageError('--top-p must be greater than 0');
    const device = deviceOption(args);
    const model = await openModel(args.positionals[0]);
    try {
      const runner = await ModelRunner.create(model, { device, memArena: true }); // plain passes only: RunnerOptions.memArena
      try {
        const result = await generate(runner, prompt, options);
        if (args.values.json) {
          const { promptIds, tokenIds, text, stopReason, seconds } = result;
          io.stdout(JSON.stringify({ prompt, text, prompt_ids: promptIds, token_ids: tokenIds, stop_reason: stopReason, seconds }, null, 2) + '\n');
        } else {
          io.stdout(`${prompt}${result.text}\n`);
          // Statistics only on a terminal, so piped output is exactly the text.
          if (io.stderrIsTTY) io.stderr(`(${result.tokenIds.length} tokens, stopped by ${result.stopReason.replaceAll('_', ' ')}, ${(result.tokenIds.length / result.seconds).toFixed(1)} tokens/s)\n`);
        }
        return 0;
      } finally {
        await runner.release();
      }
    } finally {
      model.close();
    }
  },
};

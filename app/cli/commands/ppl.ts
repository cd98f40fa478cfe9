import { basename } from 'node:path';
import { perplexity } from '../../eval/perplexity.js';
import { ModelRunner } from '../../forward/runner.js';
import { readBoundedText } from '../../model/validate.js';
import { openModel, resourcesPath } from '../../model/open.js';
import { deviceOption, intOption, stringOption, type Command } from '../args.js';
import { progressBar } from '../progress.js';

export const pplCommand: Command = {
  name: 'ppl',
  summary: 'perplexity of a text file (rolling windows)',
  help: `Usage: eora ppl [MODEL] [--text FILE] [--seq-len N] [--stride N] [--max-tokens N] [--device D] [--json]

Perplexity of a text under a model: the text is tokenized once (BOS at the start) and scored
in windows of --seq-len tokens, --stride apart; each token is predicted exactly once, by the
first window that reaches it (see app/eval/perplexity.ts). MODEL defaults to the bundled
TinyStories-656K model, FILE to the bundled TinyStories validation text.

Options:
  --text FILE       UTF-8 text to score
  --seq-len N       window length in tokens (default min(max_position_embeddings, 512))
  --stride N        step between windows, 1..seq-len (default seq-len: disjoint windows;
                    smaller = more context per token, slower)
  --max-tokens N    score only the first N tokens of the text
  --device D        cpu | cuda | webgpu (default cpu)
  --json            print one JSON object
  --quiet           no progress bar
  -h, --help`,
  options: {
    text: { type: 'string' },
    'seq-len': { type: 'string' },
    stride: { type: 'string' },
    'max-tokens': { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const file = stringOption(args, 'text') ?? resourcesPath('data', 'tinystories', 'validation.txt');
    const seqLen = intOption(args, 'seq-len', { min: 2 });
    const stride = intOption(args, 'stride', { min: 1 });
    const maxTokens = intOption(args, 'max-tokens', { min: 2 });
    const device = deviceOption(args);
    const text = readBoundedText(file); // refuses /dev/zero, FIFOs, and text over the cap
    const model = await openModel(args.positionals[0]);
    const runner = await ModelRunner.create(model, { device, memArena: true }).catch((error) => {
      model.close();
      throw error;
    });
    const bar = progressBar(io, 'ppl', 'tokens', args.values.quiet === true || args.values.json === true);
    try {
      const result = await perplexity(runner, text, { seqLen, stride, maxTokens, source: file, onProgress: (done, total) => bar.update(done, total) });
      bar.finish();
      if (!Number.isFinite(result.ppl)) throw new Error(`perplexity of ${file} is ${result.ppl} (mean NLL ${result.nll}): the model's outputs are not finite`);
      const window = seqLen ?? Math.min(model.config.max_position_embeddings, 512);
      if (args.values.json) {
        io.stdout(JSON.stringify({ model: model.path, text: file, device, seq_len: window, stride: stride ?? window, ...result }, null, 2) + '\n');
        return 0;
      }
      io.stdout(
        `perplexity ${result.ppl.toFixed(4)} (mean NLL ${result.nll.toFixed(5)} nats/token) over ${result.tokens.toLocaleString('en-US')} tokens of ${basename(file)}\n` +
          `  ${model.path} on ${device}, seq-len ${window}, stride ${stride ?? window}, ${result.seconds.toFixed(2)} s ` +
          `(${Math.round(result.tokens / result.seconds).toLocaleString('en-US')} tokens/s)\n`,
      );
      return 0;
    } finally {
      await runner.release();
      model.close();
    }
  },
};

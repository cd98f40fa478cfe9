import { openModel } from '../../model/open.js';
import { linears, linearStats, summarizeModel } from '../../model/inspect.js';
import type { Command } from '../args.js';

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'architecture, dimensions and every linear layer of a model',
  help: `Usage: eora inspect [MODEL] [--json]

Prints a model's architecture, dimensions, parameter count, tokenizer and every linear
module with its shape. MODEL is a Hugging Face directory (config.json + safetensors) or a
llama2.c .bin file; without it, the bundled TinyStories-656K model.

Options:
  --stats   also compute each linear's Frobenius norm and max |w|
  --json    print one JSON object instead of text
  -h, --help`,
  options: { json: { type: 'boolean' }, stats: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const model = await openModel(args.positionals[0]);
    try {
      const summary = summarizeModel(model);
      const withStats = args.values.stats === true;
      const rows = linears(model).map((linear) => {
        const params = linear.out * linear.in;
        if (!withStats) return { ...linear, params };
        const { frobenius, max_abs } = linearStats(model, linear.name);
        return { ...linear, params, frobenius, max_abs };
      });
      if (args.values.json) {
        io.stdout(JSON.stringify({ ...summary, linears: rows }, null, 2) + '\n');
        return 0;
      }
      const lines = [
        `${summary.architecture} (${summary.format}) at ${summary.path}`,
        `  family ${summary.family}, RoPE ${summary.rope}, ${summary.norms}`,
        `  hidden ${summary.hidden_size}, intermediate ${summary.intermediate_size}, ${summary.num_layers} layers, ` +
          `${summary.num_heads} heads (${summary.num_kv_heads} KV, head_dim ${summary.head_dim})`,
        `  vocab ${summary.vocab_size} (tokenizer ${summary.tokenizer_vocab_size}), max positions ${summary.max_position_embeddings}, ` +
          `tied embeddings ${summary.tie_word_embeddings ? 'yes' : 'no'}, dtype ${summary.dtype}`,
        `  ${summary.parameters.toLocaleString('en-US')} parameters, ${rows.length} linear modules:`,
        '',
        table(rows, withStats),
      ];
      io.stdout(lines.join('\n') + '\n');
      return 0;
    } finally {
      model.close();
    }
  },
};

function table(rows: { name: string; out: number; in: number; params: number; frobenius?: number; max_abs?: number }[], withStats: boolean): string {
  const width = Math.max(...rows.map((r) => r.name.length), 6);
  const header = `  ${'module'.padEnd(width)}  ${'shape [out, in]'.padEnd(16)} ${'params'.padStart(10)}` + (withStats ? `  ${'‖W‖_F'.padStart(10)}  ${'max |w|'.padStart(9)}` : '');
  const body = rows.map(
    (r) =>
      `  ${r.name.padEnd(width)}  ${`[${r.out}, ${r.in}]`.padEnd(16)} ${r.params.toLocaleString('en-US').padStart(10)}` +
      (withStats ? `  ${r.frobenius!.toFixed(4).padStart(10)}  ${r.max_abs!.toFixed(5).padStart(9)}` : ''),
  );
  return [header, ...body].join('\n');
}

import type { Method } from '../../compensate/decomposition.js';
import { runCompensate } from '../../experiment/commands.js';
import { deviceOption, intOption, modulesOption, modulesHelp, runDirArgument, stringOption, UsageError, type Command } from '../args.js';
import { onInterrupt } from '../interrupt.js';
import { noticePrinter, progressBar } from '../progress.js';

const METHODS: readonly Method[] = ['eora', 'svd', 'scaled-svd'];

export const compensateCommand: Command = {
  name: 'compensate',
  summary: 'fit low-rank adapters (EoRA, SVD) that win back a compressed run’s error',
  help: `Usage: eora compensate RUN_DIR [--method eora|svd|scaled-svd[,…]] [--ranks 8,16,32] [--budget PARAMS]
                       [--adapter-bits 4|8] [--r-max N] [--modules SPEC] [--eval-tokens N] [--json]

For every linear of the run, one decomposition of ΔW = W − W_c against the stored calibration
statistics C gives the spectra and err(r) curves (RUN_DIR/spectra/<linear>.json) and adapters
B·A at each rank (RUN_DIR/adapters/<method>-r<r>.safetensors, lora_A [r, in], lora_B [out, r]).
Each variant W_c + B·A is scored by held-out perplexity (RUN_DIR/metrics.json, same text and
token budget as \`eora compress\` used).

Options:
  --method M[,M…]     eora | svd | scaled-svd (default eora)
  --ranks R[,R…]      adapter ranks (default 8,16,32)
  --budget PARAMS     also allocate per-linear ranks under Σ r·(in+out) ≤ PARAMS over the
                      EoRA err(r) curves (variant eora-budget-PARAMS; needs eora in --method)
  --adapter-bits B    quantize A and B with RTN, 4 or 8 bits, groups of 128 (Σ split √Σ each)
  --r-max N           decomposition rank (default min(out, in, 512))
${modulesHelp(22)}
  --eval-tokens N     held-out tokens (default: the run's, else 20000; 0: skip perplexity)
  --device D          cpu | cuda | webgpu (default cpu)
  --json              print {"method", "ranks": [{rank, mean_rel_output_error, adapter_params, ppl}]}
                      (an array of those with several methods; "budget" added to eora's)
  --quiet             no progress bar
  -h, --help`,
  options: {
    method: { type: 'string' },
    ranks: { type: 'string' },
    budget: { type: 'string' },
    'adapter-bits': { type: 'string' },
    'r-max': { type: 'string' },
    modules: { type: 'string' },
    'eval-tokens': { type: 'string' },
    device: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const dir = runDirArgument(args);
    const methods = (stringOption(args, 'method') ?? 'eora').split(',').map((m) => m.trim());
    for (const m of methods) if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`--method: unknown method "${m}" (known: ${METHODS.join(', ')})`);
    const ranks = (stringOption(args, 'ranks') ?? '8,16,32').split(',').map((r) => {
      const v = Number(r.trim());
      if (!/^\d+$/.test(r.trim()) || v < 1) throw new UsageError(`--ranks: "${r}" is not a positive integer`);
      return v;
    });
    const budget = intOption(args, 'budget', { min: 0 });
    if (budget !== undefined && !methods.includes('eora')) throw new UsageError('--budget allocates over EoRA curves: include eora in --method');
    const bits = intOption(args, 'adapter-bits');
    if (bits !== undefined && bits !== 4 && bits !== 8) throw new UsageError(`--adapter-bits must be 4 or 8, got ${bits}`);
    const rMax = intOption(args, 'r-max', { min: 1 });
    if (rMax !== undefined && Math.max(...ranks) > rMax) throw new UsageError(`--ranks go up to ${Math.max(...ranks)}, above --r-max ${rMax}`);
    const modules = modulesOption(args);
    const evalTokens = intOption(args, 'eval-tokens', { min: 0 });
    const quiet = args.values.quiet === true || args.values.json === true;
    const bar = progressBar(io, 'compensate', 'steps', quiet);
    const interrupt = onInterrupt(io, 'at the next layer');
    const summary = await runCompensate(dir, {
      methods: methods as Method[],
      ranks,
      budget,
      adapterBits: bits as 4 | 8 | undefined,
      rMax,
      modules,
      evalTokens,
      device: deviceOption(args),
      signal: interrupt.signal,
      onLog: noticePrinter(io),
      onProgress: (e) => bar.update(e.done, e.total),
    }).finally(() => {
      interrupt.dispose();
      bar.finish();
    });

    if (args.values.json) {
      const objects = summary.methods.map((m) => ({ method: m.method, ranks: m.ranks, ...(m.method === 'eora' && summary.budget ? { budget: summary.budget } : {}) }));
      io.stdout(JSON.stringify(objects.length === 1 ? objects[0] : objects, null, 2) + '\n');
      return 0;
    }
    const lines: string[] = [`${summary.run}`];
    if (summary.ppl) lines.push(`  perplexity: original ${summary.ppl.original.toFixed(3)}, compressed ${summary.ppl.compressed.toFixed(3)}`);
    for (const m of summary.methods) {
      for (const r of m.ranks) {
        lines.push(`  ${`${m.method}-r${r.rank}`.padEnd(16)} output error ${r.mean_rel_output_error.toExponential(3)}  ${r.adapter_params} params${r.ppl !== null ? `  ppl ${r.ppl.toFixed(3)}` : ''}`);
      }
    }
    const b = summary.budget;
    if (b) {
      lines.push(`  ${b.name.padEnd(16)} output error ${b.mean_rel_output_error.toExponential(3)}  ${b.adapter_params} params${b.ppl !== null ? `  ppl ${b.ppl.toFixed(3)}` : ''} (${b.strategy}; uniform at this budget: ${b.uniform.mean_rel_output_error.toExponential(3)})`);
    }
    lines.push(`  ${summary.seconds.toFixed(1)} s`);
    io.stdout(lines.join('\n') + '\n');
    return 0;
  },
};

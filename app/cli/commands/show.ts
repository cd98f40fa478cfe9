import { formatResultsTable, readRunResults } from '../../experiment/results.js';
import { UsageError, type Command } from '../args.js';

export const showCommand: Command = {
  name: 'show',
  summary: 'print a run’s results table: every variant’s metrics with deltas',
  help: `Usage: eora show RUN_DIR [--json]

Prints the results of a run: per variant (original, compressed, svd-r{r}, eora-r{r},
eora-budget-{params}) its method, rank and adapter parameters; perplexity per text with the
difference to the original and to the compressed model; per task acc and acc_norm ± standard
error with both differences. A difference is marked * when it is significant by a paired
two-sided test at 95 %: |Δ| > 1.96·SE of the paired difference (tasks: over the same n items,
SE = sd of the per-item differences / √n; perplexity: over the same n evaluation windows,
cluster SE of the NLL difference, tested on NLL). The same rule stars the UI's Benchmarks.

Options:
  --json   print {run, status, model, compression, eval, columns: [{key, kind, source,
           higher_is_better, n, unit}], variants: [{name, method, rank, adapter_params,
           cells: {"ppl:<text>"|"acc:<task>"|"acc_norm:<task>": {value, stderr,
           delta_original, delta_compressed, stderr_delta_original, stderr_delta_compressed,
           significant_original, significant_compressed}}}], samples, notes}
  -h, --help`,
  options: { json: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const dir = args.positionals[0];
    if (!dir) throw new UsageError('RUN_DIR is required (see `eora runs`)');
    const results = readRunResults(dir);
    io.stdout(args.values.json ? JSON.stringify(results, null, 2) + '\n' : formatResultsTable(results) + '\n');
    return 0;
  },
};

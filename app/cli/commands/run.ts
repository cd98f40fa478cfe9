import { basename, extname, join } from 'node:path';
import { requireFitsModel } from '../../engine/experiments.js';
import { parseExperimentFile } from '../../experiment/config.js';
import { runExperiment, type ExperimentStage } from '../../experiment/run.js';
import { defaultRunsRoot } from '../../experiment/runs.js';
import { readRunResults, formatResultsTable } from '../../experiment/results.js';
import { deviceOption, modulesHelp, modulesOption, stringOption, UsageError, type Command } from '../args.js';
import { onInterrupt } from '../interrupt.js';
import { noticePrinter, progressBar, type ProgressBar } from '../progress.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'run an experiment file end to end: compress, compensate, evaluate every variant',
  help: `Usage: eora run EXPERIMENT.(json|yaml) [--out RUN_DIR] [--device D] [--modules SPEC] [--json] [--quiet]

Runs the experiment into one run folder: compression layer by layer, compensation (adapters per
method × rank and per budget), then every variant — original, compressed, svd-r{r}, eora-r{r},
eora-budget-{params} — scored on the same perplexity texts and task items, and greedy samples
of the config's prompts. Ctrl-C stops at the next checkpoint; rerunning the same command
continues where it stopped and ends with the same results. Examples: resources/experiments/.

Options:
  --out RUN_DIR   run folder (default: <runs root>/<experiment file name>; runs root:
                  $EORA_RUNS_DIR, else the user's data folder, see \`eora runs --help\`)
  --device D      cpu | cuda | webgpu (overrides the file's "device")
${modulesHelp(18, "overrides the file's compensation.modules")}
  --json          print the results (as \`eora show RUN --json\`) instead of the table
  --quiet         no progress display
  -h, --help`,
  options: {
    out: { type: 'string' },
    device: { type: 'string' },
    modules: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const file = args.positionals[0];
    if (!file) {
      throw new UsageError('EXPERIMENT file is required (e.g. resources/experiments/default.json)');
    }
    const config = parseExperimentFile(file);
    const modules = modulesOption(args);
    if (modules && !config.compensation) throw new UsageError(`--modules: ${file} has no compensation section to apply it to`);
    if (modules) config.compensation!.modules = modules;
    await requireFitsModel(config, file); // before any work: lengths, ranks, group sizes, memory
    if (stringOption(args, 'device') !== undefined) config.device = deviceOption(args);
    const out = stringOption(args, 'out') ?? join(defaultRunsRoot(), basename(file, extname(file)));
    const quiet = args.values.quiet === true || args.values.json === true;
    const interrupt = onInterrupt(io, 'at the next checkpoint');
    const bars = new Map<ExperimentStage, ProgressBar>();
    let last: ProgressBar | null = null;
    if (!quiet) io.stderr(`eora run: ${file} → ${out}\n`);
    try {
      await runExperiment(config, out, {
        signal: interrupt.signal,
        onLog: noticePrinter(io),
        onProgress: (e) => {
          let bar = bars.get(e.stage);
          if (!bar) {
            last?.finish();
            bar = progressBar(io, e.stage.padEnd(10), e.stage === 'compress' ? 'layers' : e.stage === 'compensate' ? 'linears' : e.stage === 'evaluate' ? 'steps' : 'variants', quiet);
            bars.set(e.stage, bar);
            last = bar;
          }
          bar.update(e.done, e.total);
        },
      });
    } catch (error) {
      if (interrupt.signal.aborted) {
        (last as ProgressBar | null)?.finish();
        io.stderr(`eora run: stopped; rerun the same command to continue (${out})\n`);
        return 130;
      }
      throw error;
    } finally {
      interrupt.dispose();
      (last as ProgressBar | null)?.finish();
    }
    const results = readRunResults(out);
    io.stdout(args.values.json ? JSON.stringify(results, null, 2) + '\n' : formatResultsTable(results) + '\n');
    return 0;
  },
};

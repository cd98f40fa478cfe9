// The long run jobs: start or resume an experiment, add a variant, export one. Each reports
// progress through the job context and stops at its next checkpoint when cancelled.
import { join } from 'node:path';
import { homedir } from 'node:os';
import type { JobContext } from '../jobs/context.js';
import type { WorkerConfig } from '../jobs/messages.js';
import type { Exported, JobOutcome, ParsedParams, VariantAdded } from '../contract/index.js';

const notYet = (what: string) => new Error(`${what} is not available in this build of the engine yet`);

export function runJobs(_config: WorkerConfig) {
  return {
    runsRoot(): string {
      return process.env.EORA_RUNS_DIR ?? join(homedir(), 'eora-runs');
    },
    async 'experiment.start'(_params: ParsedParams<'experiment.start'>, _context: JobContext): Promise<JobOutcome> {
      throw notYet('experiment.start');
    },
    async 'experiment.resume'(_params: ParsedParams<'experiment.resume'>, _context: JobContext): Promise<JobOutcome> {
      throw notYet('experiment.resume');
    },
    async 'run.addVariant'(_params: ParsedParams<'run.addVariant'>, _context: JobContext): Promise<VariantAdded> {
      throw notYet('run.addVariant');
    },
    async 'run.export'(_params: ParsedParams<'run.export'>, _context: JobContext): Promise<Exported> {
      throw notYet('run.export');
    },
  };
}

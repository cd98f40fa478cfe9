// A small real run of the bundled TinyStories-656K for the export tests: GPTQ 4-bit (group 32)
// on 16 calibration windows of 64 tokens, EoRA adapters at rank 8 plus a budget variant, and
// perplexity on 2,000 held-out tokens. Made once per test file, under the OS temp folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourcesPath } from '../../model/open.js';
import { openModel } from '../../model/open.js';
import { runCompensate } from '../../pipeline/compensate.js';
import { runCompress } from '../../pipeline/compress.js';
import { firstText, readMetrics, textName, type EvalConfig } from '../../pipeline/evaluate.js';
import { RunFolder } from '../../run/run.js';

export const EVAL_TOKENS = 2000;

export async function makeRun(quant = 'gptq:w4g32', options: { budget?: number; ranks?: number[] } = {}): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'eora-export-'));
  const out = join(root, 'run');
  const model = await openModel();
  try {
    await runCompress(model, {
      quant,
      prune: 'none',
      calibFile: resourcesPath('data', 'tinystories', 'calibration.txt'),
      samples: 16,
      seqLen: 64,
      seed: 0,
      activations: 'sequential',
      evalTokens: EVAL_TOKENS,
      evalFile: resourcesPath('data', 'tinystories', 'validation.txt'),
      device: 'cpu',
      out,
    });
  } finally {
    model.close();
  }
  await runCompensate(out, { methods: ['eora'], ranks: options.ranks ?? [8], budget: options.budget, device: 'cpu', rMax: 32 });
  return out;
}

/** The run's recorded perplexity of a variant on its first text, and that text's eval config. */
export function recordedPpl(run: string, variant: string): { ppl: number; config: EvalConfig } {
  const metrics = readMetrics(RunFolder.open(run));
  const config = firstText(metrics)!;
  return { ppl: metrics.variants[variant].ppl[textName(config.file)].ppl, config };
}

// A small real run of the bundled TinyStories-656K for the export tests: compression (GPTQ
// 4-bit, group 32 by default) on 16 calibration windows of 64 tokens, EoRA adapters at the
// given ranks (plus an optional budget variant), perplexity on 2,000 held-out tokens. Made once
// per test file, under the OS temp folder. The pipeline (a higher layer than export/) is passed
// in by the test files, which may import it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../model/open.js';
import type { Model } from '../../model/types.js';
import { readMetricsJson } from '../../run/files/metrics-json.js';
import { smallCompressOptions } from '../../model/testing/small-compress.js';

export const EVAL_TOKENS = 2000;

export interface Pipeline {
  runCompress: (model: Model, options: never) => Promise<unknown>;
  runCompensate: (dir: string, options: never) => Promise<unknown>;
}

export async function makeRun(pipeline: Pipeline, quant = 'gptq:w4g32', options: { budget?: number; ranks?: number[] } = {}): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'eora-export-')), 'run');
  const model = await openModel();
  try {
    await pipeline.runCompress(model, smallCompressOptions(out, quant, EVAL_TOKENS) as never);
  } finally {
    model.close();
  }
  await pipeline.runCompensate(out, { methods: ['eora'], ranks: options.ranks ?? [8], budget: options.budget, device: 'cpu', rMax: 32 } as never);
  return out;
}

export interface EvalText {
  file: string;
  tokens: number;
  seq_len: number;
}

/** The run's recorded perplexity of a variant on its first text, and that text's eval config. */
export function recordedPpl(run: string, variant: string): { ppl: number; config: EvalText } {
  const metrics = readMetricsJson(run);
  const text = metrics.eval!.perplexity[0];
  return { ppl: metrics.variants[variant].ppl[text.name].ppl, config: { file: text.file, tokens: text.tokens, seq_len: text.seq_len } };
}

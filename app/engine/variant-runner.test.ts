// "Try a variant": greedy generation with a run's variant gives exactly the continuation the
// experiment's samples stage recorded for that variant (same weights, same decoding), and the
// variants really differ from the original. A real e2e-small-like run of the bundled model.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExperiment } from '../experiment/config.js';
import { runExperiment } from '../experiment/run.js';
import { generate } from '../generate/generate.js';
import { openModel } from '../model/open.js';
import type { Model } from '../model/types.js';
import { withVariantRunner } from './variant-runner.js';

const dir = join(mkdtempSync(join(tmpdir(), 'eora-try-')), 'run');
let model: Model;

beforeAll(async () => {
  const config = parseExperiment(
    {
      calibration: { samples: 4, seq_len: 64, seed: 0 },
      compression: { quant: 'gptq:w3g32' },
      compensation: { methods: ['eora'], ranks: [8] },
      evaluation: { perplexity: [{ tokens: 200 }], generation: { prompts: ['Once upon a time'], max_new_tokens: 12 } },
    },
    'test',
  );
  await runExperiment(config, dir);
  model = await openModel();
}, 240_000);
afterAll(() => model?.close());

describe('generation with a variant', () => {
  it('continues the prompt exactly as the samples stage did, per variant', async () => {
    const samples = JSON.parse(readFileSync(join(dir, 'samples.json'), 'utf8')) as { variants: Record<string, { text: string }[]> };
    const texts: Record<string, string> = {};
    for (const name of ['compressed', 'eora-r8']) {
      texts[name] = await withVariantRunner(model, 'cpu', { dir, name }, async (runner) => (await generate(runner, 'Once upon a time', { maxNewTokens: 12, temperature: 0 })).text);
      expect(texts[name]).toBe(samples.variants[name][0].text);
    }
    expect(samples.variants.original[0].text).not.toBe(texts.compressed); // 3-bit weights change the greedy path
  }, 120_000);

  it('refuses a variant the run does not have, naming the file', async () => {
    await expect(withVariantRunner(model, 'cpu', { dir, name: 'eora-r99' }, async () => 0)).rejects.toThrow(/adapters\/eora-r99\.safetensors: missing/);
  });
});

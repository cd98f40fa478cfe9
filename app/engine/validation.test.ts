// One check of a config against its model, before any work (issue #16 item 7): the same
// {path, message} issues for the form (experiment.validate) and the CLI (`eora run`).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing/run.js';
import { checkAgainstModel, parseExperiment } from '../experiment/config.js';
import { openModel } from '../model/open.js';
import { validateExperiment } from './experiments.js';

const base = { compression: { quant: 'rtn:w4g32' }, compensation: { methods: ['eora'], ranks: [8] }, calibration: { samples: 2, seq_len: 32 } };

describe('checkAgainstModel (bundled model: hidden 128, k/v 64, MLP 384, 512 positions)', () => {
  const config = async () => (await openModel()).config;

  it('accepts a config that fits', async () => {
    expect(checkAgainstModel(parseExperiment(base, 'c'), await config())).toEqual([]);
  });

  it('names each field that does not fit the model', async () => {
    const bad = parseExperiment(
      { ...base, compression: { quant: 'gptq:w3g7' }, compensation: { methods: ['eora'], ranks: [8, 65] }, calibration: { samples: 2, seq_len: 1000 }, evaluation: { perplexity: [{ tokens: 100, seq_len: 600 }] } },
      'c',
    );
    expect(checkAgainstModel(bad, await config())).toEqual([
      { path: 'calibration.seq_len', message: "1000 is longer than the model's 512 positions (max_position_embeddings)" },
      { path: 'evaluation.perplexity[0].seq_len', message: "600 is longer than the model's 512 positions (max_position_embeddings)" },
      { path: 'compensation.ranks[1]', message: "rank 65 exceeds the smallest linear's size 64 (k_proj is [64, 128])" },
      { path: 'compression.quant', message: "group size 7 does not divide the linears' input sizes 128, 384" },
    ]);
  });

  it('refuses calibration sizes whose activations exceed half the memory', async () => {
    const big = parseExperiment({ ...base, calibration: { samples: 100_000, seq_len: 512 } }, 'c');
    const issues = checkAgainstModel(big, await config(), 8 * 2 ** 30);
    expect(issues).toEqual([{ path: 'calibration.samples', message: "100000 samples × 512 tokens × hidden 128 need 24.4 GiB for the calibration activations, over half of this machine's 8.0 GiB" }]);
  });
});

describe('experiment.validate and eora run use it', () => {
  it('validate lists the model issues; a bad prune spec is reported under compression.prune', async () => {
    expect(await validateExperiment({ ...base, calibration: { samples: 2, seq_len: 1000 } })).toEqual({
      ok: false,
      issues: [{ path: 'calibration.seq_len', message: "1000 is longer than the model's 512 positions (max_position_embeddings)" }],
    });
    const prune = await validateExperiment({ ...base, compression: { quant: 'none', prune: 'magnitude:1.5' } });
    expect(prune.ok).toBe(false);
    expect(prune.issues[0]!.path).toBe('compression.prune');
  });

  it('eora run refuses seq_len 1000 on a 512-position model before creating the run folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eora-validate-run-'));
    const file = join(dir, 'long.json');
    writeFileSync(file, JSON.stringify({ ...base, calibration: { samples: 2, seq_len: 1000 } }));
    const out = join(dir, 'out');
    const { code, stderr } = await runCli(['run', file, '--out', out]);
    expect(code).toBe(1);
    expect(stderr).toContain("calibration.seq_len: 1000 is longer than the model's 512 positions");
    expect(existsSync(out)).toBe(false);
  });
});

// `eora export` and `eora import-gptq` end to end on a tiny RTN w4g32 run, and their usage errors.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing/run.js';

describe('eora export / import-gptq', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eora-cli-export-'));
  const run = join(dir, 'run');

  it('exports every format, refuses a non-empty folder without --force, imports the GPTQ export back', async () => {
    expect((await runCli(['compress', '--quant', 'rtn:w4g32', '--samples', '4', '--seq-len', '32', '--eval-tokens', '0', '--out', run, '--json'])).code).toBe(0);
    expect((await runCli(['compensate', run, '--ranks', '4', '--eval-tokens', '0', '--json'])).code).toBe(0);
    for (const format of ['peft', 'merged', 'compressed', 'onnx']) {
      const variant = format === 'compressed' ? 'compressed' : 'eora-r4';
      const r = await runCli(['export', run, '--variant', variant, '--format', format, '--out', join(dir, format), '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ format, variant });
    }
    expect(existsSync(join(dir, 'compressed', 'gptq', 'quantize_config.json'))).toBe(true);
    const again = await runCli(['export', run, '--variant', 'eora-r4', '--format', 'peft', '--out', join(dir, 'peft')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/holds an earlier export; use --force to replace it/);
    expect((await runCli(['export', run, '--variant', 'eora-r4', '--format', 'peft', '--out', join(dir, 'peft'), '--force'])).code).toBe(0);

    const imported = await runCli(['import-gptq', join(dir, 'compressed', 'gptq'), '--model', 'resources/models/tinystories-656k', '--out', join(dir, 'imported'), '--samples', '4', '--seq-len', '32', '--json']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ method: 'gptq:w4g32', linears: 14 });
  });

  it('usage errors', async () => {
    expect((await runCli(['export', run, '--format', 'tflite', '--out', 'x'])).stderr).toMatch(/--format must be one of peft, merged, compressed, onnx, got "tflite"/);
    expect((await runCli(['export', run, '--format', 'peft'])).stderr).toMatch(/--out DIR is required/);
    expect((await runCli(['export', run, '--format', 'merged', '--out', join(dir, 'x'), '--dtype', 'f8'])).code).toBe(2);
    const missing = await runCli(['export', run, '--variant', 'nope', '--format', 'merged', '--out', join(dir, 'y')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no variant "nope" \(available: compressed, eora-r4\)/);
    expect((await runCli(['import-gptq', 'x', '--out', 'y'])).stderr).toMatch(/--model ORIGINAL_DIR is required/);
  });
});

// `eora compress` / `eora compensate` end to end on the bundled model (tiny settings), and their usage errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run.js';

describe('eora compress / compensate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eora-cli-compress-'));

  it('compress --json then compensate --json', async () => {
    const out = join(dir, 'run');
    const c = await runCli(['compress', '--quant', 'rtn:w4g32', '--samples', '4', '--seq-len', '32', '--eval-tokens', '0', '--out', out, '--json']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const summary = JSON.parse(c.stdout);
    expect(summary).toMatchObject({ method: 'rtn:w4g32', activations: 'sequential', ppl: null });
    expect(summary.linears).toHaveLength(14);
    expect(summary.linears[0].rel_output_error).toBeGreaterThan(0);
    expect(summary.mean_rel_output_error).toBeCloseTo(summary.linears.reduce((s: number, l: { rel_output_error: number }) => s + l.rel_output_error, 0) / 14, 12);

    const e = await runCli(['compensate', out, '--method', 'eora', '--ranks', '4,8', '--eval-tokens', '0', '--json']);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const result = JSON.parse(e.stdout);
    expect(result.method).toBe('eora');
    expect(result.ranks.map((r: { rank: number }) => r.rank)).toEqual([4, 8]);
    expect(result.ranks[1].mean_rel_output_error).toBeLessThan(result.ranks[0].mean_rel_output_error);
    expect(result.ranks[0]).toMatchObject({ adapter_params: 4 * 4864, ppl: null });
  });

  it('usage errors exit 2 with a clear message', async () => {
    expect(await runCli(['compress', '--quant', 'gptq:w3g32'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--out RUN_DIR is required') });
    expect(await runCli(['compress', '--quant', 'rtn:w4', '--prune', 'magnitude:0.5', '--out', join(dir, 'x')])).toMatchObject({ code: 2, stderr: expect.stringContaining('needs --prune sparsegpt') });
    expect(await runCli(['compress', '--quant', 'gptq:w9', '--out', join(dir, 'x')])).toMatchObject({ code: 2 });
    expect(await runCli(['compensate', join(dir, 'x'), '--method', 'lora'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown method "lora"') });
    expect(await runCli(['compensate', join(dir, 'x'), '--method', 'svd', '--budget', '1000'])).toMatchObject({ code: 2 });
    expect(await runCli(['compensate', join(dir, 'nothing')])).toMatchObject({ code: 1, stderr: expect.stringContaining('not a run folder') });
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    expect(await runCli(['compress', '--calib', empty, '--out', join(dir, 'y')])).toMatchObject({ code: 1, stderr: expect.stringContaining(`${empty}: the calibration file is empty`) });
  });
});

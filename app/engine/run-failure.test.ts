// A failed experiment keeps its real error where the runs list reads it (failed.json), also
// when it failed before run.json existed; the folder lists as failed, opens with that error,
// and can be deleted. Real engine jobs on the bundled model, no mocks.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directContext } from '../jobs/context.js';
import { runJobs } from './run-jobs.js';
import { deleteRunFolder, listRunFolders, readRunDetails } from './run-reader.js';

const config = (seqLen: number) => ({
  calibration: { samples: 2, seq_len: seqLen, seed: 0 },
  compression: { quant: 'rtn:w4g32' },
  evaluation: { perplexity: [{ tokens: 200 }] },
});

describe('failed experiments', () => {
  it('a config the model cannot run is refused before anything is written', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-refused-'));
    const dir = join(root, 'too-long');
    const jobs = runJobs({} as never);
    // Calibration windows longer than the bundled model's context: refused at the start (issue 16 item 7).
    await expect(jobs['experiment.start']({ config: config(100_000), dir }, directContext())).rejects.toThrow(/calibration\.seq_len/);
    expect(existsSync(dir)).toBe(false);
    expect(listRunFolders(root)).toEqual([]);
  }, 120_000);

  it('a run that fails once started lists as failed with the engine’s error, after any reload', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-failed-'));
    const dir = join(root, 'short-text');
    const text = join(root, 'two-words.txt');
    writeFileSync(text, 'Once upon\n');
    const jobs = runJobs({} as never);
    // A calibration text too short for one window fails inside the run, after its folder exists.
    const failure = await jobs['experiment.start']({ config: { ...config(64), calibration: { file: text, samples: 2, seq_len: 64, seed: 0 } }, dir }, directContext()).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).not.toBeNull();
    const row = listRunFolders(root).find((r) => r.dir === dir);
    expect(row).toMatchObject({ status: 'failed', error: failure, method: 'rtn:w4g32' });
    if (!existsSync(join(dir, 'run.json'))) {
      await expect(readRunDetails(dir)).rejects.toThrow(failure!);
      await expect(readRunDetails(dir)).rejects.not.toThrow(/not a run folder/);
    }
    rmSync(text);
    deleteRunFolder(dir);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);
});

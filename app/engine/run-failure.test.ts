// A failed experiment keeps its real error where the runs list reads it (failed.json), also
// when it failed before run.json existed; the folder lists as failed, opens with that error,
// and can be deleted. Real engine jobs on the bundled model, no mocks.
import { existsSync, mkdtempSync } from 'node:fs';
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
  it('a run that cannot start lists as failed with the engine’s error, after any reload', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-failed-'));
    const dir = join(root, 'too-long');
    const jobs = runJobs({} as never);
    // Calibration windows longer than the bundled model's context: refused once the model is open.
    const failure = await jobs['experiment.start']({ config: config(100_000), dir }, directContext()).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).not.toBeNull();
    const row = listRunFolders(root).find((r) => r.dir === dir);
    expect(row).toMatchObject({ status: 'failed', error: failure, method: 'rtn:w4g32' });
    await expect(readRunDetails(dir)).rejects.toThrow(failure!);
    await expect(readRunDetails(dir)).rejects.not.toThrow(/not a run folder/);
    deleteRunFolder(dir);
    expect(existsSync(dir)).toBe(false);
  }, 120_000);
});

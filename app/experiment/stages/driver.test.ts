// The stage driver keeps run.json's bookkeeping for every stage: running → done, stopped on
// cancel (no error), failed with the message; a finished stage with nothing left is skipped
// without touching run.json.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Model } from '../../model/types.js';
import { writeRunJson, type RunManifest } from '../../run/files/run-json.js';
import { RunFolder } from '../../run/run.js';
import { runStage, type Stage, type StageContext } from './driver.js';

function context(signal?: AbortSignal): StageContext {
  const dir = mkdtempSync(join(tmpdir(), 'eora-driver-'));
  const manifest: RunManifest = { format: 'eora-run', format_version: 1, workbench_version: '0', created: 'now', model: { path: '/m', format: 'huggingface', fingerprint: 'f' }, device: 'cpu', config: {}, records: {}, stages: {} };
  writeRunJson(dir, manifest);
  // These test stages never touch the model.
  return { run: RunFolder.open(dir), model: null as unknown as Model, device: 'cpu', signal };
}

const onDisk = (ctx: StageContext) => JSON.parse(readFileSync(join(ctx.run.dir, 'run.json'), 'utf8')) as RunManifest;

describe('stage driver', () => {
  it('records running while the stage works, then done with its seconds and this process as the writer', async () => {
    const ctx = context();
    let during: string | undefined;
    const stage: Stage<number, number> = { name: 'evaluate', run: async (c, x) => ((during = onDisk(c).stages.evaluate?.status), x * 2) };
    expect(await runStage(ctx, stage, 21)).toBe(42);
    expect(during).toBe('running');
    const record = onDisk(ctx);
    expect(record.stages.evaluate).toMatchObject({ status: 'done', seconds: expect.any(Number), started: expect.any(String), finished: expect.any(String) });
    expect((record.records.process as { pid: number }).pid).toBe(process.pid);
  });

  it('a failure is recorded with its message and rethrown; a cancel is stopped without an error', async () => {
    const ctx = context();
    await expect(runStage(ctx, { name: 'compensate', run: async () => Promise.reject(new Error('rank 99 exceeds')) }, null)).rejects.toThrow('rank 99 exceeds');
    expect(onDisk(ctx).stages.compensate).toMatchObject({ status: 'failed', error: 'rank 99 exceeds' });

    const controller = new AbortController();
    const cancelled = context(controller.signal);
    const stage: Stage<null, void> = { name: 'samples', run: async (c) => (controller.abort(new Error('cancelled')), c.signal!.throwIfAborted()) };
    await expect(runStage(cancelled, stage, null)).rejects.toThrow('cancelled');
    expect(onDisk(cancelled).stages.samples?.status).toBe('stopped');
    expect(onDisk(cancelled).stages.samples?.error).toBeUndefined();
  });

  it('a done stage with nothing left is resumed from the folder, run.json untouched; with work left it runs again', async () => {
    const ctx = context();
    let runs = 0;
    let left = false;
    const stage: Stage<null, string> = { name: 'compress', isComplete: () => !left, resume: () => 'from the folder', run: async () => `ran ${++runs}` };
    expect(await runStage(ctx, stage, null)).toBe('ran 1');
    const before = readFileSync(join(ctx.run.dir, 'run.json'), 'utf8');
    expect(await runStage(ctx, stage, null)).toBe('from the folder');
    expect(readFileSync(join(ctx.run.dir, 'run.json'), 'utf8')).toBe(before);
    left = true;
    expect(await runStage(ctx, stage, null)).toBe('ran 2');
    // A stage without `resume` (eora compensate: other ranks may be asked) always runs.
    expect(await runStage(ctx, { name: 'compensate', run: async () => 'a' }, null)).toBe('a');
    expect(await runStage(ctx, { name: 'compensate', run: async () => 'b' }, null)).toBe('b');
  });
});

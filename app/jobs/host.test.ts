// The engine host: calls run in the worker, progress arrives, cancel works even while the
// worker is busy inside onnxruntime, and a replaced worker keeps serving.
import { afterAll, describe, expect, it } from 'vitest';
import { ContractError, type Progress } from '../contract/index.js';
import { testEngine } from '../testing/engine.js';

const engine = testEngine(5000);
afterAll(() => engine.close());

describe('EngineHost', () => {
  it('rejects invalid params before they reach the worker', async () => {
    await expect(engine.call('model.generate', { prompt: 'x', maxNewTokens: 0 })).rejects.toMatchObject({
      code: 'invalid_params',
      message: expect.stringMatching(/^model\.generate: maxNewTokens: /),
    });
    await expect(engine.call('model.explode', {})).rejects.toMatchObject({ code: 'unknown_method' });
  });

  it('runs a long call with progress, and cancels it at the next progress point', async () => {
    const events: Progress[] = [];
    const controller = new AbortController();
    const call = engine.call(
      'model.perplexity',
      { seqLen: 64 }, // the whole bundled validation text in short windows: many progress points
      {
        signal: controller.signal,
        onProgress: (p) => {
          events.push(p);
          if (events.length === 2) controller.abort();
        },
      },
    );
    const error = await call.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ContractError);
    expect((error as ContractError).message).toBe('cancelled');
    expect((error as ContractError).code).toBe('cancelled');
    expect(events[0]).toMatchObject({ stage: 'scoring' });
    expect(events[0].total).toBeGreaterThan(events[0].done);
    const info = await engine.call('engine.info', {});
    expect(info.device).toBe('cpu');
  });

  it('lists a call in flight (jobs.active); another caller follows it by id and cancels it by id', async () => {
    let first!: () => void;
    const reported = new Promise<void>((resolve) => (first = resolve));
    const job = engine.call('model.perplexity', { seqLen: 64 }, { id: 'job-1', onProgress: () => first() });
    const jobEnd = job.then(() => null, (e: unknown) => e);
    await reported;
    const { jobs } = await engine.call('jobs.active', {});
    const listed = jobs.find((j) => j.id === 'job-1');
    expect(listed).toMatchObject({ method: 'model.perplexity', dir: null });
    expect(listed?.stages.scoring?.total).toBeGreaterThan(0);
    const followed: Progress[] = [];
    const attached = engine.call('jobs.attach', { id: 'job-1' }, { id: 'page-2', onProgress: (p) => followed.push(p) });
    await expect.poll(() => followed.length, { timeout: 300_000, interval: 50 }).toBeGreaterThan(0); // hang guard: a busy machine is slow
    expect(followed[0].stage).toBe('scoring');
    engine.cancel('job-1');
    await expect(attached).rejects.toMatchObject({ code: 'cancelled' });
    expect(await jobEnd).toMatchObject({ code: 'cancelled' });
    expect((await engine.call('jobs.active', {})).jobs.map((j) => j.id)).not.toContain('job-1');
    await expect(engine.call('jobs.attach', { id: 'gone' })).rejects.toMatchObject({ code: 'invalid_params' });
  });

  it('answers with the same greedy text as before after a cancel', async () => {
    const a = await engine.call('model.generate', { prompt: 'Once upon a time', maxNewTokens: 12 });
    const b = await engine.call('model.generate', { prompt: 'Once upon a time', maxNewTokens: 12 });
    expect(a.token_ids).toHaveLength(12);
    expect(b.token_ids).toEqual(a.token_ids);
    expect(a.text).toMatch(/Lily|little|girl/);
  });

  it('answers quick reads (runs.list, model.inspect, validate) while a long job runs (issue #15 item 8)', async () => {
    let first!: () => void;
    const reported = new Promise<void>((resolve) => (first = resolve));
    let jobEnded = false;
    const job = engine.call('model.perplexity', { seqLen: 16 }, { id: 'long-job', onProgress: () => first() });
    const jobEnd = job.then(() => null, (e: unknown) => e).finally(() => (jobEnded = true));
    await reported;
    const [list, summary, validation] = await Promise.all([
      engine.call('runs.list', {}),
      engine.call('model.inspect', {}),
      engine.call('experiment.validate', { config: { compression: { quant: 'rtn:w4g32' } } }),
    ]);
    // Had the reads queued behind the job, it would have ended first.
    expect(jobEnded).toBe(false);
    expect(Array.isArray(list.runs)).toBe(true);
    expect(summary.linears.length).toBeGreaterThan(0);
    expect(Array.isArray(validation.issues)).toBe(true);
    engine.cancel('long-job');
    expect(await jobEnd).toMatchObject({ code: 'cancelled' });
  });
});

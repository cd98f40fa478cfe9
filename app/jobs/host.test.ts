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
    const started = performance.now();
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
    // Cancelled cooperatively, well before the hard-cancel timer (5 s) would replace the worker.
    expect(performance.now() - started).toBeLessThan(60_000);
    const info = await engine.call('engine.info', {});
    expect(info.device).toBe('cpu');
  });

  it('answers with the same greedy text as before after a cancel', async () => {
    const a = await engine.call('model.generate', { prompt: 'Once upon a time', maxNewTokens: 12 });
    const b = await engine.call('model.generate', { prompt: 'Once upon a time', maxNewTokens: 12 });
    expect(a.token_ids).toHaveLength(12);
    expect(b.token_ids).toEqual(a.token_ids);
    expect(a.text).toMatch(/Lily|little|girl/);
  });
});

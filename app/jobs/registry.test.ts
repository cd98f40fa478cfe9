// The job registry: what a reloaded page learns about a job in flight, and following one.
import { describe, expect, it } from 'vitest';
import { ContractError } from '../contract/index.js';
import { JobRegistry } from './registry.js';

const clock = () => {
  let t = Date.UTC(2026, 0, 1);
  return { now: () => t, tick: (ms: number) => (t += ms) };
};

describe('JobRegistry', () => {
  it('lists a job in flight with its dir, latest progress per stage, stage times and a log line per change', () => {
    const c = clock();
    const jobs = new JobRegistry({ now: c.now });
    jobs.start('a1', 'experiment.start', { config: {}, dir: '/runs/x' });
    jobs.progress('a1', { stage: 'compress', done: 0, total: 4, label: 'layer 0' });
    c.tick(1000);
    jobs.progress('a1', { stage: 'compress', done: 1, total: 4, label: 'layer 0' }); // same line: no new log line
    jobs.progress('a1', { stage: 'compress', done: 4, total: 4, label: 'layer 1' });
    c.tick(500);
    jobs.progress('a1', { stage: 'compensate', done: 0, total: 2 });
    const [job] = jobs.list();
    expect(job).toMatchObject({ id: 'a1', method: 'experiment.start', dir: '/runs/x', started: '2026-01-01T00:00:00.000Z' });
    expect(job.last).toEqual({ stage: 'compensate', done: 0, total: 2 });
    expect(Object.keys(job.stages)).toEqual(['compress', 'compensate']);
    expect(job.stages.compress).toEqual({ stage: 'compress', done: 4, total: 4, label: 'layer 1' });
    const t0 = Date.UTC(2026, 0, 1);
    expect(job.times).toEqual({ compress: { start: t0, end: t0 + 1000 }, compensate: { start: t0 + 1500 } });
    expect(job.log.map((l) => l.text)).toEqual(['compress · layer 0 (0/4)', 'compress · layer 1 (4/4)', 'compensate (0/2)']);
    // A snapshot, not a live view.
    job.log.length = 0;
    expect(jobs.list()[0].log).toHaveLength(3);
  });

  it('keeps only the most recent log lines, and drops a job when it ends', () => {
    const jobs = new JobRegistry({ logLines: 3 });
    jobs.start('b', 'model.perplexity', {});
    for (let i = 0; i < 10; i++) jobs.progress('b', { stage: 'scoring', done: i, total: 10, label: `window ${i}` });
    expect(jobs.list()[0].log.map((l) => l.text)).toEqual(['scoring · window 7 (7/10)', 'scoring · window 8 (8/10)', 'scoring · window 9 (9/10)']);
    expect(jobs.list()[0].dir).toBeNull();
    jobs.end('b', { ok: true, result: 1 });
    expect(jobs.list()).toEqual([]);
  });

  it('a watcher gets the progress from then on and the job’s own answer', async () => {
    const jobs = new JobRegistry();
    jobs.start('c', 'experiment.resume', { dir: '/runs/y' });
    jobs.progress('c', { stage: 'compress', done: 1, total: 3 });
    const seen: number[] = [];
    const followed = jobs.watch('c', (p) => seen.push(p.done));
    jobs.progress('c', { stage: 'compress', done: 2, total: 3 });
    jobs.end('c', { ok: true, result: { dir: '/runs/y', status: 'done' } });
    await expect(followed).resolves.toEqual({ dir: '/runs/y', status: 'done' });
    expect(seen).toEqual([2]);
    // An attach that comes just after the end still gets the answer.
    await expect(jobs.watch('c', undefined)).resolves.toEqual({ dir: '/runs/y', status: 'done' });
  });

  it('passes a cancelled job’s error on; stopping a watch leaves the job running', async () => {
    const jobs = new JobRegistry();
    jobs.start('d', 'experiment.start', {});
    const controller = new AbortController();
    const first = jobs.watch('d', undefined, controller.signal);
    const second = jobs.watch('d', undefined);
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: 'cancelled' });
    expect(jobs.list().map((j) => j.id)).toEqual(['d']);
    jobs.end('d', { ok: false, error: new ContractError('cancelled', 'cancelled') });
    await expect(second).rejects.toBeInstanceOf(ContractError);
    await expect(jobs.watch('d', undefined)).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('refuses an unknown job by name, and forgets the oldest ended jobs past the limit', async () => {
    const jobs = new JobRegistry({ keepEnded: 2 });
    await expect(jobs.watch('nope', undefined)).rejects.toMatchObject({ code: 'invalid_params', message: expect.stringContaining('"nope"') });
    for (const id of ['e1', 'e2', 'e3']) {
      jobs.start(id, 'engine.info', {});
      jobs.end(id, { ok: true, result: id });
    }
    await expect(jobs.watch('e1', undefined)).rejects.toMatchObject({ code: 'invalid_params' });
    await expect(jobs.watch('e3', undefined)).resolves.toBe('e3');
  });
});

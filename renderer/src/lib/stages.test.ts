import { describe, expect, it } from 'vitest';
import type { Progress } from '../../../app/contract/index.js';
import { closeTimes, nextTimes, plannedStages, stageRows, remaining } from './stages.js';

const p = (stage: string, done: number, total: number): Progress => ({ stage, done, total });
const all = ['compress', 'compensate', 'evaluate', 'samples'];

describe('plannedStages', () => {
  it('lists an experiment’s stages, leaving out what its config does not do', () => {
    expect(plannedStages('experiment.start', { config: { compensation: { ranks: [8] } } })).toEqual(all);
    expect(plannedStages('experiment.start', { config: { evaluation: { generation: { prompts: [] } } } })).toEqual(['compress', 'evaluate']);
    expect(plannedStages('experiment.resume', { dir: '/r' })).toEqual(all);
    expect(plannedStages('run.addVariant', { dir: '/r' })).toEqual(['evaluate', 'samples']);
    expect(plannedStages('run.export', { dir: '/r' })).toEqual([]);
  });
});

describe('stageRows', () => {
  it('shows every planned stage from the start, pending', () => {
    const rows = stageRows(all, {}, {}, 'running');
    expect(rows.map((r) => `${r.name}:${r.status}`)).toEqual(['compress:pending', 'compensate:pending', 'evaluate:pending', 'samples:pending']);
  });

  it('marks earlier stages done with their duration, the reporting one running, later ones pending', () => {
    const times = { compress: { start: 1000, end: 4500 }, compensate: { start: 4500 } };
    const rows = stageRows(all, { compress: p('compress', 2, 2), compensate: p('compensate', 3, 14) }, times, 'running');
    expect(rows.map((r) => [r.name, r.status, r.seconds])).toEqual([
      ['compress', 'done', 3.5],
      ['compensate', 'running', null],
      ['evaluate', 'pending', null],
      ['samples', 'pending', null],
    ]);
  });

  it('calls a never-reported stage before a reporting one skipped, and a cancelled one stopped', () => {
    const rows = stageRows(all, { compress: p('compress', 1, 2), evaluate: p('evaluate', 0, 6) }, {}, 'cancelled');
    expect(rows.map((r) => r.status)).toEqual(['done', 'skipped', 'stopped', 'pending']);
  });

  it('appends stages the engine reports beyond the plan, and ends everything when the job is done', () => {
    const rows = stageRows(['write'], { write: p('write', 1, 3), verify: p('verify', 0, 1) }, {}, 'done');
    expect(rows.map((r) => `${r.name}:${r.status}`)).toEqual(['write:done', 'verify:done']);
  });
});

describe('stage times', () => {
  it('starts a stage at its first report and ends it when full or when the next one reports', () => {
    let t = nextTimes({}, p('compress', 0, 2), 100);
    t = nextTimes(t, p('compress', 1, 2), 200);
    expect(t).toEqual({ compress: { start: 100 } });
    t = nextTimes(t, p('compensate', 0, 14), 300);
    expect(t).toEqual({ compress: { start: 100, end: 300 }, compensate: { start: 300 } });
    t = nextTimes(t, p('compensate', 14, 14), 900);
    expect(t.compensate).toEqual({ start: 300, end: 900 });
    t = nextTimes(t, p('evaluate', 0, 6), 950);
    expect(t.compensate).toEqual({ start: 300, end: 900 });
    expect(closeTimes(t, 2000).evaluate).toEqual({ start: 950, end: 2000 });
  });

  it('a resume says the stages before the one it reports first were done earlier', () => {
    const reported = { evaluate: { stage: 'evaluate', done: 1, total: 4 } };
    const rows = stageRows(['compress', 'compensate', 'evaluate', 'samples'], reported, {}, 'running', true);
    expect(rows.map((r) => r.status)).toEqual(['earlier', 'earlier', 'running', 'pending']);
  });

  it('remaining: the running stage’s ETA and the stages still to come', () => {
    const reported = { compress: { stage: 'compress', done: 4, total: 4 }, compensate: { stage: 'compensate', done: 3, total: 14, eta_s: 12.5 } };
    const rows = stageRows(['compress', 'compensate', 'evaluate', 'samples'], reported, {}, 'running');
    expect(remaining(rows)).toEqual({ eta_s: 12.5, stagesAfter: 2 });
    expect(remaining(stageRows(['compress'], { compress: { stage: 'compress', done: 4, total: 4 } }, {}, 'done'))).toEqual({ eta_s: null, stagesAfter: 0 });
  });
});

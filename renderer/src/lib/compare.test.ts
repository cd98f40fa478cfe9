import { describe, expect, it } from 'vitest';
import type { RunDetails } from '../../../app/contract/index.js';
import { configDiff, runDeltas, sortRows, summarize } from './compare.js';

function run(name: string, compressed: number, eora: number, config: Record<string, unknown>): RunDetails {
  const ppl = (value: number, stderr: number) => ({ 'ppl:t': { value, stderr } });
  return {
    dir: `/runs/${name}`, name, status: 'done', created: '2026-01-01', model: '/m', device: 'cpu', method: 'gptq:w3g32', config, stages: [], layers: [],
    metrics: [{ key: 'ppl:t', label: 'perplexity (t)', lowerIsBetter: true, n: 10, unit: 'windows' }],
    variants: [
      { name: 'original', method: null, rank: null, adapter_params: null, metrics: ppl(40, 1) },
      { name: 'compressed', method: 'gptq:w3g32', rank: null, adapter_params: null, metrics: ppl(compressed, 1) },
      { name: 'eora-r8', method: 'eora', rank: 8, adapter_params: 100, metrics: ppl(eora, 1) },
      { name: 'svd-r8', method: 'svd', rank: 8, adapter_params: 100, metrics: ppl(eora + 1, 1) },
    ],
    samples: [], spectra: [], methods: [],
  };
}

describe('compare runs', () => {
  const a = run('a', 50, 45, { experiment: { name: 'w3', compress: { bits: 3 }, compensation: { ranks: [8] } } });
  const b = run('b', 44, 41, { experiment: { name: 'w4', compress: { bits: 4 }, compensation: { ranks: [8] } } });

  it('summary: experiment name, the best adapter variant and the gap it recovers', () => {
    expect(summarize(a)).toMatchObject({ experiment: 'w3', compressed: 50, best: { variant: 'eora-r8', value: 45 }, gap: 50 });
    expect(sortRows([summarize(a), summarize(b)], 'compressed', false).map((r) => r.name)).toEqual(['b', 'a']);
    expect(sortRows([summarize(a), summarize(b)], 'experiment', true).map((r) => r.name)).toEqual(['b', 'a']);
  });

  it('deltas: B − A with the unpaired SE and the 95 % rule', () => {
    const d = runDeltas(a, b);
    expect(d.variants).toEqual(['original', 'compressed', 'eora-r8', 'svd-r8']);
    expect(d.cells['eora-r8']['ppl:t']).toEqual({ a: 45, b: 41, delta: -4, stderr: Math.SQRT2, significant: true });
    expect(d.cells.original['ppl:t'].significant).toBe(false);
  });

  it('config diff: only the keys that differ', () => {
    expect(configDiff([a.config, b.config])).toEqual([
      { path: 'experiment.compress.bits', values: ['3', '4'] },
      { path: 'experiment.name', values: ['"w3"', '"w4"'] },
    ]);
  });
});

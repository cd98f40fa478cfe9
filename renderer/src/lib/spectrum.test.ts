import { describe, expect, it } from 'vitest';
import { cumulativeEnergy, energyShare, errorAt, heatLevel, logTickLabel, normalizedEigenvalues, parseRank, precisionNote, splitLinearName, summedCurve } from './spectrum.js';

describe('spectrum helpers', () => {
  it('normalizes eigenvalues by the trace', () => {
    expect(normalizedEigenvalues([6, 3, 1], 10)).toEqual([0.6, 0.3, 0.1]);
    expect(() => normalizedEigenvalues([1], 0)).toThrow(/trace/);
  });

  it('energy shares sum to 1 and the cumulative curve rises to 1', () => {
    const sigma = [3, 2, 1, 0.5];
    const share = energyShare(sigma);
    expect(share[0]).toBeCloseTo(9 / 14.25, 15);
    expect(share.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
    const cumulative = cumulativeEnergy(sigma);
    expect(cumulative).toHaveLength(4);
    expect(cumulative[1]).toBeCloseTo(13 / 14.25, 15);
    expect(cumulative.at(-1)).toBeCloseTo(1, 15);
    // Property: nondecreasing for any input.
    for (let trial = 0; trial < 50; trial++) {
      const random = Array.from({ length: 1 + (trial % 17) }, (_, i) => Math.abs(Math.sin(trial * 7 + i)) * 10);
      const c = cumulativeEnergy(random);
      for (let i = 1; i < c.length; i++) expect(c[i]).toBeGreaterThanOrEqual(c[i - 1] - 1e-15);
    }
  });


  it('splits linear names into layer and module', () => {
    expect(splitLinearName('model.layers.12.self_attn.q_proj')).toEqual({ layer: 12, module: 'q_proj' });
    expect(splitLinearName('model.layers.0.mlp.down_proj')).toEqual({ layer: 0, module: 'down_proj' });
  });

  it('ranks: integers 1…r_max only, each wrong input with its own message', () => {
    expect(parseRank('16', 128)).toEqual({ rank: 16, error: null });
    expect(parseRank(' 128 ', 128)).toEqual({ rank: 128, error: null });
    expect(parseRank('', 128).error).toBe('Enter a rank from 1 to 128.');
    expect(parseRank('-3', 128).error).toBe("Rank must be from 1 to 128 (this run's largest rank, r_max), not -3.");
    expect(parseRank('0', 128).error).toMatch(/from 1 to 128/);
    expect(parseRank('1000', 128).error).toMatch(/not 1000/);
    expect(parseRank('2.5', 128).error).toBe('Rank must be a whole number from 1 to 128, not "2.5".');
    expect(parseRank('abc', 128).rank).toBeNull();
  });

  it('errorAt never clamps: a rank past the curve has no value', () => {
    expect(errorAt([0.5, 0.3, 0.1], 2)).toBe(0.1);
    expect(errorAt([0.5, 0.3, 0.1], 3)).toBeNaN();
    expect(errorAt([0.5, 0.3, 0.1], -1)).toBeNaN();
    expect(errorAt([0.5, 0.3, 0.1], 1.5)).toBeNaN();
  });

  it('summedCurve adds the curves rank by rank, to the shortest', () => {
    expect(summedCurve([[1, 0.5, 0.25], [2, 1]])).toEqual([3, 1.5]);
    expect(summedCurve([])).toEqual([]);
    // Property: the sum at r is at least each curve at r (errors are non-negative).
    const curves = Array.from({ length: 5 }, () => Array.from({ length: 9 }, () => Math.random()));
    const sum = summedCurve(curves);
    for (let r = 0; r < 9; r++) for (const c of curves) expect(sum[r]).toBeGreaterThanOrEqual(c[r]);
  });

  it('log ticks read 1e-7, 2e-7, 0.01, 0.05, 1, 100 and nothing else', () => {
    expect(logTickLabel(1e-7)).toBe('1e-7');
    expect(logTickLabel(0.0000001)).toBe('1e-7');
    expect(logTickLabel(0.001)).toBe('1e-3');
    expect(logTickLabel(0.01)).toBe('0.01');
    expect(logTickLabel(0.1)).toBe('0.1');
    expect(logTickLabel(1)).toBe('1');
    expect(logTickLabel(1000)).toBe('1000');
    expect(logTickLabel(1e5)).toBe('1e5');
    expect(logTickLabel(2e-7)).toBe('2e-7');
    expect(logTickLabel(5e-4)).toBe('5e-4');
    expect(logTickLabel(0.05)).toBe('0.05');
    expect(logTickLabel(200)).toBe('200');
    expect(logTickLabel(3e-7)).toBe('');
    expect(logTickLabel(0.07)).toBe('');
    expect(logTickLabel(0)).toBe('');
    // On an axis of many decades only the powers of ten.
    expect(logTickLabel(2e-7, 5)).toBe('');
    expect(logTickLabel(1e-7, 5)).toBe('1e-7');
  });

  it('heatLevel: log position in [lo, hi], the same for a value whatever else is shown', () => {
    expect(heatLevel(1e-3, 1e-3, 1e-1)).toBe(0);
    expect(heatLevel(1e-1, 1e-3, 1e-1)).toBe(1);
    expect(heatLevel(1e-2, 1e-3, 1e-1)).toBeCloseTo(0.5, 12);
    expect(heatLevel(1e-5, 1e-3, 1e-1)).toBe(0);
    expect(heatLevel(NaN, 1e-3, 1e-1)).toBe(0);
  });
});

describe('precisionNote', () => {
  it('says exact, a stated bound, or nothing', () => {
    expect(precisionNote('Eigenvalues', 0)).toBe('Eigenvalues: exact (dense float64 decomposition).');
    expect(precisionNote('Eigenvalues', 9.4e-4)).toBe('Eigenvalues: within 9e-4 relative (randomized subspace iteration, stopped at plotting precision).');
    expect(precisionNote('σ', Number.POSITIVE_INFINITY)).toMatch(/before its precision could be estimated/);
    expect(precisionNote('σ', null)).toBeNull();
    expect(precisionNote('σ', undefined)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { cumulativeEnergy, energyShare, errorAt, normalizedEigenvalues, splitLinearName } from './spectrum.js';

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

  it('reads err(r), clamping past the curve', () => {
    expect(errorAt([1, 0.5, 0.25], 1)).toBe(0.5);
    expect(errorAt([1, 0.5, 0.25], 99)).toBe(0.25);
    expect(errorAt([1, 0.5], -3)).toBe(1);
  });

  it('splits linear names into layer and module', () => {
    expect(splitLinearName('model.layers.12.self_attn.q_proj')).toEqual({ layer: 12, module: 'q_proj' });
    expect(splitLinearName('model.layers.0.mlp.down_proj')).toEqual({ layer: 0, module: 'down_proj' });
  });
});

import { describe, expect, it } from 'vitest';
import { budgetVariantName, describeVariant, rankVariantName, ranksVariantName } from './metrics.js';

describe('variant names', () => {
  it('say their method and rank', () => {
    expect(describeVariant('original', 'gptq:w3g32')).toEqual({ method: null, rank: null });
    expect(describeVariant('compressed', 'gptq:w3g32')).toEqual({ method: 'gptq:w3g32', rank: null });
    expect(describeVariant(rankVariantName('scaled-svd', 16), null)).toEqual({ method: 'scaled-svd', rank: 16 });
    expect(describeVariant(budgetVariantName('eora', 77824), null)).toEqual({ method: 'eora', rank: 'budget' });
    expect(describeVariant(ranksVariantName('eora', 38848, [8, 16]), null)).toEqual({ method: 'eora', rank: 'budget' });
  });

  it('explicit allocations of equal size get different names', () => {
    const a = ranksVariantName('eora', 1000, [8, 16]);
    expect(a).toMatch(/^eora-ranks-1000-[0-9a-f]{8}$/);
    expect(ranksVariantName('eora', 1000, [16, 8])).not.toBe(a);
    expect(ranksVariantName('eora', 1000, [8, 16])).toBe(a);
  });
});

import { describe, expect, it } from 'vitest';
import { deltaE, deuteranopia, METHOD_COLOURS, tint, variantColours } from './palette.js';

describe('palette', () => {
  it('methods stay apart under deuteranopia (the old svd/scaled-svd pair did not)', () => {
    const old = deltaE(deuteranopia('#b5654a'), deuteranopia('#5a8f3c'));
    expect(old).toBeCloseTo(3.2, 1); // the ΔE≈3
    const hues = Object.values(METHOD_COLOURS);
    // Closest pair: bluish green vs reddish purple, ΔE 18.1 under deuteranopia.
    for (let i = 0; i < hues.length; i++) for (let j = i + 1; j < hues.length; j++) expect(deltaE(deuteranopia(hues[i]), deuteranopia(hues[j]))).toBeGreaterThan(5 * old);
  });

  it('shades per rank within a method: the highest rank darkest, each distinct', () => {
    const colours = variantColours([
      { name: 'original', method: null, rank: null },
      { name: 'compressed', method: 'gptq:w3g32', rank: null },
      { name: 'eora-r8', method: 'eora', rank: 8 },
      { name: 'eora-r32', method: 'eora', rank: 32 },
      { name: 'eora-r16', method: 'eora', rank: 16 },
      { name: 'eora-budget-77824', method: 'eora', rank: null },
    ]);
    expect(colours['eora-r32']).toBe(METHOD_COLOURS.eora);
    expect(colours['eora-r8']).toBe(tint(METHOD_COLOURS.eora, 0.5));
    expect(new Set(Object.values(colours)).size).toBe(6);
    expect(colours['eora-budget-77824']).toBe(METHOD_COLOURS.budget);
    expect(tint('#000000', 0.5)).toBe('#808080');
  });
});

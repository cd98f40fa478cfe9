import { describe, expect, it } from 'vitest';
import { columnsUntil, geometricGap, perColumnRate } from './aitken.js';
import { rng } from '../linalg/random.js';

describe('geometricGap', () => {
  it('recovers λ − θ exactly for θ(s) = λ − a·x^s at unequal sizes (random a, x, sizes)', () => {
    const random = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const a = 0.1 + 10 * random.uniform();
      const x = 0.5 + 0.499 * random.uniform(); // per-column rate, slow tails included
      const s0 = 32 + Math.floor(200 * random.uniform());
      const s1 = s0 + 8 + Math.floor(100 * random.uniform());
      const s2 = s1 + 8 + Math.floor(150 * random.uniform());
      const theta = (s: number) => -a * x ** s; // λ = 0
      const gap = geometricGap(theta(s2) - theta(s1), theta(s1) - theta(s0), s2 - s1, s1 - s0);
      const exact = a * x ** s2;
      expect(Math.abs(gap / exact - 1), `x = ${x}, sizes ${s0}, ${s1}, ${s2}`).toBeLessThan(1e-6);
    }
  });

  it('equal steps: the textbook δ·ρ/(1 − ρ)', () => {
    expect(geometricGap(0.25, 0.5, 64, 64)).toBeCloseTo((0.25 * 0.5) / 0.5, 14);
    expect(geometricGap(0.5, 0.5, 64, 64)).toBe(Infinity);
  });

  it('a change that does not shrink like one rate has no estimate', () => {
    // q = δ/δ' tends to h/h' as x → 1: at or above it no x fits.
    expect(geometricGap(1.2, 1, 120, 100)).toBe(Infinity);
    expect(geometricGap(1.19, 1, 120, 100)).toBeGreaterThan(100); // x near 1: a long way to go
    expect(geometricGap(0, 1, 120, 100)).toBe(0);
    expect(geometricGap(1, 0, 120, 100)).toBe(Infinity);
  });

  it('the growing-step estimate sits between the equal-step guesses of the slower and faster rate', () => {
    // A longer last step with the same ratio q means a faster per-column rate than equal steps imply.
    const equal = geometricGap(0.5, 1, 100, 100);
    const growing = geometricGap(0.5, 1, 120, 100);
    expect(growing).toBeLessThan(equal);
    expect(growing).toBeGreaterThan(0);
  });

  it('perColumnRate recovers x, and columnsUntil the columns after which a·x^s meets a target (random a, x, sizes)', () => {
    const random = rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const a = 0.1 + 10 * random.uniform();
      const x = 0.5 + 0.499 * random.uniform();
      const s0 = 32 + Math.floor(200 * random.uniform());
      const s1 = s0 + 8 + Math.floor(100 * random.uniform());
      const s2 = s1 + 8 + Math.floor(150 * random.uniform());
      const theta = (s: number) => -a * x ** s;
      const rate = perColumnRate(theta(s2) - theta(s1), theta(s1) - theta(s0), s2 - s1, s1 - s0);
      expect(Math.abs(rate! / x - 1), `x = ${x}`).toBeLessThan(1e-9);
      const gap = a * x ** s2;
      const target = gap * 10 ** (-1 - 3 * random.uniform());
      const more = columnsUntil(gap, target, rate);
      expect(Math.abs((a * x ** (s2 + more)) / target - 1)).toBeLessThan(1e-6);
    }
  });

  it('columnsUntil: 0 when the target is met, Infinity without a rate', () => {
    expect(columnsUntil(1e-4, 1e-3, 0.9)).toBe(0);
    expect(columnsUntil(1e-2, 1e-3, undefined)).toBe(Infinity);
    expect(columnsUntil(1e-2, 0, 0.9)).toBe(Infinity);
    expect(perColumnRate(1.2, 1, 120, 100)).toBeUndefined();
    expect(perColumnRate(0.25, 0.5, 64, 64)).toBeCloseTo(0.5 ** (1 / 64), 14);
  });
});

// The significance rule of the results table: paired, two-sided, 95 % (|Δ| > 1.96·SE), the same
// verdict from either side, and the perplexity's own standard error from its windows.
import { describe, expect, it } from 'vitest';
import type { VariantEntry } from '../run/metrics.js';
import { cellOf, isSignificant, pairedStderr, windowMeanStderr, Z95 } from './results.js';

const task = { kind: 'acc' as const, source: 't' };
const ppl = { kind: 'ppl' as const, source: 'text' };

function items(bits: string): VariantEntry {
  const acc = [...bits].filter((b) => b === '1').length / bits.length;
  return { name: bits, method: null, rank: null, adapter: null, adapter_params: null, ppl: {}, tasks: { t: { acc, acc_norm: acc, stderr: { acc: 0.1, acc_norm: 0.1 }, n: bits.length, truncated: 0, skipped: 0, seconds: 0, per_item: { acc: bits, acc_norm: bits } } } };
}

function windows(nll: number[], tokens: number[]): VariantEntry {
  const N = tokens.reduce((a, b) => a + b, 0);
  const mean = nll.reduce((s, m, w) => s + m * tokens[w], 0) / N;
  return { name: 'w', method: null, rank: null, adapter: null, adapter_params: null, ppl: { text: { ppl: Math.exp(mean), nll: mean, tokens: N, seconds: 0, windows: { tokens, nll } } }, tasks: {} };
}

/** A seeded LCG: reproducible random inputs. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('significance: paired two-sided 95 %', () => {
  it('stars |Δ| > 1.96·SE, not |Δ| > SE; a zero difference never', () => {
    expect(Z95).toBe(1.96);
    expect(isSignificant(0.1, 0.1)).toBe(false); // one SE
    expect(isSignificant(0.19, 0.1)).toBe(false); // 1.9 SE
    expect(isSignificant(-0.25, 0.1)).toBe(true); // 2.5 SE, either sign
    expect(isSignificant(0, 0)).toBe(false);
    expect(isSignificant(0.1, null)).toBeNull();
  });

  it('tasks: one flipped item in 20 is not significant; the same verdict and SE from either side', () => {
    const a = '1'.repeat(10) + '0'.repeat(10);
    const b = '1'.repeat(11) + '0'.repeat(9);
    // d has one −1 among 20: mean −0.05, SE = sqrt((0.95² + 19·0.05²)/19/20) = 0.05 → |Δ| = 1 SE.
    expect(pairedStderr(a, b)).toBeCloseTo(0.05, 12);
    const ab = cellOf(task, items(a), items(b), items(b));
    const ba = cellOf(task, items(b), items(a), items(a));
    expect(ab).toMatchObject({ delta_original: expect.closeTo(-0.05, 12), significant_original: false });
    expect(ba).toMatchObject({ delta_original: expect.closeTo(0.05, 12), significant_original: false });
    expect(ab.stderr_delta_original).toBeCloseTo(ba.stderr_delta_original!, 12);
    // Seven flips one way out of 20: Δ = 0.35, SE = sqrt((7·0.65² + 13·0.35²)/19/20) ≈ 0.1094 → 3.2 SE.
    const c = '1'.repeat(17) + '0'.repeat(3);
    expect(cellOf(task, items(c), items(a), undefined).significant_original).toBe(true);
  });

  it('perplexity: the SE from windows, the test on NLL, symmetric in ppl units', () => {
    // One window of 4 targets and one of 2, mean NLLs 1 and 2: NLL = (4 + 4)/6 = 4/3;
    // Σ n²(m − 4/3)² = 16/9 + 4·4/9 = 32/9; se = sqrt(2 · 32/9)/6.
    expect(windowMeanStderr({ tokens: [4, 2], nll: [1, 2] })).toBeCloseTo(Math.sqrt(64 / 9) / 6, 12);
    const a = windows([1.0, 1.1, 0.9, 1.2], [5, 5, 5, 5]);
    const b = windows([1.3, 1.35, 1.25, 1.5], [5, 5, 5, 5]);
    const ab = cellOf(ppl, a, b, b);
    const ba = cellOf(ppl, b, a, a);
    expect(ab.stderr).toBeCloseTo(a.ppl.text.ppl * windowMeanStderr(a.ppl.text.windows!)!, 12);
    expect(ab.stderr_delta_original).toBeCloseTo(ba.stderr_delta_original!, 12);
    expect(ab.significant_original).toBe(ba.significant_original);
    expect(ab.significant_original).toBe(true);
  });

  it('property: on random paired items, significance matches the float64 reference and is symmetric', () => {
    const next = random(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 5 + Math.floor(next() * 60);
      const p = next();
      const flip = next() * 0.4;
      let a = '';
      let b = '';
      for (let i = 0; i < n; i++) {
        const x = next() < p ? '1' : '0';
        a += x;
        b += next() < flip ? (x === '1' ? '0' : '1') : x;
      }
      // Reference: explicit arrays, two-pass mean and variance in float64.
      const d = [...a].map((x, i) => Number(x) - Number(b[i]));
      const mean = d.reduce((s, v) => s + v, 0) / n;
      const se = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) / n);
      const forward = cellOf(task, items(a), items(b), undefined);
      const backward = cellOf(task, items(b), items(a), undefined);
      expect(forward.stderr_delta_original).toBeCloseTo(se, 12);
      expect(forward.significant_original).toBe(mean !== 0 && Math.abs(mean) > 1.96 * se);
      expect(backward.significant_original).toBe(forward.significant_original);
    }
  });
});

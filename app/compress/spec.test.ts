import { describe, expect, it } from 'vitest';
import { compressLinear, METHODS } from './index.js';
import { bitsPerWeight, linearMetrics } from './metrics.js';
import { formatMethod, parseMethod, type MethodSpec } from './spec.js';
import { correlatedMoment, randomLayer } from './testing/layers.js';
import type { CompressResult } from './types.js';

describe('method specs', () => {
  const parsed: [string, MethodSpec][] = [
    ['none', { method: 'none' }],
    ['rtn:w4g128', { method: 'rtn', quant: { bits: 4, groupSize: 128, sym: false } }],
    ['rtn:w4', { method: 'rtn', quant: { bits: 4, groupSize: -1, sym: false } }],
    ['gptq:w3g32', { method: 'gptq', quant: { bits: 3, groupSize: 32, sym: false }, actOrder: false, staticGroups: false, percdamp: 0.01, blockSize: 128 }],
    ['gptq:w4g128,act,static,sym,damp=0.1,block=64', { method: 'gptq', quant: { bits: 4, groupSize: 128, sym: true }, actOrder: true, staticGroups: true, percdamp: 0.1, blockSize: 64 }],
    ['sparsegpt:2:4', { method: 'sparsegpt', sparsity: { kind: 'nm', n: 2, m: 4 }, percdamp: 0.01, blockSize: 128 }],
    ['sparsegpt:0.5', { method: 'sparsegpt', sparsity: { kind: 'unstructured', p: 0.5 }, percdamp: 0.01, blockSize: 128 }],
    ['wanda:0.5', { method: 'wanda', sparsity: { kind: 'unstructured', p: 0.5 } }],
    ['magnitude:2:4', { method: 'magnitude', sparsity: { kind: 'nm', n: 2, m: 4 } }],
    ['sparsegpt:2:4+w4g128', { method: 'sparsegpt', sparsity: { kind: 'nm', n: 2, m: 4 }, quant: { bits: 4, groupSize: 128, sym: false }, percdamp: 0.01, blockSize: 128 }],
    ['sparsegpt:4:8+w3,sym', { method: 'sparsegpt', sparsity: { kind: 'nm', n: 4, m: 8 }, quant: { bits: 3, groupSize: -1, sym: true }, percdamp: 0.01, blockSize: 128 }],
  ];
  for (const [text, spec] of parsed) {
    it(`parses '${text}' and formats it back`, () => {
      expect(parseMethod(text)).toEqual(spec);
      expect(formatMethod(spec)).toBe(text);
    });
  }

  const errors: [string, string][] = [
    ['', 'empty method spec (e.g. gptq:w4g128, sparsegpt:2:4, none)'],
    ['foo', "unknown method 'foo' (known: none, rtn, gptq, magnitude, wanda, sparsegpt)"],
    ['foo:w4', "unknown method 'foo' (known: none, rtn, gptq, magnitude, wanda, sparsegpt)"],
    ['none:w4', "'none' takes no arguments, got 'none:w4'"],
    ['gptq:w9g128', 'bits must be 2–8, got 9'],
    ['rtn:w1', 'bits must be 2–8, got 1'],
    ['rtn:w4g0', 'group size must be a positive integer, or -1 for one group per output channel; got 0'],
    ['rtn:4bit', "rtn expects a quantization like 'w4g128' (4 bits, groups of 128) or 'w4' (per output channel), got '4bit'"],
    ['gptq', "gptq expects a quantization like 'w4g128' (4 bits, groups of 128) or 'w4' (per output channel), got ''"],
    ['gptq:w4g128,foo', "unknown option 'foo' for gptq (known: act, static, sym, damp, block)"],
    ['wanda:0.5,sym', "unknown option 'sym' for wanda (it takes none)"],
    ['gptq:w4,static', "gptq option 'static' needs a group size (e.g. w4g128), got 'w4'"],
    ['gptq:w4,act,act', "option 'act' given twice"],
    ['gptq:w4,damp', "option 'damp' needs a value (e.g. damp=0.01)"],
    ['gptq:w4,act=1', "option 'act' takes no value, got 'act=1'"],
    ['gptq:w4,damp=-1', "damp must be a number ≥ 0, got '-1'"],
    ['gptq:w4,block=0', "block must be a positive integer, got '0'"],
    ['sparsegpt:5:4', 'N:M sparsity keeps N of every M weights, so N must not exceed M; got 5:4'],
    ['magnitude:0:4', 'N:M sparsity needs positive integers, got 0:4'],
    ['wanda:1.5', 'sparsity must be in [0, 1), got 1.5'],
    ['wanda:half', "wanda expects a sparsity like '0.5' or an N:M pattern like '2:4', got 'half'"],
    ['wanda:0.5+w4', "only sparsegpt prunes and quantizes in one pass; 'wanda:0.5+w4' is not supported"],
    ['sparsegpt:0.5,sym', "sparsegpt option 'sym' needs a quantization part (e.g. sparsegpt:2:4+w4g128,sym)"],
    ['sparsegpt:2:4+w4+w8', "expected <sparsity>[+<quantization>], got '2:4+w4+w8'"],
  ];
  for (const [text, message] of errors) {
    it(`rejects '${text}'`, () => {
      expect(() => parseMethod(text)).toThrow(message);
    });
  }
});

describe('compressLinear', () => {
  const layer = randomLayer(16, 64, 71);
  const moment = correlatedMoment(64, 72);

  it('runs every method from its spec, with calibration where needed', () => {
    for (const spec of ['none', 'rtn:w4g16', 'gptq:w4g16,act', 'magnitude:2:4', 'wanda:0.5', 'sparsegpt:0.5', 'sparsegpt:2:4+w4g32']) {
      const result = compressLinear(spec, layer, moment);
      expect([result.out, result.in, result.wc.length]).toEqual([16, 64, 1024]);
      const name = spec.split(':')[0] as keyof typeof METHODS;
      expect(result.quant !== undefined).toBe(spec.includes(':w') || spec.includes('+w'));
      expect(result.mask !== undefined).toBe(METHODS[name].kind === 'prune');
    }
    expect(Array.from(compressLinear('none', layer).wc)).toEqual(Array.from(layer.w));
  });

  it('says which methods need calibration, and checks shapes', () => {
    expect(() => compressLinear('gptq:w4g16', layer)).toThrow('gptq needs calibration statistics (C = Σ x xᵀ and nTokens)');
    expect(() => compressLinear('sparsegpt:2:4', layer)).toThrow('sparsegpt needs calibration statistics (C = Σ x xᵀ and nTokens)');
    expect(() => compressLinear('rtn:w4g48', layer)).toThrow('group size 48 does not divide the 64 input columns');
    expect(() => compressLinear('magnitude:2:4', { w: new Float32Array(16 * 6), out: 16, in: 6 })).toThrow('N:M group size M = 4 does not divide the 6 input columns');
    expect(() => compressLinear('rtn:w4', { w: new Float32Array(3), out: 0, in: 3 })).toThrow('weight shape must be positive integers, got [0, 3]');
  });
});

describe('metrics', () => {
  it('matches hand-computed values', () => {
    // W = I₂, C = diag(1, 3), W_c keeps only W₀₀: ΔW = diag(0, −1).
    const layer = { w: Float32Array.from([1, 0, 0, 1]), out: 2, in: 2 };
    const result: CompressResult = { wc: Float32Array.from([1, 0, 0, 0]), out: 2, in: 2, mask: Uint8Array.from([1, 0, 0, 0]) };
    const m = linearMetrics(layer, result, { C: Float64Array.from([1, 0, 0, 3]), nTokens: 4 });
    expect(m.relWeightError).toBeCloseTo(1 / Math.SQRT2, 12);
    expect(m.relOutputError).toBeCloseTo(3 / 4, 12); // tr(ΔW C ΔWᵀ) = 3, tr(W C Wᵀ) = 4
    expect(m.sparsity).toBe(0.75);
    expect(m.zeroFraction).toBe(0.75);
    expect(m.bitsPerWeight).toBe(16);
    expect(linearMetrics(layer, result).relOutputError).toBeNull();
  });

  it('counts codes plus 16-bit scale and zero per (row, group), and g_idx', () => {
    const layer = randomLayer(8, 128, 3);
    const moment = correlatedMoment(128, 4);
    const bpw = (spec: string) => bitsPerWeight(compressLinear(spec, layer, moment), 8, 128);
    expect(bpw('rtn:w4g128')).toBe(4 + 32 / 128);
    expect(bpw('rtn:w4')).toBe(4 + 32 / 128);
    expect(bpw('rtn:w3g32')).toBe(3 + 32 / 32);
    expect(bpw('gptq:w4g32,act')).toBe(4 + 1 + 32 / 8); // g_idx: 32 bits per input column, over 8 rows
    expect(bpw('gptq:w4g32,act,static')).toBe(5);
    expect(bpw('sparsegpt:2:4+w4g64')).toBe(4.5);
  });
});

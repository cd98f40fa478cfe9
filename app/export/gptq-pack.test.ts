// GPTQ packing: against a slow bit-string reference, and pack → unpack (app/model/gptq.ts)
// giving back identical codes and dequantized weights — for real GPTQ results with and
// without act-order, at 2, 3, 4 and 8 bits, in both checkpoint formats.
import { describe, expect, it } from 'vitest';
import { gptq } from '../compress/gptq.js';
import { dequantize } from '../compress/quantizer.js';
import { correlatedMoment, randomLayer } from '../compress/testing/layers.js';
import type { QuantState } from '../compress/types.js';
import { rng } from '../linalg/random.js';
import { dequantizeGptq, unpackBits, unpackLinear } from '../model/gptq.js';
import { chooseFormat, packBits, packLinear } from './gptq-pack.js';

/** Reference: each column's codes as a string of bits, least significant first, cut into 32-bit words. */
function packReference(codes: number[], n: number, cols: number, bits: number): number[] {
  const words: number[] = new Array((n * bits * cols) / 32).fill(0);
  for (let col = 0; col < cols; col++) {
    let stream = '';
    for (let k = 0; k < n; k++) for (let b = 0; b < bits; b++) stream += (codes[k * cols + col] >> b) & 1;
    for (let w = 0; w < stream.length / 32; w++) {
      let value = 0;
      for (let b = 0; b < 32; b++) value += Number(stream[w * 32 + b]) * 2 ** b;
      words[w * cols + col] = value | 0; // as int32
    }
  }
  return words;
}

describe('GPTQ bit packing', () => {
  for (const bits of [2, 3, 4, 8]) {
    it(`${bits}-bit: words equal the bit-string reference and unpack to the same codes`, () => {
      const r = rng(bits);
      const n = 64;
      const cols = 5;
      const codes = Array.from({ length: n * cols }, () => Math.floor(r.uniform() * 2 ** bits));
      const words = packBits(codes, n, cols, bits);
      expect(Array.from(words)).toEqual(packReference(codes, n, cols, bits));
      expect(Array.from(unpackBits(words, cols, n, bits))).toEqual(codes);
    });
  }

  it('4-bit words hold 8 codes, low nibble first (AutoGPTQ’s qweight)', () => {
    const codes = [1, 2, 3, 4, 5, 6, 7, 15]; // one column
    expect(packBits(codes, 8, 1, 4)[0]).toBe(0xf7654321 | 0);
  });
});

describe('pack → unpack of real GPTQ results', () => {
  const cases = [
    { bits: 4, groupSize: 32, actOrder: false, sym: false },
    { bits: 4, groupSize: 32, actOrder: true, sym: false },
    { bits: 4, groupSize: 32, actOrder: true, sym: true },
    { bits: 3, groupSize: 32, actOrder: true, sym: false },
    { bits: 2, groupSize: 64, actOrder: false, sym: false },
    { bits: 8, groupSize: -1, actOrder: false, sym: false },
  ];
  for (const c of cases) {
    it(`w${c.bits}g${c.groupSize}${c.actOrder ? ' act-order' : ''}${c.sym ? ' sym' : ''}: identical codes, scales, zeros and W_c`, () => {
      const [out, n] = [64, 128];
      const layer = randomLayer(out, n, 7);
      const result = gptq(layer, correlatedMoment(n, 11), { bits: c.bits, groupSize: c.groupSize, sym: c.sym, actOrder: c.actOrder });
      const q = result.quant!;
      expect(q.gIdx !== undefined).toBe(c.actOrder && c.groupSize !== -1);
      const format = chooseFormat([q.zeros]);
      const packed = packLinear(q, out, n, format);
      expect(packed.qweight.length).toBe(((n * c.bits) / 32) * out);
      const back = unpackLinear({ ...packed, gIdx: packed.gIdx }, out, n, { bits: c.bits, group_size: c.groupSize, desc_act: c.actOrder, sym: c.sym, checkpoint_format: format });
      expect(Array.from(back.codes)).toEqual(Array.from(q.codes));
      expect(Array.from(back.scales)).toEqual(Array.from(q.scales));
      expect(Array.from(back.zeros)).toEqual(Array.from(q.zeros));
      expect(back.gIdx ? Array.from(back.gIdx) : undefined).toEqual(q.gIdx ? Array.from(q.gIdx) : undefined);
      const w = dequantizeGptq(back, out, n);
      expect(Array.from(w)).toEqual(Array.from(dequantize(q, out, n)));
      expect(Array.from(w)).toEqual(Array.from(result.wc));
    });
  }

  it('zero points of 0 need gptq_v2; the classic format stores z − 1', () => {
    const q: QuantState = { bits: 4, groupSize: 32, sym: false, codes: new Uint8Array(32 * 32).fill(3), scales: new Float32Array(32).fill(0.5), zeros: new Float32Array(32).fill(8) };
    expect(chooseFormat([q.zeros])).toBe('gptq');
    expect(packLinear(q, 32, 32, 'gptq').qzeros[0]).toBe(0x77777777);
    expect(packLinear(q, 32, 32, 'gptq_v2').qzeros[0] | 0).toBe(0x88888888 | 0);
    q.zeros[5] = 0;
    expect(chooseFormat([q.zeros])).toBe('gptq_v2');
    expect(() => packLinear(q, 32, 32, 'gptq')).toThrow(/zero point 0 does not fit the gptq layout/);
  });
});

// The WebAssembly BF16 widening against the scalar bit shift, bit for bit, with its NaN/±Inf
// count: lengths that end mid-vector and cross chunks, every class of value (±0, subnormals,
// ±Inf, NaN payloads), and a reader at an offset.
import { describe, expect, it } from 'vitest';
import { readBf16 } from './bf16.js';
import { bf16ToF32 } from './safetensors.js';

/** Halves with every exponent class, `bad` of them NaN or ±Inf at seeded places. */
function halves(count: number, bad: number, seed: number): Uint16Array {
  const h = new Uint16Array(count);
  let s = seed;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < count; i++) {
    h[i] = next() & 0xffff;
    if ((h[i] & 0x7f80) === 0x7f80) h[i] ^= 0x0080; // finite unless planted below
  }
  const special = [0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81]; // +Inf, −Inf, NaN, NaN with sign and payload, signalling NaN
  for (let j = 0; j < bad; j++) h[next() % count] = special[j % special.length];
  return h;
}

const fileOf = (h: Uint16Array, at: number) => {
  const bytes = new Uint8Array(at + 2 * h.length);
  bytes.set(new Uint8Array(h.buffer), at);
  return (target: Uint8Array, offset: number) => target.set(bytes.subarray(offset, offset + target.length));
};

describe('readBf16', () => {
  for (const [count, bad] of [[0, 0], [7, 0], [8, 1], [1000, 0], [(1 << 18) - 3, 0], [(1 << 18) * 2 + 13, 0], [(1 << 18) + 9, 4]]) {
    it(`widens ${count} halves bit for bit and counts ${bad} non-finite`, () => {
      const h = halves(count, bad, count + 1);
      const expected = bf16ToF32(h);
      const planted = h.reduce((n, x) => n + ((x & 0x7f80) === 0x7f80 ? 1 : 0), 0);
      const out = new Float32Array(count).fill(Number.NaN); // stale contents must not survive
      expect(readBf16(fileOf(h, 6), 6, out)).toBe(planted);
      expect(new Uint32Array(out.buffer)).toEqual(new Uint32Array(expected.buffer));
      expect(planted === 0).toBe(bad === 0);
    });
  }

  it('writes into a view at an offset and leaves the rest of its buffer alone', () => {
    const h = halves(37, 0, 9);
    const backing = new Float32Array(50).fill(-1);
    const view = backing.subarray(5, 42);
    expect(readBf16(fileOf(h, 0), 0, view)).toBe(0);
    expect(Array.from(view)).toEqual(Array.from(bf16ToF32(h)));
    expect([...backing.subarray(0, 5), ...backing.subarray(42)]).toEqual(new Array(13).fill(-1));
  });

  it("a reader's error passes through", () => {
    const failing = () => {
      throw new Error('the file ended');
    };
    expect(() => readBf16(failing, 0, new Float32Array(10))).toThrow('the file ended');
  });
});

import { describe, expect, it } from 'vitest';
import { rng } from '../../linalg/random.js';
import { s32, u32 } from '../../wasm/encode.js';
import { GroupQuantizer } from '../quantizer.js';
import { gatherTransposed } from '../sweep.js';
import { randomOrder } from '../testing/layers.js';
import { MAX_WORKSPACE_BYTES, Workspace, workspaceBytes } from './kernels.js';

/** Decodes LEB128 (signed or not) back to a number: the encoder's inverse. */
function leb(bytes: number[], signed: boolean): number {
  let value = 0;
  let shift = 0;
  for (const byte of bytes) {
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  return signed && bytes[bytes.length - 1] & 0x40 ? value - 2 ** shift : value;
}

describe('wasm encoder', () => {
  it('LEB128 round-trips, every byte but the last has its continuation bit', () => {
    const random = rng(3);
    const values = [0, 1, 63, 64, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, ...Array.from({ length: 200 }, () => Math.floor(random.uniform() * 2 ** 32))];
    for (const v of values) {
      const bytes = u32(v);
      expect(leb(bytes, false)).toBe(v);
      expect(bytes.slice(0, -1).every((b) => b & 0x80)).toBe(true);
      const signed = v | 0;
      expect(leb(s32(signed), true)).toBe(signed);
    }
    expect(s32(-1)).toEqual([0x7f]);
    expect(s32(64)).toEqual([0xc0, 0x00]);
  });
});

describe('Workspace.rank1 (f32x4)', () => {
  for (const out of [1, 3, 4, 7, 64, 1027]) {
    it(`equals Math.fround(y − Math.fround(a·x)) bit for bit, out = ${out} (lane tails), other rows untouched`, () => {
      const random = rng(out);
      const ws = new Workspace(out, 20, 16, 16);
      for (let i = 0; i < ws.panel.length; i++) ws.panel[i] = random.normal();
      for (let i = 0; i < ws.err.length; i++) ws.err[i] = random.normal() * 1e-3;
      const expected = Float32Array.from(ws.panel);
      const coef = Float64Array.from({ length: 13 }, () => random.normal());
      ws.rank1(5, 9, coef);
      for (let t = 0; t < coef.length; t++) {
        const a = Math.fround(coef[t]); // the coefficients travel as float32
        for (let r = 0; r < out; r++) {
          const at = (5 + t) * out + r;
          expected[at] = Math.fround(expected[at] - Math.fround(a * ws.err[9 * out + r]));
        }
      }
      let differ = 0;
      for (let i = 0; i < expected.length; i++) differ += +!Object.is(expected[i], ws.panel[i]);
      expect(differ).toBe(0);
    });
  }

  it('no rows is a no-op; more rows than coefficient room, or rows outside the panel, are errors', () => {
    const ws = new Workspace(8, 4, 2, 3);
    ws.panel.fill(1);
    ws.rank1(0, 0, []);
    expect([...ws.panel]).toEqual(new Array(32).fill(1));
    expect(() => ws.rank1(0, 0, [1, 2, 3, 4])).toThrow('4 rows, room for 3');
    expect(() => ws.rank1(2, 0, [1, 2, 3])).toThrow('outside the workspace');
    expect(() => ws.rank1(0, 2, [1])).toThrow('outside the workspace');
  });
});

describe('Workspace.columnError (f64x2)', () => {
  for (const out of [1, 2, 5, 1026]) {
    it(`stores float32(d / ujj) and float32(q) as a scalar loop would, Σd² to float64 rounding, out = ${out}`, () => {
      const random = rng(100 + out);
      const ws = new Workspace(out, 4, 3, 16);
      ws.panel.fill(7);
      ws.err.fill(7);
      for (let r = 0; r < out; r++) (ws.w[r] = random.normal()), (ws.q[r] = Math.fround(random.normal()));
      const ujj = 0.37;
      const sum = ws.columnError(2, 1, ujj);
      let expected = 0;
      for (let r = 0; r < out; r++) {
        const d = ws.w[r] - ws.q[r];
        expected += d * d;
        expect(ws.err[out + r]).toBe(Math.fround(d / ujj));
        expect(ws.panel[2 * out + r]).toBe(Math.fround(ws.q[r]));
      }
      expect(Math.abs(sum - expected) / expected).toBeLessThan(1e-14);
      // Other rows untouched.
      expect(ws.panel.subarray(0, 2 * out).every((v) => v === 7) && ws.panel.subarray(3 * out).every((v) => v === 7)).toBe(true);
      expect(ws.err.subarray(0, out).every((v) => v === 7) && ws.err.subarray(2 * out).every((v) => v === 7)).toBe(true);
    });
  }

  it('rows outside the workspace are errors', () => {
    const ws = new Workspace(8, 4, 2, 3);
    expect(() => ws.columnError(4, 0, 1)).toThrow('outside the workspace');
    expect(() => ws.columnError(0, 2, 1)).toThrow('outside the workspace');
  });
});

describe('Workspace.quantize (f64x2)', () => {
  for (const out of [1, 2, 5, 1026]) {
    for (const bits of [3, 8]) {
      it(`codes, panel row and error row bit for bit those of GroupQuantizer.quantizeColumn + the scalar error, ${bits}-bit, out = ${out}`, () => {
        const random = rng(200 + out + bits);
        const ws = new Workspace(out, 4, 3, 16);
        ws.panel.fill(7);
        ws.err.fill(7);
        // A real grid (asymmetric, one group) fitted on a column, then a different column quantized on it.
        const quantizer = new GroupQuantizer({ bits, groupSize: -1, sym: false }, out, 2);
        const fitted = Float64Array.from({ length: 2 * out }, () => random.normal());
        quantizer.fit(0, fitted, 2, 0, 2);
        const maxq = quantizer.maxq;
        const w = new Float64Array(out);
        for (let r = 0; r < out; r++) {
          const scale = quantizer.scales[r];
          const zero = quantizer.zeros[r];
          // Ties (exact half steps, within float32), values clamped at both ends, ±0, ordinary values.
          w[r] = Math.fround([scale * (r % 7 - zero + 0.5), -(maxq + 5) * scale * 3, (maxq + 5) * scale * 3, r % 2 ? -0 : 0, random.normal()][r % 5]);
          ws.panel[2 * out + r] = w[r];
          ws.scales[r] = quantizer.scales[r];
          ws.zeros[r] = quantizer.zeros[r];
        }
        const q = new Float64Array(out);
        quantizer.quantizeColumn(1, 0, w, q);
        const ujj = 0.37;
        const sum = ws.quantize(2, 1, ujj, maxq);
        let expected = 0;
        for (let r = 0; r < out; r++) {
          const d = w[r] - q[r];
          expected += d * d;
          expect(ws.codes[r], `row ${r}`).toBe(quantizer.codes[r * 2 + 1]);
          expect(Object.is(ws.panel[2 * out + r], q[r]), `row ${r}: ${ws.panel[2 * out + r]} vs ${q[r]}`).toBe(true);
          expect(Object.is(ws.err[out + r], Math.fround(d / ujj)), `row ${r}`).toBe(true);
        }
        expect(Math.abs(sum - expected)).toBeLessThanOrEqual(1e-14 * expected);
        expect(ws.panel.subarray(0, 2 * out).every((v) => v === 7) && ws.panel.subarray(3 * out).every((v) => v === 7)).toBe(true);
        expect(ws.err.subarray(0, out).every((v) => v === 7) && ws.err.subarray(2 * out).every((v) => v === 7)).toBe(true);
      });
    }
  }

  it('rows outside the workspace are errors', () => {
    const ws = new Workspace(8, 4, 2, 3);
    expect(() => ws.quantize(4, 0, 1, 15)).toThrow('quantize: panel row 4');
    expect(() => ws.quantize(0, 2, 1, 15)).toThrow('outside the workspace');
  });
});

describe('Workspace.range (f32x4)', () => {
  for (const out of [1, 3, 4, 7, 1027]) {
    it(`per row min(0, …) and max(0, …) of panel rows, the JS ternaries exactly (±0 included), out = ${out}`, () => {
      const random = rng(300 + out);
      const ws = new Workspace(out, 9, 2, 4);
      for (let i = 0; i < ws.panel.length; i++) ws.panel[i] = [random.normal(), -0, 0, -random.uniform()][i % 4];
      ws.range(2, 5);
      for (let r = 0; r < out; r++) {
        let lo = 0;
        let hi = 0;
        for (let t = 2; t < 7; t++) {
          const v = ws.panel[t * out + r];
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
        expect(Object.is(ws.lo[r], Math.fround(lo)) && Object.is(ws.hi[r], Math.fround(hi)), `row ${r}: ${ws.lo[r]} ${ws.hi[r]} vs ${lo} ${hi}`).toBe(true);
      }
    });
  }

  it('rows outside the panel are errors', () => {
    const ws = new Workspace(8, 4, 2, 3);
    expect(() => ws.range(2, 3)).toThrow('range: panel rows 2…4');
  });
});

describe('Workspace.place (SIMD transposition + dequantization)', () => {
  // Tiles of 16 rows and columns in fours in the kernel; the tails (out % 16, n % 4) in JS.
  for (const [out, n] of [[48, 64], [37, 66], [16, 4], [5, 3], [67, 131]]) {
    it(`codes and W_c bit for bit those of GroupQuantizer.placeColumns, [${out}, ${n}], in order and permuted, grouped and per channel`, () => {
      const random = rng(out * n);
      const { position } = randomOrder(n, random); // position[original column] = its place in sweep order
      for (const config of [{ bits: 4, groupSize: n % 2 ? -1 : 2, sym: false }, { bits: 8, groupSize: -1, sym: true }, { bits: 3, groupSize: -1, sym: false }]) {
        for (const pos of [null, position]) {
          const quantizer = new GroupQuantizer(config, out, n);
          // Scales of every magnitude (products that round), integer zeros as fitRange makes them.
          quantizer.scales.set(Float32Array.from(quantizer.scales, () => Math.fround(Math.exp(4 * random.normal()))));
          quantizer.zeros.set(Float32Array.from(quantizer.zeros, () => Math.floor(random.uniform() * (quantizer.maxq + 1))));
          const gIdx = pos && config.groupSize !== -1 ? Int32Array.from(pos, (j) => Math.floor(j / config.groupSize)) : undefined;
          const groupOf = gIdx ?? Int32Array.from({ length: n }, (_, c) => (config.groupSize === -1 ? 0 : Math.floor(c / config.groupSize)));

          const ws = new Workspace(out, 2, n, 4, { columns: n, groups: quantizer.nGroups });
          const history = ws.codeHistory!;
          for (let i = 0; i < history.length; i++) history[i] = Math.floor(random.uniform() * (quantizer.maxq + 1));
          ws.err.fill(NaN); // W_c goes over E: every entry must be written
          const codes = new Uint8Array(out * n).fill(255);
          ws.place(pos, groupOf, quantizer.scales, quantizer.zeros, codes, ws.err);

          const wc = quantizer.placeColumns(Uint8Array.from(history), pos, gIdx);
          expect(codes).toEqual(quantizer.codes);
          for (let i = 0; i < wc.length; i++) if (!Object.is(ws.err[i], wc[i])) expect(ws.err[i], `entry ${i}`).toBe(wc[i]);
        }
      }
    });
  }

  it('is an error without a code history, with W_c outside the memory, or with columns out of range', () => {
    const plain = new Workspace(16, 2, 8, 4);
    expect(() => plain.place(null, new Int32Array(8), new Float32Array(16), new Float32Array(16), new Uint8Array(128), plain.err)).toThrow('keeps no code history');
    const ws = new Workspace(16, 2, 8, 4, { columns: 8, groups: 1 });
    const grid = new Float32Array(16);
    expect(() => ws.place(null, new Int32Array(8), grid, grid, new Uint8Array(128), new Float32Array(128))).toThrow('workspace memory');
    expect(() => ws.place(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 8]), new Int32Array(8), grid, grid, new Uint8Array(128), ws.err)).toThrow('column 7 has sweep position 8');
    expect(() => ws.place(null, new Int32Array(8).fill(1), grid, grid, new Uint8Array(128), ws.err)).toThrow('group 1');
    expect(() => ws.place(Int32Array.from([0, 1, 2, 3, 4, 5, 6, 6]), new Int32Array(8), grid, grid, new Uint8Array(128), ws.err)).toThrow('column 7 has sweep position 6');
    // W_c over the history itself (not before it) would overwrite the codes it reads.
    const overHistory = new Float32Array(ws.err.buffer, ws.codeHistory!.byteOffset - 64, 128);
    expect(() => ws.place(null, new Int32Array(8), grid, grid, new Uint8Array(128), overHistory)).toThrow('before its code history');
  });

  it('a workspace past wasm32 4 GiB is refused before any allocation; the sweep keeps no codes there', () => {
    // E of 2²⁹ floats (2 GiB) with a history of 2²⁹ bytes and a grid per 2 columns: past 4 GiB.
    const [out, n] = [2 ** 14, 2 ** 15];
    const codes = { columns: n, groups: n / 2 };
    expect(workspaceBytes(out, 128, n, 64, codes)).toBeGreaterThan(MAX_WORKSPACE_BYTES);
    expect(workspaceBytes(out, 128, n, 64, { columns: n, groups: n / 128 })).toBeLessThanOrEqual(MAX_WORKSPACE_BYTES); // w4g128: fits
    expect(() => new Workspace(out, 128, n, 64, codes)).toThrow('exceed WebAssembly');
  });
});

describe('Workspace.gather (SIMD transposition of W₀)', () => {
  for (const [out, n] of [[48, 64], [37, 66], [16, 4], [5, 3], [67, 131]]) {
    it(`W₀ᵀ bit for bit that of sweep.ts' gatherTransposed, [${out}, ${n}], in order and permuted, dead columns zero`, () => {
      const random = rng(7 * out + n);
      const { position } = randomOrder(n, random);
      const w = Float32Array.from({ length: out * n }, () => random.normal());
      const dead = Uint8Array.from({ length: n }, (_, c) => +(c % 5 === 2));
      for (const pos of [null, position]) {
        const ws = new Workspace(out, 2, n, 4, { columns: n, groups: 1 });
        ws.err.fill(NaN); // every entry must be written
        ws.gather(w, pos, dead, ws.err);
        const expected = new Float32Array(out * n).fill(NaN);
        gatherTransposed(w, out, n, pos, dead, 0, n, expected);
        for (let i = 0; i < expected.length; i++) if (!Object.is(ws.err[i], expected[i])) expect(ws.err[i], `entry ${i}`).toBe(expected[i]);
      }
    });
  }

  it('is an error without a code history or with W₀ᵀ outside the memory', () => {
    expect(() => new Workspace(16, 2, 8, 4).gather(new Float32Array(128), null, new Uint8Array(8), new Float32Array(128))).toThrow('keeps no code history');
    const ws = new Workspace(16, 2, 8, 4, { columns: 8, groups: 1 });
    expect(() => ws.gather(new Float32Array(128), null, new Uint8Array(8), new Float32Array(128))).toThrow('workspace memory');
    expect(() => ws.gather(new Float32Array(128), Int32Array.from([1, 1, 2, 3, 4, 5, 6, 7]), new Uint8Array(8), ws.err)).toThrow('column 1 has sweep position 1');
  });
});

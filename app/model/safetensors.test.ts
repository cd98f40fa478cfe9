import { ftruncateSync, openSync, closeSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { bf16ToF32, f16ToF32, SafetensorsFile } from './safetensors.js';
import { ShardedSafetensors } from './safetensors-index.js';
import { countNonFinite, knownNonFinite, requireFinite } from './validate.js';
import { errorOf, f32At, f32Bytes, safetensorsBytes, tempDir, TINY_DIR, writeSafetensors } from './testing/fixtures.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

/** Writes `bytes` as `name` in the temp dir and returns the error opening it throws. */
function openError(bytes: Uint8Array, name = 'x.safetensors'): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, bytes);
  return errorOf(() => SafetensorsFile.open(path).close()).message;
}

/** f16 by the textbook formula, independent of the bit-twiddling in the reader. */
function halfByFormula(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

describe('dtype conversion', () => {
  test('f16 special values', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x3555, 0.333251953125],
      [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x7c00, Infinity], [0xfc00, -Infinity],
    ];
    const out = f16ToF32(Uint16Array.from(cases.map(([h]) => h)));
    cases.forEach(([, value], i) => expect(out[i]).toBe(value));
    const [negZero, nan] = f16ToF32(Uint16Array.from([0x8000, 0x7e00]));
    expect(Object.is(negZero, -0)).toBe(true);
    expect(nan).toBeNaN();
  });

  test('f16: all 65536 values agree with the formula', () => {
    const all = f16ToF32(Uint16Array.from({ length: 65536 }, (_, i) => i));
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const expected = halfByFormula(h);
      if (!(Object.is(all[h], expected) || (Number.isNaN(expected) && Number.isNaN(all[h])))) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  test('bf16 is the top half of f32', () => {
    const out = bf16ToF32(Uint16Array.from([0x3f80, 0xc049, 0x7f80, 0x0001, 0xffc0]));
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(-3.140625);
    expect(out[2]).toBe(Infinity);
    expect(out[3]).toBe(2 ** -133); // the smallest bf16 subnormal is an f32 subnormal
    expect(out[4]).toBeNaN();
  });

  test('F16, BF16 and F32 tensors read back from a file', () => {
    const path = join(tmp.dir, 'mixed.safetensors');
    writeSafetensors(path, {
      half: { dtype: 'F16', shape: [2, 2], data: new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7bff]).buffer) },
      brain: { dtype: 'BF16', shape: [3], data: new Uint8Array(Uint16Array.from([0x3f80, 0xc049, 0x4000]).buffer) },
      single: { dtype: 'F32', shape: [2], data: f32Bytes([0.1, -7]) },
      ints: { dtype: 'I32', shape: [1], data: new Uint8Array(4) },
    }, { format: 'pt' });
    const file = SafetensorsFile.open(path);
    expect([...file.read('half')]).toEqual([1, -2, 2 ** -24, 65504]);
    expect([...file.read('brain')]).toEqual([1, -3.140625, 2]);
    expect([...file.read('single')]).toEqual([Math.fround(0.1), -7]);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(() => file.read('ints')).toThrow('mixed.safetensors: tensor "ints" has dtype I32; only F32, F16 and BF16 can be read');
    expect(() => file.read('nope')).toThrow('mixed.safetensors: has no tensor named "nope"');
    file.close();
  });

  // 65536 = every bit pattern, even (pairs of halves per step); 4099 = odd (one half per step).
  test.each([65536, 4099])('a BF16 tensor of %i elements read in place equals bf16ToF32 of its halves, bit for bit, and counts its NaN/±Inf for requireFinite', (length) => {
    const path = join(tmp.dir, `bf16-${length}.safetensors`);
    const halves = Uint16Array.from({ length }, (_, i) => (i * 40503) & 0xffff); // 40503 is odd: every pattern once at 65536
    halves[17] = 0x7f80; // +Inf
    halves[18] = 0xff81; // a NaN
    writeSafetensors(path, { w: { dtype: 'BF16', shape: [length], data: new Uint8Array(halves.buffer) } });
    const file = SafetensorsFile.open(path);
    const got = file.read('w');
    file.close();
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(bf16ToF32(halves).buffer));
    const bad = countNonFinite(got);
    expect(bad).toBeGreaterThan(2);
    if (length === 65536) expect(bad).toBe(2 * 128 + 2); // exponent all ones: 2 signs × 128 mantissas, plus the two finite patterns the Inf and NaN replaced
    expect(knownNonFinite.get(got)).toBe(bad);
    expect(() => requireFinite(got, 'w', path)).toThrow(`tensor w has ${bad} non-finite values`);
  });
});

describe('the bundled model.safetensors', () => {
  const path = join(TINY_DIR, 'model.safetensors');
  const raw = new Uint8Array(readFileSync(path));

  test('index and values match an independent parse', () => {
    const headerLength = Number(new DataView(raw.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + headerLength))) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
    const file = SafetensorsFile.open(path);
    expect(file.tensors.size).toBe(20);
    expect(file.metadata).toEqual({ format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
    for (const name of ['lm_head.weight', 'model.layers.1.mlp.down_proj.weight', 'model.norm.weight']) {
      const { shape, data_offsets: [begin] } = header[name];
      const values = file.read(name);
      expect(file.tensors.get(name)!.shape).toEqual(shape);
      expect(values.length).toBe(shape.reduce((a, b) => a * b, 1));
      for (const k of [0, 1, 77, values.length - 1]) expect(values[k]).toBe(f32At(raw, 8 + headerLength + begin + 4 * k));
    }
    file.close();
  });

  test('a truncated copy names the first tensor that no longer fits', () => {
    expect(openError(raw.subarray(0, raw.length - 100), 'model.safetensors')).toBe(
      'model.safetensors: tensor "model.norm.weight" has data_offsets [2623488, 2624000] beyond the data section (2623900 bytes); the file may be truncated',
    );
  });
});

describe('corrupt safetensors headers', () => {
  const f32 = (shape: number[], data_offsets: number[]) => ({ dtype: 'F32', shape, data_offsets });
  const cases: [string, Uint8Array, string][] = [
    ['file shorter than the length field', new Uint8Array(3), 'expected 8 bytes at offset 0 but the file has only 3 bytes; the file may be truncated'],
    ['header length beyond the file', safetensorsBytes({}, new Uint8Array(48), 1000n), 'header length 1000 goes beyond the end of the file (58 bytes)'],
    ['header length 2^64-1', safetensorsBytes({}, new Uint8Array(0), 2n ** 64n - 1n), 'header length 18446744073709551615 goes beyond the end of the file (10 bytes)'],
    ['header not UTF-8', safetensorsBytes('\u0000', new Uint8Array(0)).map((b, i) => (i === 8 ? 0xff : b)), 'header is not valid UTF-8'],
    ['header not JSON', safetensorsBytes('{"a":'), 'header is not valid JSON'],
    ['header a JSON array', safetensorsBytes([1, 2]), 'header must be a JSON object, got an array'],
    ['entry not an object', safetensorsBytes({ a: 5 }), 'tensor "a" must be described by an object, got a number'],
    ['unknown dtype', safetensorsBytes({ a: { dtype: 'F99', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      'tensor "a" has unknown dtype "F99" (known: BOOL, U8, I8, F8_E4M3, F8_E5M2, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64)'],
    ['negative dimension', safetensorsBytes({ a: f32([2, -1], [0, 8]) }), 'tensor "a" has shape [2,-1]; expected an array of non-negative integers'],
    ['shape not an array', safetensorsBytes({ a: f32('2x2' as never, [0, 16]) }), 'tensor "a" has shape "2x2"; expected an array of non-negative integers'],
    ['fractional dimension', safetensorsBytes({ a: f32([1.5], [0, 6]) }), 'tensor "a" has shape [1.5]; expected an array of non-negative integers'],
    ['offsets not a pair', safetensorsBytes({ a: f32([1], [4]) }), 'tensor "a" has data_offsets [4]; expected [begin, end] with 0 <= begin <= end'],
    ['offsets reversed', safetensorsBytes({ a: f32([1], [8, 4]) }), 'tensor "a" has data_offsets [8,4]; expected [begin, end] with 0 <= begin <= end'],
    ['bytes != shape × itemsize', safetensorsBytes({ a: f32([2, 2], [0, 12]) }, new Uint8Array(12)), 'tensor "a" has 12 bytes (data_offsets [0, 12]) but shape [2,2] of F32 needs 16'],
    ['absurd shape', safetensorsBytes({ a: f32([2 ** 40, 2 ** 40], [0, 4]) }), 'tensor "a" has shape [1099511627776,1099511627776], too large for any file'],
    ['offsets past the data', safetensorsBytes({ a: f32([4], [0, 16]) }, new Uint8Array(8)), 'tensor "a" has data_offsets [0, 16] beyond the data section (8 bytes); the file may be truncated'],
    ['overlapping tensors', safetensorsBytes({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, new Uint8Array(12)), 'tensors "a" [0, 8] and "b" [4, 12] overlap'],
    ['__metadata__ not a string map', safetensorsBytes({ __metadata__: { k: 1 } }), '__metadata__ must be an object of strings, but "k" is a number'],
    ['__metadata__ an array', safetensorsBytes({ __metadata__: ['x'] }), '__metadata__ must be an object of strings, got an array'],
  ];
  test.each(cases)('%s', (_, bytes, problem) => {
    expect(openError(bytes)).toBe(`x.safetensors: ${problem}`);
  });

  test('header length over 100 MB in a file large enough to hold it', () => {
    const path = join(tmp.dir, 'huge.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, safetensorsBytes({}, new Uint8Array(0), 100_000_001n));
    ftruncateSync(fd, 100_000_100); // sparse: costs no disk
    closeSync(fd);
    expect(() => SafetensorsFile.open(path)).toThrow('huge.safetensors: header length 100000001 exceeds the 100 MB limit');
  });

  test('a missing file', () => {
    expect(() => SafetensorsFile.open(join(tmp.dir, 'absent.safetensors'))).toThrow('absent.safetensors: no such file or directory');
  });
});

describe('sharded checkpoints (model.safetensors.index.json)', () => {
  const dir = tempDir('eora-shards-');
  afterAll(dir.cleanup);
  const index = (weightMap: unknown) => writeFileSync(join(dir.dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeSafetensors(join(dir.dir, 'a.safetensors'), { x: { dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) } });
  writeSafetensors(join(dir.dir, 'b.safetensors'), { y: { dtype: 'F32', shape: [1], data: f32Bytes([3]) } });
  const open = () => ShardedSafetensors.open(join(dir.dir, 'model.safetensors.index.json'));

  test('reads each tensor from its shard', () => {
    index({ x: 'a.safetensors', y: 'b.safetensors' });
    const store = open();
    expect([...store.tensors.keys()]).toEqual(['x', 'y']);
    expect(store.tensors.get('y')!.file).toBe('b.safetensors');
    expect([...store.read('x')]).toEqual([1, 2]);
    expect([...store.read('y')]).toEqual([3]);
    store.close();
  });

  const cases: [string, () => void, string][] = [
    ['missing shard', () => index({ x: 'a.safetensors', y: 'c.safetensors' }), 'model.safetensors.index.json: weight_map maps "y" to c.safetensors, which does not exist'],
    ['tensor not in its shard', () => index({ x: 'b.safetensors' }), 'b.safetensors: does not contain tensor "x", which model.safetensors.index.json maps to it'],
    ['shard outside the folder', () => index({ x: '../a.safetensors' }), 'model.safetensors.index.json: weight_map maps "x" to "../a.safetensors", which is not a file name'],
    ['weight_map not an object', () => index(['a.safetensors']), 'model.safetensors.index.json: weight_map must be an object mapping tensor names to shard files'],
    ['index not JSON', () => writeFileSync(join(dir.dir, 'model.safetensors.index.json'), '{"weight_map": '), 'model.safetensors.index.json: the file is not valid JSON'],
    ['index a JSON array', () => writeFileSync(join(dir.dir, 'model.safetensors.index.json'), '[]'), 'model.safetensors.index.json: the file must be a JSON object, got an array'],
    ['corrupt shard', () => (index({ x: 'a.safetensors', z: 'bad.safetensors' }), writeFileSync(join(dir.dir, 'bad.safetensors'), safetensorsBytes([]))), 'bad.safetensors: header must be a JSON object, got an array'],
  ];
  test.each(cases)('%s', (_, setup, message) => {
    setup();
    expect(errorOf(open).message).toBe(message);
  });
});

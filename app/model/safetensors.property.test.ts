// Property tests: whatever bytes a .safetensors file holds, opening it either yields an index
// whose every tensor lies inside the file with bytes = prod(shape) × itemsize, or throws a
// ModelError — never a TypeError/RangeError, never a read or allocation beyond the file.
import fc from 'fast-check';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test, vi } from 'vitest';
import { SafetensorsFile } from './safetensors.js';
import { f32Bytes, safetensorsBytes, tempDir } from './testing/fixtures.js';
import { ModelError } from './types.js';

const tmp = tempDir('eora-prop-');
afterAll(tmp.cleanup);
vi.setConfig({ testTimeout: 30_000 });
const path = join(tmp.dir, 'p.safetensors');
const ITEM: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, U8: 1, F64: 8 };

/** Opens `bytes` as a file and checks the outcome; returns 'ok' or 'refused'. */
function check(bytes: Uint8Array): 'ok' | 'refused' {
  writeFileSync(path, bytes);
  const size = statSync(path).size;
  const started = performance.now();
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (error) {
    if (!(error instanceof ModelError)) throw error; // any other error type fails the property
    expect(error.message.startsWith('p.safetensors: ')).toBe(true);
    return 'refused';
  }
  try {
    for (const tensor of file.tensors.values()) {
      const elements = tensor.shape.reduce((a, b) => a * b, 1);
      expect(tensor.offset + tensor.byteLength).toBeLessThanOrEqual(size); // never beyond the file
      expect(tensor.byteLength).toBe(elements * ITEM[tensor.dtype]);
      if (['F32', 'F16', 'BF16'].includes(tensor.dtype)) expect(file.read(tensor.name).length).toBe(elements);
      else expect(() => file.read(tensor.name)).toThrow(ModelError);
    }
  } finally {
    file.close();
  }
  expect(performance.now() - started).toBeLessThan(2000); // generous: the machine may be busy
  return 'ok';
}

/** A small valid file: a few tensors back to back. */
function validFile(): Uint8Array {
  const header = {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
    b: { dtype: 'F16', shape: [4], data_offsets: [24, 32] },
    c: { dtype: 'BF16', shape: [1, 2], data_offsets: [32, 36] },
    d: { dtype: 'I32', shape: [], data_offsets: [36, 40] },
    e: { dtype: 'F32', shape: [0, 5], data_offsets: [40, 40] },
  };
  return safetensorsBytes(header, f32Bytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
}

test('the unmutated fixture opens, and so does any change to its data section alone', () => {
  const valid = validFile();
  expect(check(valid)).toBe('ok');
  const dataStart = valid.length - 40;
  for (let at = dataStart; at < valid.length; at++) {
    const bytes = valid.slice();
    bytes[at] ^= 0xff;
    expect(check(bytes)).toBe('ok');
  }
});

test('random JSON values as the header', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }), (header, data) => {
      check(safetensorsBytes(header, data));
    }),
    { numRuns: 200 },
  );
});

test('headers of plausible-looking tensor entries with random fields', () => {
  const dim = fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(2 ** 31, 2 ** 53, 1.5, NaN));
  const entry = fc.record(
    {
      dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I32', 'U8', 'F64'), fc.string({ maxLength: 5 })),
      shape: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.jsonValue()),
      data_offsets: fc.oneof(fc.array(fc.integer({ min: -4, max: 80 }), { minLength: 0, maxLength: 3 }), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.dictionary(fc.string({ maxLength: 6 }), entry, { maxKeys: 5 }), fc.integer({ min: 0, max: 96 }), (header, dataLength) => {
      check(safetensorsBytes(header, new Uint8Array(dataLength)));
    }),
    { numRuns: 200 },
  );
});

test('random header lengths', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (length) => {
      check(safetensorsBytes({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), length));
    }),
    { numRuns: 200 },
  );
});

test('random byte flips and truncations of a valid file', () => {
  const valid = validFile();
  const flip = fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) });
  fc.assert(
    fc.property(fc.array(flip, { minLength: 1, maxLength: 6 }), fc.option(fc.nat({ max: valid.length })), (flips, keep) => {
      const bytes = valid.slice();
      for (const { at, value } of flips) bytes[at] = value;
      check(keep === null ? bytes : bytes.subarray(0, keep));
    }),
    { numRuns: 200 },
  );
});

// Test helpers: temp folders, hand-built safetensors files and copies of the bundled models
// to corrupt. Used only by tests (excluded from the build by tsconfig.app.build.json).
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourcesPath } from '../open.js';
import { ModelError } from '../types.js';

export const TINY_DIR = resourcesPath('models', 'tinystories-656k');
export const STORIES260K_DIR = resourcesPath('models', 'stories260k');
export const STORIES260K_BIN = join(STORIES260K_DIR, 'stories260K.bin');
export const TOK512 = join(STORIES260K_DIR, 'tok512.bin');

/** A fresh temp folder; call the returned `cleanup` in afterEach/afterAll. */
export function tempDir(prefix = 'eora-model-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a bundled model folder into `dir/name` (writable) and returns the copy's path. */
export function copyModel(from: string, dir: string, name = 'model'): string {
  const to = join(dir, name);
  cpSync(from, to, { recursive: true });
  return to;
}

/** `u64 LE header length` + header + data, with the length overridable to lie. */
export function safetensorsBytes(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

export interface FixtureTensor {
  dtype: 'F32' | 'F16' | 'BF16' | 'I32';
  shape: number[];
  /** Raw little-endian element bytes. */
  data: Uint8Array;
}

/** A well-formed safetensors file with tensors laid out back to back in the given order. */
export function writeSafetensors(path: string, tensors: Record<string, FixtureTensor>, metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    chunks.push(t.data);
    offset += t.data.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  writeFileSync(path, safetensorsBytes(header, data));
}

export function f32Bytes(values: number[] | Float32Array): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** Reads a little-endian float32 the way a test checks a reader: straight from the bytes. */
export function f32At(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat32(offset, true);
}

/** GPT-2's byte → printable-unicode map (bytes_to_unicode in openai/gpt-2 encoder.py). */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable.includes(b) ? b : next++);
  return map;
}

/**
 * A tiny GPT-2 style byte-level BPE tokenizer.json: ids 0..255 are the bytes (in byte order),
 * then merges "Ġ t" → Ġt (256), "h e" → he (257), "Ġt he" → Ġthe (258), and the special
 * token <|endoftext|> (259).
 */
export function byteLevelTokenizerJson(): Record<string, unknown> {
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  b2u.forEach((char, byte) => (vocab[char] = byte));
  Object.assign(vocab, { 'Ġt': 256, he: 257, 'Ġthe': 258, '<|endoftext|>': 259 });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: [{ id: 259, content: '<|endoftext|>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges: ['Ġ t', 'h e', 'Ġt he'] },
  };
}

/** Runs `fn` and returns the ModelError it throws; any other outcome fails the test. */
export function errorOf(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ModelError) return error;
    throw error;
  }
  throw new Error('expected a ModelError, but nothing was thrown');
}

/** Same for async openers such as openModel. */
export async function asyncErrorOf(fn: () => Promise<unknown>): Promise<ModelError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ModelError) return error;
    throw error;
  }
  throw new Error('expected a ModelError, but nothing was thrown');
}

/** Bit-identical float arrays (vitest's toEqual walks elements one by one: slow on 10^5+). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

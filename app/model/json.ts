// Reading the small JSON files that sit next to weights (config.json, tokenizer.json, the
// safetensors index) with errors that name the file, plus `describe()` for quoting a bad
// value in a message without dumping a megabyte of it.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { describeFsError } from './binary.js';
import { ModelError } from './types.js';

/** Larger than any real tokenizer.json (Gemma's is ~33 MB); a guard against reading a weight file as JSON. */
const MAX_JSON_BYTES = 256 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

/** Parses `path` and requires a JSON object at the top. */
export function readJsonObject(path: string): JsonObject {
  const file = basename(path);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_JSON_BYTES) throw new ModelError(file, `is ${size} bytes, too large for a JSON file`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(file, describeFsError(error));
  }
  return parseJsonObject(file, text);
}

export function parseJsonObject(file: string, text: string, what = 'the file'): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ModelError(file, `${what} is not valid JSON`);
  }
  if (!isObject(value)) throw new ModelError(file, `${what} must be a JSON object, got ${kindOf(value)}`);
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "an array", "a string", "null"… for messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** A short JSON rendering of a value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

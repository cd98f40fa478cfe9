// Calibration samples: N windows of L tokens drawn from one token stream (the GPTQ/SparseGPT
// convention: their datautils concatenate the corpus and draw random offsets).
//
//   plain text  documents separated by blank lines (one TinyStories story per paragraph)
//   .jsonl      one JSON object per line; its `text` field, or a template over its fields,
//               e.g. "Question: {question}\nAnswer: {answer}" (task-specific calibration)
//
// Each document is tokenized with BOS and the documents are concatenated into one stream
// S[0..M). Window k starts at s_k = ⌊u_k·(M − L + 1)⌋ with u_k from the seeded RNG
// (app/linalg/random.ts), so the same (file, N, L, seed) always gives the same windows; the
// starts are returned to be recorded in the run.
import { createHash } from 'node:crypto';
import { rng } from '../linalg/random.js';
import { describeFsError } from '../model/binary.js';
import { readBoundedBytes, TextFileError } from '../model/validate.js';
import type { Tokenizer } from '../tokenizer/types.js';

export type CalibrationFormat = 'text' | 'jsonl';

export interface CalibrationOptions {
  samples: number; // N
  seqLen: number; // L
  seed: number;
  /** JSONL only: "{field} …" template; default: the `text` field. */
  template?: string;
}

export interface CalibrationSet {
  /** [N, L] row-major token ids. */
  tokens: Int32Array;
  samples: number;
  seqLen: number;
  seed: number;
  /** [N] start of each window in the concatenated stream. */
  starts: number[];
  streamTokens: number; // M
  documents: number;
  file: string;
  format: CalibrationFormat;
  template: string | null;
  /** sha256 of the file's bytes. */
  sha256: string;
}

/** A problem with the calibration data; the message names the file. */
export class CalibrationError extends Error {
  override name = 'CalibrationError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export function formatOf(file: string): CalibrationFormat {
  return file.toLowerCase().endsWith('.jsonl') ? 'jsonl' : 'text';
}

/** The documents of a calibration file (blank-line-separated paragraphs, or JSONL records). */
export function readDocuments(file: string, text: string, template?: string): string[] {
  if (formatOf(file) === 'text') {
    if (template !== undefined) throw new CalibrationError(file, 'a template applies to JSONL files only');
    return text
      .split(/\r?\n\s*\r?\n/)
      .map((d) => d.trim())
      .filter((d) => d.length > 0);
  }
  const docs: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new CalibrationError(file, `line ${i + 1} is not JSON (${(error as Error).message})`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new CalibrationError(file, `line ${i + 1} is not a JSON object`);
    docs.push(fillTemplate(file, i + 1, record as Record<string, unknown>, template));
  });
  return docs.filter((d) => d.trim().length > 0);
}

function fillTemplate(file: string, line: number, record: Record<string, unknown>, template: string | undefined): string {
  if (template === undefined) {
    const text = record.text;
    if (typeof text !== 'string') throw new CalibrationError(file, `line ${line} has no string field "text" (give a template such as "{question} {answer}")`);
    return text;
  }
  return template.replace(/\{([^{}]+)\}/g, (_, field: string) => {
    const value = record[field];
    if (value === undefined || value === null) throw new CalibrationError(file, `line ${line} has no field "${field}" used by the template`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/** N window starts in [0, M − L], from the seeded RNG. */
export function drawWindows(streamTokens: number, samples: number, seqLen: number, seed: number): number[] {
  const span = streamTokens - seqLen + 1;
  if (span < 1) throw new RangeError(`a stream of ${streamTokens} tokens holds no window of ${seqLen}`);
  const random = rng(seed);
  return Array.from({ length: samples }, () => Math.floor(random.uniform() * span));
}

/** Reads, tokenizes and samples a calibration file. Throws CalibrationError. */
export function calibrationSet(file: string, tokenizer: Tokenizer, options: CalibrationOptions): CalibrationSet {
  const { samples, seqLen, seed } = options;
  if (!Number.isSafeInteger(samples) || samples < 1) throw new RangeError(`samples must be a positive integer, got ${samples}`);
  if (!Number.isSafeInteger(seqLen) || seqLen < 1) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`);
  let bytes: Buffer;
  try {
    bytes = readBoundedBytes(file); // refuses /dev/zero, FIFOs, and text over the cap
  } catch (error) {
    throw new CalibrationError(file, error instanceof TextFileError ? error.problem : describeFsError(error));
  }
  const docs = readDocuments(file, bytes.toString('utf8'), options.template);
  if (docs.length === 0) throw new CalibrationError(file, 'the calibration file is empty (no text to calibrate on)');
  const stream: number[] = [];
  for (const doc of docs) for (const id of tokenizer.encode(doc, { addBos: true })) stream.push(id);
  if (stream.length < seqLen) {
    throw new CalibrationError(file, `the calibration text has ${stream.length} tokens, fewer than one window of --seq-len ${seqLen}`);
  }
  const starts = drawWindows(stream.length, samples, seqLen, seed);
  const tokens = new Int32Array(samples * seqLen); // [N, L]
  starts.forEach((s, k) => tokens.set(stream.slice(s, s + seqLen), k * seqLen));
  return {
    tokens,
    samples,
    seqLen,
    seed,
    starts,
    streamTokens: stream.length,
    documents: docs.length,
    file,
    format: formatOf(file),
    template: options.template ?? null,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

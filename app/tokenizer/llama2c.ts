// llama2.c's tokenizer file (`tok512.bin`, `tokenizer.bin`) and its encode/decode, following
// run.c (karpathy/llama2.c): `encode()` and `decode()` there are the reference.
// File: int32 max_token_length, then vocab_size × (float32 score, int32 len, len bytes).
// The vocab size is not in the file; it comes from the model's header.
// Ids 0, 1, 2 are <unk>, <s> (BOS), </s> (EOS); ids 3..258 are the byte tokens <0x00>..<0xFF>.
import { BinaryReader, Cursor } from '../model/binary.js';
import { ModelError } from '../model/types.js';
import type { Tokenizer } from './types.js';

const BOS = 1;
const EOS = 2;
const BYTE_TOKEN_OFFSET = 3; // <0x00> is id 3 (run.c: "+3 because the first 3 vocab elements are <unk>, <s>, </s>")

export class Llama2cTokenizer implements Tokenizer {
  readonly bosId = BOS;
  readonly eosId = EOS;
  readonly vocabSize: number;
  /** Token bytes -> first id with those bytes (keys are latin1 strings: one char per byte). */
  private readonly lookup = new Map<string, number>();

  constructor(
    /** Each token's bytes (UTF-8 text, or `<0xXX>` for byte tokens). */
    private readonly pieces: Uint8Array[],
    private readonly scores: Float32Array,
  ) {
    this.vocabSize = pieces.length;
    pieces.forEach((piece, id) => {
      const key = latin1(piece);
      if (!this.lookup.has(key)) this.lookup.set(key, id);
    });
  }

  /** Reads a tok*.bin for a model with `vocabSize` tokens. */
  static open(path: string, vocabSize: number): Llama2cTokenizer {
    const reader = BinaryReader.open(path);
    try {
      const cursor = new Cursor(reader);
      const maxTokenLength = cursor.i32();
      if (maxTokenLength <= 0) throw new ModelError(reader.file, `max_token_length is ${maxTokenLength}; expected a positive number`);
      const pieces: Uint8Array[] = [];
      const scores = new Float32Array(vocabSize);
      for (let id = 0; id < vocabSize; id++) {
        scores[id] = cursor.f32();
        const length = cursor.i32();
        if (length < 0 || length > maxTokenLength) {
          throw new ModelError(reader.file, `token ${id} has length ${length}, outside 0..max_token_length (${maxTokenLength})`);
        }
        pieces.push(cursor.bytes(length));
      }
      if (cursor.remaining !== 0) {
        throw new ModelError(
          reader.file,
          `has ${cursor.remaining} bytes after the last of ${vocabSize} tokens; is it the tokenizer for this model?`,
        );
      }
      return new Llama2cTokenizer(pieces, scores);
    } finally {
      reader.close();
    }
  }

  /**
   * run.c's encode(): optional BOS, a dummy-prefix " " token (sentencepiece's
   * add_dummy_prefix) when the text is not empty, one token per UTF-8 code point (or its
   * bytes as byte tokens when the code point is not in the vocab), then repeatedly merge
   * the adjacent pair whose concatenation is the vocab entry with the highest score
   * (leftmost on ties), until no pair merges.
   */
  encode(text: string, options?: { addBos?: boolean }): number[] {
    const tokens: number[] = [];
    if (text.length > 0) tokens.push(this.lookup.get(' ') ?? 0x20 + BYTE_TOKEN_OFFSET);
    const encoder = new TextEncoder();
    for (const char of text) {
      const bytes = encoder.encode(char);
      const id = this.lookup.get(latin1(bytes));
      if (id !== undefined) tokens.push(id);
      else for (const byte of bytes) tokens.push(byte + BYTE_TOKEN_OFFSET);
    }
    // run.c merges over BOS too, but "<s>" + anything is never a vocab entry; keep it out.
    const merged = this.merge(tokens);
    return options?.addBos !== false ? [BOS, ...merged] : merged;
  }

  /**
   * The merge loop of run.c, with each adjacent pair's best merge cached so a step costs one
   * scan over a number array instead of a string concatenation per pair; same result.
   */
  private merge(tokens: number[]): number[] {
    // pairScore[i] / pairId[i]: the merge of tokens[i] and tokens[i+1], -Infinity if none.
    const pair = (i: number): [number, number] => {
      const id = this.lookup.get(latin1(this.pieces[tokens[i]]) + latin1(this.pieces[tokens[i + 1]]));
      return id === undefined ? [-Infinity, -1] : [this.scores[id], id];
    };
    const pairScore: number[] = [];
    const pairId: number[] = [];
    for (let i = 0; i + 1 < tokens.length; i++) [pairScore[i], pairId[i]] = pair(i);
    for (;;) {
      let bestScore = -1e10; // run.c's starting best_score: pairs scoring below it never merge
      let best = -1;
      for (let i = 0; i < pairScore.length; i++) {
        if (pairScore[i] > bestScore) {
          bestScore = pairScore[i];
          best = i;
        }
      }
      if (best === -1) return tokens;
      tokens.splice(best, 2, pairId[best]);
      pairScore.splice(best, 1);
      pairId.splice(best, 1);
      if (best > 0) [pairScore[best - 1], pairId[best - 1]] = pair(best - 1);
      if (best + 1 < tokens.length) [pairScore[best], pairId[best]] = pair(best);
    }
  }

  /**
   * run.c's decode(): byte tokens become their byte, and the leading space of the first
   * piece after BOS (or at the start) is dropped — it is the dummy prefix encode added.
   * Special tokens (<unk>, BOS, EOS) are skipped.
   */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let atStart = true;
    for (const id of ids) {
      this.checkId(id);
      if (id === BOS) atStart = true;
      if (id <= EOS) continue;
      const byte = this.byteOf(id);
      if (byte !== null) bytes.push(byte);
      else {
        const piece = this.pieces[id];
        bytes.push(...(atStart && piece[0] === 0x20 ? piece.subarray(1) : piece));
      }
      atStart = false;
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }

  tokenText(id: number): string {
    this.checkId(id);
    return new TextDecoder().decode(this.pieces[id]);
  }

  /** The byte a `<0xXX>` token stands for, or null for an ordinary token. */
  private byteOf(id: number): number | null {
    const match = /^<0x([0-9A-Fa-f]{2})>$/.exec(latin1(this.pieces[id]));
    return match ? parseInt(match[1], 16) : null;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RangeError(`token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
    }
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

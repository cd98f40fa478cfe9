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
   * The merge loop of run.c — repeatedly merge the best-scoring adjacent pair, leftmost on
   * ties — in O(n log n): the tokens form a linked list over their original positions and the
   * candidate pairs sit in a heap ordered by (score desc, position asc). A merge keeps the left
   * node, so list order is position order and "leftmost" is "smallest position", exactly as
   * run.c's scan. (run.c's scan is O(n²): 20 minutes on a 400 KB text; this takes a second.)
   */
  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const version = new Int32Array(n); // bumps when a node's right pair changes; stale heap entries are skipped
    const heap = new PairHeap();
    const push = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const id = this.lookup.get(latin1(this.pieces[tokens[i]]) + latin1(this.pieces[tokens[j]]));
      // run.c starts best_score at -1e10: pairs scoring at or below it never merge.
      if (id !== undefined && this.scores[id] > -1e10) heap.push({ score: this.scores[id], at: i, id, version: version[i] });
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    for (let top = heap.pop(); top; top = heap.pop()) {
      const i = top.at;
      if (top.version !== version[i] || tokens[i] < 0) continue;
      const j = next[i];
      tokens[i] = top.id;
      tokens[j] = -1; // removed
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      version[i]++;
      push(i);
      if (prev[i] >= 0) {
        version[prev[i]]++;
        push(prev[i]);
      }
    }
    return tokens.filter((t) => t >= 0);
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

interface PairEntry {
  score: number;
  at: number; // position of the pair's left token
  id: number; // the merged token
  version: number;
}

/** Binary max-heap on (score, then smaller position). */
class PairHeap {
  private readonly items: PairEntry[] = [];

  private before(a: PairEntry, b: PairEntry): boolean {
    return a.score > b.score || (a.score === b.score && a.at < b.at);
  }

  push(entry: PairEntry) {
    const items = this.items;
    items.push(entry);
    for (let k = items.length - 1; k > 0; ) {
      const parent = (k - 1) >> 1;
      if (!this.before(items[k], items[parent])) break;
      [items[k], items[parent]] = [items[parent], items[k]];
      k = parent;
    }
  }

  pop(): PairEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      for (let k = 0; ; ) {
        const l = 2 * k + 1;
        const r = l + 1;
        let best = k;
        if (l < items.length && this.before(items[l], items[best])) best = l;
        if (r < items.length && this.before(items[r], items[best])) best = r;
        if (best === k) break;
        [items[k], items[best]] = [items[best], items[k]];
        k = best;
      }
    }
    return top;
  }
}

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { summarizeModel } from './inspect.js';
import { openLlama2c, permuteToRotateHalf } from './llama2c.js';
import { copyModel, errorOf, f32At, sameBits, STORIES260K_BIN, STORIES260K_DIR, tempDir } from './testing/fixtures.js';

const tmp = tempDir('eora-l2c-');
afterAll(tmp.cleanup);
const raw = new Uint8Array(readFileSync(STORIES260K_BIN));

// stories260K's sizes, and run.c's offsets computed here independently of the reader.
const dim = 64, hidden = 172, L = 5, nHeads = 8, nKv = 4, vocab = 512, hs = dim / nHeads, kvDim = hs * nKv;
const offsets = (() => {
  let at = 28;
  const take = (floats: number) => ((at += 4 * floats), at - 4 * floats);
  const o = { embed: take(vocab * dim), rmsAtt: take(L * dim), wq: take(L * dim * dim), wk: take(L * kvDim * dim), wv: take(L * kvDim * dim) };
  return o;
})();
const rawFloats = (offset: number, count: number) => Float32Array.from({ length: count }, (_, i) => f32At(raw, offset + 4 * i));

describe('stories260K', () => {
  test('header, config and parameters', () => {
    const model = openLlama2c(STORIES260K_BIN);
    const c = model.config;
    expect(model.format).toBe('llama2c');
    expect([c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size, c.max_position_embeddings]).toEqual([64, 172, 5, 8, 4, 8, 512, 512]);
    expect([c.architecture, c.tie_word_embeddings, c.rms_norm_eps, c.rope_theta, c.bos_token_id, c.eos_token_id]).toEqual(['LlamaForCausalLM', true, 1e-5, 10000, 1, 2]);
    expect(model.tensors.get('model.layers.4.mlp.down_proj.weight')!.shape).toEqual([64, 172]);
    expect(model.tensors.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([32, 64]);
    // embedding + 5 × (2 norms, wq, wk, wv, wo, w1, w2, w3) + final norm; the classifier is shared.
    expect(summarizeModel(model).parameters).toBe(vocab * dim + L * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * dim * hidden) + dim);
    expect(model.tokenizer.vocabSize).toBe(512);
    model.close();
  });

  test('unpermuted tensors are the file bytes; wq/wk rows follow HF permute()', () => {
    const model = openLlama2c(STORIES260K_BIN);
    expect(sameBits(model.readTensor('model.embed_tokens.weight'), rawFloats(offsets.embed, vocab * dim))).toBe(true);
    expect(sameBits(model.readTensor('lm_head.weight'), model.readTensor('model.embed_tokens.weight'))).toBe(true);
    expect(sameBits(model.readTensor('model.layers.1.self_attn.v_proj.weight'), rawFloats(offsets.wv + 4 * kvDim * dim, kvDim * dim))).toBe(true);
    const wq2 = model.readTensor('model.layers.2.self_attn.q_proj.weight');
    const rawWq2 = rawFloats(offsets.wq + 4 * 2 * dim * dim, dim * dim);
    // Head 3, pair 1: old rows 3·8+2 and 3·8+3 are new rows 3·8+1 and 3·8+4+1.
    for (let col = 0; col < dim; col += 9) {
      expect(wq2[(3 * hs + 1) * dim + col]).toBe(rawWq2[(3 * hs + 2) * dim + col]);
      expect(wq2[(3 * hs + 5) * dim + col]).toBe(rawWq2[(3 * hs + 3) * dim + col]);
    }
    model.close();
  });

  test('interleaved RoPE on the original wq/wk = rotate-half RoPE on the permuted ones', () => {
    const model = openLlama2c(STORIES260K_BIN);
    const random = mulberry32(7);
    const x = Float32Array.from({ length: dim }, () => random() * 2 - 1);
    const scores: number[][] = [[], []];
    for (const [name, rows, heads, offset] of [['q_proj', dim, nHeads, offsets.wq], ['k_proj', kvDim, nKv, offsets.wk]] as const) {
      const original = rawFloats(offset, rows * dim); // layer 0, as stored
      const permuted = model.readTensor(`model.layers.0.self_attn.${name}.weight`);
      for (const pos of [0, 1, 17, 511]) {
        const a = ropeInterleaved(matvec(original, x, rows, dim), pos, hs);
        const b = ropeRotateHalf(matvec(permuted, x, rows, dim), pos, hs);
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < hs / 2; i++) {
            expect(Math.abs(b[h * hs + i] - a[h * hs + 2 * i])).toBeLessThan(1e-6);
            expect(Math.abs(b[h * hs + hs / 2 + i] - a[h * hs + 2 * i + 1])).toBeLessThan(1e-6);
          }
        }
      }
    }
    // So every attention score q·k (query at pos 9, key at pos 4, GQA head sharing) is unchanged.
    const project = (name: string, permuted: boolean, rows: number, offset: number, pos: number) => {
      const w = permuted ? model.readTensor(`model.layers.0.self_attn.${name}.weight`) : rawFloats(offset, rows * dim);
      return (permuted ? ropeRotateHalf : ropeInterleaved)(matvec(w, x, rows, dim), pos, hs);
    };
    for (const permuted of [false, true]) {
      const q = project('q_proj', permuted, dim, offsets.wq, 9);
      const k = project('k_proj', permuted, kvDim, offsets.wk, 4);
      scores[permuted ? 1 : 0] = Array.from({ length: nHeads }, (_, h) => {
        const kh = Math.floor(h / (nHeads / nKv));
        return dot(q.subarray(h * hs, (h + 1) * hs), k.subarray(kh * hs, (kh + 1) * hs));
      });
    }
    scores[1].forEach((score, h) => expect(Math.abs(score - scores[0][h])).toBeLessThan(1e-6));
    model.close();
  });

  test('permuteToRotateHalf on a labelled matrix', () => {
    // 2 heads × head size 4, 1 column: rows [0..7] → head-wise [0,2,1,3] order of pairs.
    expect([...permuteToRotateHalf(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });
});

test('an unshared classifier (negative vocab_size) is read from after the freq_cis tables', () => {
  const wcls = Float32Array.from({ length: vocab * dim }, (_, i) => i / 1000);
  const bytes = new Uint8Array(raw.length + wcls.byteLength);
  bytes.set(raw);
  bytes.set(new Uint8Array(wcls.buffer), raw.length);
  new DataView(bytes.buffer).setInt32(20, -vocab, true);
  const dir = copyModel(STORIES260K_DIR, tmp.dir, 'unshared');
  writeFileSync(join(dir, 'model.bin'), bytes);
  const model = openLlama2c(join(dir, 'model.bin'), { tokenizer: join(dir, 'tok512.bin') });
  expect(model.config.tie_word_embeddings).toBe(false);
  expect(sameBits(model.readTensor('lm_head.weight'), wcls)).toBe(true);
  expect(sameBits(model.readTensor('model.embed_tokens.weight'), rawFloats(offsets.embed, vocab * dim))).toBe(true);
  expect(summarizeModel(model).parameters).toBe(260_032 + vocab * dim);
  model.close();
});

describe('corrupt llama2.c files', () => {
  let n = 0;
  /** A copy of stories260k with the checkpoint bytes replaced by `bytes`. */
  const withBin = (bytes: Uint8Array) => {
    const dir = copyModel(STORIES260K_DIR, tmp.dir, `bin-${n++}`);
    writeFileSync(join(dir, 'stories260K.bin'), bytes);
    return join(dir, 'stories260K.bin');
  };
  const header = (index: number, value: number) => {
    const bytes = raw.slice();
    new DataView(bytes.buffer).setInt32(4 * index, value, true);
    return bytes;
  };
  const sizes = 'dim 64, hidden_dim 172, 5 layers, 8 heads, 4 KV heads, vocab 512';
  const cases: [string, Uint8Array, string][] = [
    ['truncated by 4 bytes', raw.subarray(0, raw.length - 4), `expected 1056540 bytes for ${sizes} (shared classifier), seq_len 512, but the file has 1056536 bytes`],
    ['4 extra bytes', Uint8Array.from([...raw.subarray(0, 100), ...new Uint8Array(raw.length - 96)]), `expected 1056540 bytes for ${sizes} (shared classifier), seq_len 512, but the file has 1056544 bytes`],
    ['negative vocab without a classifier', header(5, -512), `expected 1187612 bytes for ${sizes} (separate classifier), seq_len 512, but the file has 1056540 bytes`],
    ['shorter than the header', raw.subarray(0, 10), 'expected 4 bytes at offset 8 but the file has only 10 bytes; the file may be truncated'],
    ['zero heads', header(3, 0), 'header field n_heads is 0; expected a positive number'],
    ['negative dim', header(0, -64), 'header field dim is -64; expected a positive number'],
    ['zero vocab', header(5, 0), 'header field vocab_size is 0'],
    ['heads not dividing dim', header(3, 7), 'header n_heads 7 does not divide dim 64'],
    ['kv heads not dividing heads', header(4, 3), 'header n_kv_heads 3 does not divide n_heads 8'],
    ['odd head size', header(3, 64), 'header head size 1 is odd; RoPE needs pairs'],
    ['absurd layer count', header(2, 2 ** 31 - 1), `expected ${28 + 4 * (vocab * dim + (2 ** 31 - 1) * 45440 + dim + 512 * 8)} bytes for dim 64, hidden_dim 172, 2147483647 layers, 8 heads, 4 KV heads, vocab 512 (shared classifier), seq_len 512, but the file has 1056540 bytes`],
  ];
  test.each(cases)('%s', (_, bytes, problem) => {
    const path = withBin(bytes);
    expect(errorOf(() => openLlama2c(path)).message).toBe(`stories260K.bin: ${problem}`);
  });

  test('no tokenizer beside the checkpoint', () => {
    const dir = copyModel(STORIES260K_DIR, tmp.dir, 'no-tok');
    rmSync(join(dir, 'tok512.bin'));
    expect(errorOf(() => openLlama2c(join(dir, 'stories260K.bin'))).message).toBe(
      'stories260K.bin: no tokenizer found: expected tok512.bin or tokenizer.bin in the same folder',
    );
  });
});

describe('corrupt tok512.bin', () => {
  const tok = new Uint8Array(readFileSync(join(STORIES260K_DIR, 'tok512.bin')));
  /** Byte offset of token `id`'s record (score, len, bytes), walked independently. */
  const recordAt = (id: number) => {
    let at = 4;
    for (let i = 0; i < id; i++) at += 8 + new DataView(tok.buffer).getInt32(at + 4, true);
    return at;
  };
  let n = 0;
  const openWith = (bytes: Uint8Array) => {
    const dir = copyModel(STORIES260K_DIR, tmp.dir, `tok-${n++}`);
    writeFileSync(join(dir, 'tok512.bin'), bytes);
    return () => openLlama2c(join(dir, 'stories260K.bin'));
  };
  const set = (offset: number, value: number) => {
    const bytes = tok.slice();
    new DataView(bytes.buffer).setInt32(offset, value, true);
    return bytes;
  };

  test('truncated inside a token', () => {
    const at = recordAt(300); // the record of token 300; cut after its score and length
    const length = new DataView(tok.buffer).getInt32(at + 4, true);
    expect(errorOf(openWith(tok.subarray(0, at + 9))).message).toBe(
      `tok512.bin: expected ${length} bytes at offset ${at + 8} but the file has only ${at + 9} bytes; the file may be truncated`,
    );
  });
  test('trailing bytes', () => {
    expect(errorOf(openWith(Uint8Array.from([...tok, 1, 2, 3]))).message).toBe(
      'tok512.bin: has 3 bytes after the last of 512 tokens; is it the tokenizer for this model?',
    );
  });
  test('a token longer than max_token_length', () => {
    expect(errorOf(openWith(set(recordAt(5) + 4, 999))).message).toBe('tok512.bin: token 5 has length 999, outside 0..max_token_length (7)');
  });
  test('a negative length', () => {
    expect(errorOf(openWith(set(recordAt(0) + 4, -1))).message).toBe('tok512.bin: token 0 has length -1, outside 0..max_token_length (7)');
  });
  test('max_token_length 0', () => {
    expect(errorOf(openWith(set(0, 0))).message).toBe('tok512.bin: max_token_length is 0; expected a positive number');
  });
});

function matvec(w: Float32Array, x: Float32Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[r] += w[r * cols + c] * x[c];
  return y;
}

/** run.c: pairs (2i, 2i+1) of each head rotated by pos·10000^(-2i/hs). */
function ropeInterleaved(v: Float64Array, pos: number, hs: number): Float64Array {
  const out = v.slice();
  for (let j = 0; j < v.length; j += 2) {
    const angle = pos * 10000 ** (-(j % hs) / hs);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    out[j] = v[j] * c - v[j + 1] * s;
    out[j + 1] = v[j] * s + v[j + 1] * c;
  }
  return out;
}

/** HF: x·cos + rotate_half(x)·sin with rotate_half([a, b]) = [-b, a], per head. */
function ropeRotateHalf(v: Float64Array, pos: number, hs: number): Float64Array {
  const out = v.slice();
  const half = hs / 2;
  for (let h = 0; h < v.length; h += hs) {
    for (let i = 0; i < half; i++) {
      const angle = pos * 10000 ** (-(2 * i) / hs);
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      out[h + i] = v[h + i] * c - v[h + half + i] * s;
      out[h + half + i] = v[h + half + i] * c + v[h + i] * s;
    }
  }
  return out;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((sum, x, i) => sum + x * b[i], 0);

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

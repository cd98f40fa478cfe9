// llama2.c's legacy checkpoint (`run.c`, karpathy/llama2.c): a 7 × int32 header, then
// float32 weights back to back in a fixed order. No names, no dtypes, no per-tensor sizes,
// so the only integrity check is that the file size matches the header exactly.
// The tensors are presented under Hugging Face names (w1 = gate_proj, w3 = up_proj,
// w2 = down_proj) so the rest of the engine sees a LlamaForCausalLM.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BinaryReader, HOST_IS_LITTLE_ENDIAN } from './binary.js';
import { Llama2cTokenizer } from '../tokenizer/llama2c.js';
import { ModelError, type Model, type ModelConfig, type TensorInfo } from './types.js';

export interface Llama2cHeader {
  dim: number; // d
  hidden_dim: number; // FFN width
  n_layers: number;
  n_heads: number;
  n_kv_heads: number;
  vocab_size: number; // |header value|; negative in the file = unshared classifier
  seq_len: number;
  shared_classifier: boolean;
}

const HEADER_BYTES = 7 * 4;

/** A tensor's place in the file: [rows, cols] float32 at `offset`, optionally with q/k rows permuted. */
interface Slot {
  shape: number[];
  offset: number;
  /** Heads whose rows are reordered from interleaved to rotate-half order (wq: n_heads, wk: n_kv_heads). */
  permuteHeads?: number;
}

export function readLlama2cHeader(reader: BinaryReader): Llama2cHeader {
  const values = [0, 1, 2, 3, 4, 5, 6].map((i) => reader.i32(4 * i));
  const [dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab, seq_len] = values;
  const fail = (problem: string) => new ModelError(reader.file, `header ${problem}`);
  const named = { dim, hidden_dim, n_layers, n_heads, n_kv_heads, seq_len };
  for (const [key, value] of Object.entries(named)) {
    if (value <= 0) throw fail(`field ${key} is ${value}; expected a positive number`);
  }
  if (vocab === 0) throw fail('field vocab_size is 0');
  if (dim % n_heads !== 0) throw fail(`n_heads ${n_heads} does not divide dim ${dim}`);
  if (n_heads % n_kv_heads !== 0) throw fail(`n_kv_heads ${n_kv_heads} does not divide n_heads ${n_heads}`);
  if ((dim / n_heads) % 2 !== 0) throw fail(`head size ${dim / n_heads} is odd; RoPE needs pairs`);
  return { dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size: Math.abs(vocab), seq_len, shared_classifier: vocab > 0 };
}

/** The file size the header implies, computed before anything is laid out or allocated. */
export function expectedLlama2cSize(h: Llama2cHeader): number {
  const { dim, hidden_dim: hidden, n_layers: L, vocab_size: vocab, seq_len } = h;
  const kvDim = (dim / h.n_heads) * h.n_kv_heads;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * dim * hidden;
  const floats = vocab * dim * (h.shared_classifier ? 1 : 2) + L * perLayer + dim + seq_len * (dim / h.n_heads);
  return HEADER_BYTES + 4 * floats;
}

/** Lays out the weights in run.c's order (memory_map_weights) under HF names. */
export function llama2cLayout(h: Llama2cHeader): Map<string, Slot> {
  const { dim, hidden_dim: hidden, n_layers: L, vocab_size: vocab, seq_len } = h;
  const headSize = dim / h.n_heads;
  const kvDim = headSize * h.n_kv_heads;
  const slots = new Map<string, Slot>();
  let offset = HEADER_BYTES;
  // Adds an [L, ...shape] block (one HF tensor per layer) or, when !perLayer, one tensor.
  const block = (name: (l: number) => string, perLayer: boolean, shape: number[], permuteHeads?: number) => {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    for (let l = 0; l < (perLayer ? L : 1); l++) {
      slots.set(name(l), { shape, offset, permuteHeads });
      offset += bytes;
    }
  };
  const layer = (l: number, rest: string) => `model.layers.${l}.${rest}`;
  block(() => 'model.embed_tokens.weight', false, [vocab, dim]); // token_embedding_table
  block((l) => layer(l, 'input_layernorm.weight'), true, [dim]); // rms_att_weight
  block((l) => layer(l, 'self_attn.q_proj.weight'), true, [dim, dim], h.n_heads); // wq
  block((l) => layer(l, 'self_attn.k_proj.weight'), true, [kvDim, dim], h.n_kv_heads); // wk
  block((l) => layer(l, 'self_attn.v_proj.weight'), true, [kvDim, dim]); // wv
  block((l) => layer(l, 'self_attn.o_proj.weight'), true, [dim, dim]); // wo
  block((l) => layer(l, 'post_attention_layernorm.weight'), true, [dim]); // rms_ffn_weight
  block((l) => layer(l, 'mlp.gate_proj.weight'), true, [hidden, dim]); // w1
  block((l) => layer(l, 'mlp.down_proj.weight'), true, [dim, hidden]); // w2
  block((l) => layer(l, 'mlp.up_proj.weight'), true, [hidden, dim]); // w3
  block(() => 'model.norm.weight', false, [dim]); // rms_final_weight
  offset += 2 * 4 * seq_len * (headSize / 2); // freq_cis_real, freq_cis_imag: legacy, unused
  if (h.shared_classifier) {
    slots.set('lm_head.weight', slots.get('model.embed_tokens.weight')!);
  } else {
    block(() => 'lm_head.weight', false, [vocab, dim]); // wcls
  }
  return slots;
}

/** Opens a llama2.c .bin; the tokenizer is `tokenizer`, else tok<vocab>.bin or tokenizer.bin beside it. */
export function openLlama2c(path: string, options: { tokenizer?: string } = {}): Model {
  const reader = BinaryReader.open(path);
  try {
    const header = readLlama2cHeader(reader);
    const fileSize = expectedLlama2cSize(header);
    if (reader.size !== fileSize) {
      throw new ModelError(
        reader.file,
        `expected ${fileSize} bytes for dim ${header.dim}, hidden_dim ${header.hidden_dim}, ${header.n_layers} layers, ` +
          `${header.n_heads} heads, ${header.n_kv_heads} KV heads, vocab ${header.vocab_size} ` +
          `(${header.shared_classifier ? 'shared' : 'separate'} classifier), seq_len ${header.seq_len}, ` +
          `but the file has ${reader.size} bytes`,
      );
    }
    const slots = llama2cLayout(header);
    const tokenizer = Llama2cTokenizer.open(options.tokenizer ?? findTokenizer(path, header.vocab_size), header.vocab_size);
    const tensors = new Map<string, TensorInfo>();
    for (const [name, slot] of slots) tensors.set(name, { name, dtype: 'F32', shape: slot.shape });
    return {
      format: 'llama2c',
      path,
      config: llama2cConfig(header),
      tensors,
      tokenizer,
      readTensor(name: string): Float32Array {
        const slot = slots.get(name);
        if (!slot) throw new ModelError(reader.file, `has no tensor named "${name}"`);
        const data = readFloats(reader, slot.offset, slot.shape.reduce((a, b) => a * b, 1));
        return slot.permuteHeads ? permuteToRotateHalf(data, slot.permuteHeads, slot.shape[1]) : data;
      },
      readRows(name: string, start: number, count: number): Float32Array {
        const slot = slots.get(name);
        if (!slot) throw new ModelError(reader.file, `has no tensor named "${name}"`);
        const rows = slot.shape[0];
        if (slot.permuteHeads || slot.shape.length !== 2) return this.readTensor(name).slice(start * slot.shape[1], (start + count) * slot.shape[1]);
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
          throw new ModelError(reader.file, `tensor "${name}": rows [${start}, ${start + count}) are outside its ${rows} rows`);
        }
        return readFloats(reader, slot.offset + 4 * start * slot.shape[1], count * slot.shape[1]);
      },
      close: () => reader.close(),
    };
  } catch (error) {
    reader.close();
    throw error;
  }
}

function llama2cConfig(h: Llama2cHeader): ModelConfig {
  return {
    architecture: 'LlamaForCausalLM',
    hidden_size: h.dim,
    intermediate_size: h.hidden_dim,
    num_layers: h.n_layers,
    num_heads: h.n_heads,
    num_kv_heads: h.n_kv_heads,
    head_dim: h.dim / h.n_heads,
    vocab_size: h.vocab_size,
    max_position_embeddings: h.seq_len,
    rms_norm_eps: 1e-5, // run.c's rmsnorm
    rope_theta: 10000, // run.c: 1 / 10000^(head_dim_index / head_size)
    tie_word_embeddings: h.shared_classifier,
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'F32',
  };
}

function findTokenizer(binPath: string, vocabSize: number): string {
  const dir = dirname(binPath);
  const candidates = [`tok${vocabSize}.bin`, 'tokenizer.bin'];
  for (const name of candidates) if (existsSync(join(dir, name))) return join(dir, name);
  throw new ModelError(basename(binPath), `no tokenizer found: expected ${candidates.join(' or ')} in the same folder`);
}

function readFloats(reader: BinaryReader, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (HOST_IS_LITTLE_ENDIAN) {
    reader.readInto(new Uint8Array(out.buffer), offset);
  } else {
    const view = new DataView(reader.bytes(offset, 4 * count).buffer);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/**
 * llama2.c's RoPE rotates interleaved pairs of each head, (x0, x1), (x2, x3), …, pair i by
 * angle pos·θ^(-2i/head_size). Hugging Face's rotate-half rotates (x_i, x_{i+head_size/2})
 * by the same angle. Reordering each head's output rows from [0, 1, 2, 3, …] to
 * [0, 2, 4, …, 1, 3, 5, …] turns one into the other: row i of the new head is old row 2i and
 * row head_size/2 + i is old row 2i+1, so rotate-half pairs exactly the rows that llama2.c
 * paired. q·k is unchanged because q and k get the same permutation within every head.
 * This is `permute()` of transformers' convert_llama_weights_to_hf.py:
 *   w.view(n_heads, head_size // 2, 2, cols).transpose(1, 2).reshape(rows, cols)
 * `w` is [n_heads * head_size, cols], row-major.
 */
export function permuteToRotateHalf(w: Float32Array, nHeads: number, cols: number): Float32Array {
  const rows = w.length / cols;
  const headSize = rows / nHeads;
  const half = headSize / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let t = 0; t < 2; t++) {
        const from = h * headSize + 2 * i + t; // interleaved: pair i is rows 2i, 2i+1
        const to = h * headSize + t * half + i; // rotate-half: pair i is rows i, half+i
        out.set(w.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

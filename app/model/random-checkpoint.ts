// Random-weight Hugging Face checkpoints of real shapes (Llama-3.2-1B, Llama-3-8B,
// Qwen2.5-1.5B, or any size), for the scale benchmark and for tests that need a model on disk
// with many layers. Perplexities of random weights mean nothing: these checkpoints measure
// memory and speed, not quality.
//
// Written like a Hugging Face upload: config.json, bf16 (or f32) safetensors sharded with
// model.safetensors.index.json above `shardBytes`, and the bundled model's tokenizer (its
// 2,048 ids are a valid prefix of any larger vocabulary; config.json's vocab_size is the
// shape's). Values are generated and written tensor by tensor in 4 MB pieces, so writing an
// 8B checkpoint needs no more memory than writing a small one. Scales keep activations O(1):
// linears uniform ±√(3/in), norms 1 ± 0.2, embeddings ±1, biases ±0.5.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { resourcesPath } from './open.js';

export interface RandomShape {
  architecture: 'LlamaForCausalLM' | 'Qwen2ForCausalLM';
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  tied: boolean;
  bias: boolean;
  ropeTheta: number;
  maxPositions: number;
}

/** Published configs (config.json of each model on the Hugging Face hub). */
export const SHAPES: Record<string, RandomShape> = {
  'llama-3.2-1b': { architecture: 'LlamaForCausalLM', hidden: 2048, intermediate: 8192, layers: 16, heads: 32, kvHeads: 8, vocab: 128256, tied: true, bias: false, ropeTheta: 500000, maxPositions: 131072 },
  'llama-3-8b': { architecture: 'LlamaForCausalLM', hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, vocab: 128256, tied: false, bias: false, ropeTheta: 500000, maxPositions: 8192 },
  'qwen2.5-1.5b': { architecture: 'Qwen2ForCausalLM', hidden: 1536, intermediate: 8960, layers: 28, heads: 12, kvHeads: 2, vocab: 151936, tied: true, bias: true, ropeTheta: 1000000, maxPositions: 32768 },
};

export interface RandomCheckpointOptions {
  dtype?: 'BF16' | 'F32';
  /** Start a new shard when the next tensor would pass this size (default 5 GB, as transformers' save_pretrained). */
  shardBytes?: number;
  seed?: number;
}

interface Planned {
  name: string;
  shape: number[];
  scale: number;
  offset: number;
}

/** Every tensor of the shape, in Hugging Face's order, with its value range. */
export function plannedTensors(s: RandomShape): Planned[] {
  const hd = s.hidden / s.heads;
  const q = s.heads * hd;
  const kv = s.kvHeads * hd;
  const out: Planned[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocab, s.hidden], scale: 1, offset: 0 }];
  const linear = (name: string, o: number, i: number) => out.push({ name, shape: [o, i], scale: Math.sqrt(3 / i), offset: 0 });
  const norm = (name: string) => out.push({ name, shape: [s.hidden], scale: 0.2, offset: 1 });
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`);
    linear(`${p}self_attn.q_proj.weight`, q, s.hidden);
    linear(`${p}self_attn.k_proj.weight`, kv, s.hidden);
    linear(`${p}self_attn.v_proj.weight`, kv, s.hidden);
    if (s.bias) for (const [n, w] of [['q', q], ['k', kv], ['v', kv]] as const) out.push({ name: `${p}self_attn.${n}_proj.bias`, shape: [w], scale: 0.5, offset: 0 });
    linear(`${p}self_attn.o_proj.weight`, s.hidden, q);
    norm(`${p}post_attention_layernorm.weight`);
    linear(`${p}mlp.gate_proj.weight`, s.intermediate, s.hidden);
    linear(`${p}mlp.up_proj.weight`, s.intermediate, s.hidden);
    linear(`${p}mlp.down_proj.weight`, s.hidden, s.intermediate);
  }
  norm('model.norm.weight');
  if (!s.tied) linear('lm_head.weight', s.vocab, s.hidden);
  return out;
}

/** Bytes the checkpoint's weights take on disk. */
export function checkpointBytes(s: RandomShape, dtype: 'BF16' | 'F32' = 'BF16'): number {
  return plannedTensors(s).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0) * (dtype === 'BF16' ? 2 : 4);
}

/** Writes the checkpoint folder `dir` (created; must not hold a config.json already). Returns the shard files. */
export function writeRandomCheckpoint(dir: string, shape: RandomShape, options: RandomCheckpointOptions = {}): string[] {
  const dtype = options.dtype ?? 'BF16';
  const item = dtype === 'BF16' ? 2 : 4;
  const shardBytes = options.shardBytes ?? 5e9;
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'config.json'))) throw new Error(`${dir}: already holds a checkpoint (config.json); choose an empty folder`);
  const tensors = plannedTensors(shape);
  const shards: Planned[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * item;
    if (size > 0 && size + bytes > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += bytes;
  }
  const next = xorshift(options.seed ?? 1);
  const pad = (i: number) => String(i).padStart(5, '0');
  const names = shards.length === 1 ? ['model.safetensors'] : shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    writeShard(join(dir, names[i]), shard, dtype, next);
    for (const t of shard) weightMap[t.name] = names[i];
  });
  if (shards.length > 1) {
    const total = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * item, 0);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n');
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(shape, dtype), null, 2) + '\n');
  const tokenizerDir = resourcesPath('models', 'tinystories-656k');
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(tokenizerDir, file))) copyFileSync(join(tokenizerDir, file), join(dir, file));
  }
  writeFileSync(join(dir, 'README.md'), `Random weights of the ${shape.architecture} shape below, written by the EoRA Workbench (app/model/random-checkpoint.ts) for memory and speed benchmarks.\nPerplexities and compression errors of random weights mean nothing. The tokenizer is the bundled TinyStories one (2,048 ids).\n\n${JSON.stringify(shape)}\n`);
  return names;
}

function hfConfig(s: RandomShape, dtype: 'BF16' | 'F32') {
  return {
    architectures: [s.architecture],
    model_type: s.architecture === 'Qwen2ForCausalLM' ? 'qwen2' : 'llama',
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: s.hidden / s.heads,
    vocab_size: s.vocab,
    max_position_embeddings: s.maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: s.ropeTheta,
    tie_word_embeddings: s.tied,
    attention_bias: s.bias,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32',
  };
}

const PIECE = 1 << 20; // values per write: 4 MB of float32 scratch

function writeShard(path: string, tensors: Planned[], dtype: 'BF16' | 'F32', next: () => number): void {
  const item = dtype === 'BF16' ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * item;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, Buffer.from(json, 'utf8'));
    const values = new Float32Array(PIECE);
    const halves = new Uint16Array(PIECE);
    const high = new Uint16Array(values.buffer); // bf16 = the high half of each float32 (little-endian: odd entries)
    for (const t of tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      for (let start = 0; start < count; start += PIECE) {
        const n = Math.min(PIECE, count - start);
        for (let i = 0; i < n; i++) values[i] = t.offset + t.scale * (2 * next() - 1);
        if (dtype === 'F32') {
          writeAll(fd, new Uint8Array(values.buffer, 0, 4 * n));
          continue;
        }
        for (let i = 0; i < n; i++) halves[i] = high[2 * i + 1]; // truncation: fine for random values
        writeAll(fd, new Uint8Array(halves.buffer, 0, 2 * n));
      }
    }
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** xorshift32 → uniform [0, 1): fast and seeded (Math.random is neither reproducible nor needed). */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

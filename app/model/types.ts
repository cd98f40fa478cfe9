// The engine's view of a checkpoint, whatever its file format: a config, an index of tensors
// named as Hugging Face names them, a way to read one tensor as float32, and a tokenizer.
// Readers (safetensors.ts, hf.ts, llama2c.ts) produce a `Model`; nothing above app/model/
// knows which format a model came from.

import type { Tokenizer } from '../tokenizer/types.js';

export type Architecture = 'LlamaForCausalLM' | 'MistralForCausalLM' | 'Qwen2ForCausalLM' | 'Qwen3ForCausalLM';

/**
 * config.json's rope_scaling, normalized: `linear` divides every inverse frequency by factor;
 * `llama3` (Llama 3.1+) divides only the low frequencies, blending in between (rope.ts).
 */
export type RopeScaling =
  | { kind: 'linear'; factor: number }
  | { kind: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };

/** Everything the forward pass needs, normalized across formats. */
export interface ModelConfig {
  architecture: Architecture;
  hidden_size: number; // d
  intermediate_size: number; // MLP width
  num_layers: number;
  num_heads: number; // query heads
  num_kv_heads: number; // key/value heads (GQA when < num_heads)
  head_dim: number; // usually hidden_size / num_heads
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** Absent or null: plain RoPE. */
  rope_scaling?: RopeScaling | null;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3: self_attn.q_norm / k_norm, [head_dim]). */
  qk_norm?: boolean;
  /** lm_head shares the embedding matrix. */
  tie_word_embeddings: boolean;
  /** q/k/v projections have biases (Qwen2). */
  attention_bias: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  /** Storage dtype of the checkpoint's weights (reads always return float32). */
  torch_dtype: TensorDtype;
}

export type TensorDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  /** Hugging Face name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  name: string;
  dtype: TensorDtype;
  /** Row-major; linear weights are [out, in]. */
  shape: number[];
}

/** A tensor's stored bytes: `byteLength` bytes of `dtype` at `offset` of `file`. */
export interface TensorLocation {
  file: string;
  offset: number;
  byteLength: number;
  dtype: TensorDtype;
}

/** A linear module of the decoder, e.g. `model.layers.0.mlp.gate_proj`. */
export interface LinearInfo {
  name: string; // module name without `.weight`
  layer: number;
  kind: LinearKind;
  out: number;
  in: number;
}

export type LinearKind = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj';

export type ModelFormat = 'huggingface' | 'llama2c';

export interface Model {
  format: ModelFormat;
  /** What the user opened: a directory (HF) or the .bin file (llama2.c). */
  path: string;
  config: ModelConfig;
  /**
   * Every tensor by its HF name. Tied embeddings are exposed under both
   * `model.embed_tokens.weight` and `lm_head.weight` (reading either gives the same data).
   * llama2.c checkpoints are presented under HF names with q/k rows permuted so that the
   * Hugging Face rotate-half RoPE applies (see llama2c.ts).
   */
  tensors: Map<string, TensorInfo>;
  /**
   * Reads one tensor from disk as float32 (F16/BF16 converted). Throws ModelError. `into` (of
   * the tensor's length) may be filled and returned instead of a fresh array: a streamed
   * forward reuses the dropped block's arrays, so no page is touched for the first time.
   * Readers that cannot fill it return their own array; the caller checks which it got.
   */
  readTensor(name: string, into?: Float32Array): Float32Array;
  /** Rows [start, start + count) of a tensor (first axis) as float32, reading only those bytes (`into`: as readTensor); absent: callers slice readTensor. */
  readRows?(name: string, start: number, count: number, into?: Float32Array): Float32Array;
  /**
   * Where a tensor's bytes lie in a file, for formats that store them as they are read
   * (safetensors): a streamed forward reads and widens the next block off the main thread
   * (forward/prefetch.ts). Absent, or undefined for a tensor: only readTensor reads it.
   */
  locate?(name: string): TensorLocation | undefined;
  tokenizer: Tokenizer;
  /** Releases file handles. */
  close(): void;
}

/** Any problem with a model's files; the message names the file and the problem. */
export class ModelError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelError';
  }
}

// Synthetic Llama checkpoints for tests: a `Model` whose tensors are seeded random numbers in
// memory, with a fake tokenizer (one token per character). Sizes are scaled so activations
// stay O(1) through the layers, like a trained model's, so errors are measured on realistic
// magnitudes rather than on near-zero logits.
import type { Architecture, Model, ModelConfig, RopeScaling, TensorInfo } from '../../model/types.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { rng } from '../../linalg/random.js';

export interface RandomLlama {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  tied?: boolean;
  bias?: boolean;
  maxPositions?: number;
  seed?: number;
  /** Qwen3: per-head q_norm/k_norm [head_dim] (hidden may differ from heads · headDim). */
  qwen3?: boolean;
  ropeScaling?: RopeScaling;
  ropeTheta?: number;
}

export function randomConfig(o: RandomLlama = {}): ModelConfig {
  const heads = o.heads ?? 4;
  const headDim = o.headDim ?? 8;
  const architecture: Architecture = o.qwen3 ? 'Qwen3ForCausalLM' : o.bias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM';
  return {
    architecture,
    hidden_size: o.hidden ?? heads * headDim,
    intermediate_size: o.intermediate ?? 3 * (o.hidden ?? heads * headDim),
    num_layers: o.layers ?? 2,
    num_heads: heads,
    num_kv_heads: o.kvHeads ?? heads,
    head_dim: headDim,
    vocab_size: o.vocab ?? 97,
    max_position_embeddings: o.maxPositions ?? 64,
    rms_norm_eps: 1e-6,
    rope_theta: o.ropeTheta ?? 10000,
    rope_scaling: o.ropeScaling ?? null,
    qk_norm: o.qwen3 ?? false,
    tie_word_embeddings: o.tied ?? true,
    attention_bias: o.bias ?? false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'F32',
  };
}

/** name → [dims, scale of the uniform values, offset] for every tensor of `config`. */
function tensorPlan(c: ModelConfig): Map<string, { shape: number[]; scale: number; offset: number }> {
  const d = c.hidden_size;
  const qd = c.num_heads * c.head_dim;
  const kvd = c.num_kv_heads * c.head_dim;
  const I = c.intermediate_size;
  const plan = new Map<string, { shape: number[]; scale: number; offset: number }>();
  const linear = (name: string, out: number, inp: number) => plan.set(name, { shape: [out, inp], scale: Math.sqrt(3 / inp), offset: 0 });
  const norm = (name: string, width = d) => plan.set(name, { shape: [width], scale: 0.2, offset: 1 });
  plan.set('model.embed_tokens.weight', { shape: [c.vocab_size, d], scale: 1, offset: 0 });
  for (let l = 0; l < c.num_layers; l++) {
    const p = `model.layers.${l}.`;
    norm(p + 'input_layernorm.weight');
    linear(p + 'self_attn.q_proj.weight', qd, d);
    linear(p + 'self_attn.k_proj.weight', kvd, d);
    linear(p + 'self_attn.v_proj.weight', kvd, d);
    if (c.attention_bias) {
      for (const [n, w] of [['q', qd], ['k', kvd], ['v', kvd]] as const) plan.set(`${p}self_attn.${n}_proj.bias`, { shape: [w], scale: 0.5, offset: 0 });
    }
    if (c.qk_norm) {
      norm(p + 'self_attn.q_norm.weight', c.head_dim);
      norm(p + 'self_attn.k_norm.weight', c.head_dim);
    }
    linear(p + 'self_attn.o_proj.weight', d, qd);
    norm(p + 'post_attention_layernorm.weight');
    linear(p + 'mlp.gate_proj.weight', I, d);
    linear(p + 'mlp.up_proj.weight', I, d);
    linear(p + 'mlp.down_proj.weight', d, I);
  }
  norm('model.norm.weight');
  if (!c.tie_word_embeddings) linear('lm_head.weight', c.vocab_size, d);
  return plan;
}

/** Fake tokenizer: BOS 1, EOS 2, every character → 3 + (code point mod (V − 3)). */
function charTokenizer(vocab: number): Tokenizer {
  const span = vocab - 3;
  return {
    vocabSize: vocab,
    bosId: 1,
    eosId: 2,
    encode: (text, options) => [...(options?.addBos === false ? [] : [1]), ...[...text].map((ch) => 3 + (ch.codePointAt(0)! % span))],
    decode: (ids) => ids.filter((id) => id > 2).map((id) => String.fromCharCode(97 + ((id - 3) % 26))).join(''),
    tokenText: (id) => (id === 1 ? '<s>' : id === 2 ? '</s>' : String.fromCharCode(97 + ((id - 3) % 26))),
  };
}

export function randomModel(options: RandomLlama = {}): Model {
  const config = randomConfig(options);
  const plan = tensorPlan(config);
  const data = new Map<string, Float32Array>();
  const { uniform } = rng(options.seed ?? 1);
  for (const [name, { shape, scale, offset }] of plan) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = offset + scale * (2 * uniform() - 1);
    data.set(name, values);
  }
  const tensors = new Map<string, TensorInfo>([...plan].map(([name, { shape }]) => [name, { name, dtype: 'F32', shape }]));
  if (config.tie_word_embeddings) {
    tensors.set('lm_head.weight', { name: 'lm_head.weight', dtype: 'F32', shape: [config.vocab_size, config.hidden_size] });
    data.set('lm_head.weight', data.get('model.embed_tokens.weight')!);
  }
  return {
    format: 'huggingface',
    path: `random-llama-${options.seed ?? 1}`,
    config,
    tensors,
    readTensor(name) {
      const values = data.get(name);
      if (!values) throw new Error(`random model: no tensor ${name}`);
      return values;
    },
    readRows(name, start, count) {
      const values = data.get(name);
      if (!values) throw new Error(`random model: no tensor ${name}`);
      const width = plan.get(name === 'lm_head.weight' && config.tie_word_embeddings ? 'model.embed_tokens.weight' : name)!.shape[1];
      return values.slice(start * width, (start + count) * width);
    },
    tokenizer: charTokenizer(config.vocab_size),
    close() {},
  };
}

// A synthetic one-layer Llama `Model` with random weights, generated on first read: lets the
// bench time a block of any shape (7B: d 4096, I 11008, 32 heads) through the real ModelRunner
// path without a checkpoint on disk.
import type { Model, ModelConfig, TensorInfo } from '../model/types.js';

export function syntheticLlama(shape: { hidden: number; intermediate: number; heads: number; kvHeads: number; vocab: number; layers: number }): Model {
  const headDim = shape.hidden / shape.heads;
  const config: ModelConfig = {
    architecture: 'LlamaForCausalLM',
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_layers: shape.layers,
    num_heads: shape.heads,
    num_kv_heads: shape.kvHeads,
    head_dim: headDim,
    vocab_size: shape.vocab,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'F32',
  };
  const d = shape.hidden;
  const I = shape.intermediate;
  const shapes: [string, number[]][] = [
    ['model.embed_tokens.weight', [shape.vocab, d]],
    ['lm_head.weight', [shape.vocab, d]],
    ['model.norm.weight', [d]],
  ];
  for (let l = 0; l < shape.layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [p + 'input_layernorm.weight', [d]],
      [p + 'self_attn.q_proj.weight', [shape.heads * headDim, d]],
      [p + 'self_attn.k_proj.weight', [shape.kvHeads * headDim, d]],
      [p + 'self_attn.v_proj.weight', [shape.kvHeads * headDim, d]],
      [p + 'self_attn.o_proj.weight', [d, shape.heads * headDim]],
      [p + 'post_attention_layernorm.weight', [d]],
      [p + 'mlp.gate_proj.weight', [I, d]],
      [p + 'mlp.up_proj.weight', [I, d]],
      [p + 'mlp.down_proj.weight', [d, I]],
    );
  }
  const tensors = new Map<string, TensorInfo>(shapes.map(([name, dims]) => [name, { name, dtype: 'F32', shape: dims }]));
  const data = new Map<string, Float32Array>();
  let state = 0x9e3779b9;
  return {
    format: 'huggingface',
    path: `synthetic-llama-d${d}`,
    config,
    tensors,
    readTensor(name) {
      const key = name === 'lm_head.weight' ? 'model.embed_tokens.weight' : name;
      let values = data.get(key);
      if (!values) {
        const info = tensors.get(key)!;
        values = new Float32Array(info.shape.reduce((a, b) => a * b, 1));
        // xorshift32 → uniform(−a, a), a = √(3 / fan_in): unit-variance activations; norms = 1.
        const a = info.shape.length === 2 ? Math.sqrt(3 / info.shape[1]) : 0;
        for (let i = 0; i < values.length; i++) {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          values[i] = info.shape.length === 2 ? ((state >>> 0) / 2 ** 31 - 1) * a : 1;
        }
        data.set(key, values);
      }
      return values;
    },
    tokenizer: { vocabSize: shape.vocab, bosId: 1, eosId: 2, encode: () => [1], decode: () => '', tokenText: () => '' },
    close() {
      data.clear();
    },
  };
}

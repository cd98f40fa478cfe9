// Writes an in-memory `Model` (e.g. app/forward/testing/randomModel.ts) as a Hugging Face
// folder — config.json in transformers' own keys, model.safetensors (F32), tokenizer.json —
// so tests open it through the real reader (hf.ts) like a downloaded checkpoint.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../types.js';
import { byteLevelTokenizerJson, f32Bytes, writeSafetensors, type FixtureTensor } from './fixtures.js';

/** config.json for `model.config`; `extra` overrides or adds raw keys (rope_scaling as written by HF, …). */
export function hfConfigJson(model: Model, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const c = model.config;
  const s = c.rope_scaling;
  const ropeScaling = !s ? null : s.kind === 'linear' ? { rope_type: 'linear', factor: s.factor } : { ...s, kind: undefined, rope_type: 'llama3' };
  return {
    architectures: [c.architecture],
    model_type: { LlamaForCausalLM: 'llama', MistralForCausalLM: 'mistral', Qwen2ForCausalLM: 'qwen2', Qwen3ForCausalLM: 'qwen3' }[c.architecture],
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_layers,
    num_attention_heads: c.num_heads,
    num_key_value_heads: c.num_kv_heads,
    head_dim: c.head_dim,
    vocab_size: c.vocab_size,
    max_position_embeddings: c.max_position_embeddings,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: ropeScaling,
    tie_word_embeddings: c.tie_word_embeddings,
    attention_bias: c.attention_bias,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    torch_dtype: 'float32',
    ...extra,
  };
}

/** Writes the folder; the vocabulary must hold the byte-level tokenizer's 260 ids. */
export function writeHfFolder(model: Model, dir: string, extra: Record<string, unknown> = {}): void {
  if (model.config.vocab_size < 260) throw new Error(`writeHfFolder: vocab_size ${model.config.vocab_size} < 260 (the test tokenizer's size)`);
  const tensors: Record<string, FixtureTensor> = {};
  for (const [name, info] of model.tensors) {
    if (name === 'lm_head.weight' && model.config.tie_word_embeddings) continue; // tied: stored once, as HF saves it
    tensors[name] = { dtype: 'F32', shape: info.shape, data: f32Bytes(model.readTensor(name)) };
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigJson(model, extra), null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
}

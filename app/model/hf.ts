// A Hugging Face model directory: config.json + model.safetensors (or a sharded
// model.safetensors.index.json) + tokenizer.json. config.json is checked field by field, then
// every tensor the config implies must be stored with exactly the implied shape, so a model
// that opens can be run without further shape checks.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HfTokenizer } from '../tokenizer/hf.js';
import { describe, readJsonObject, type JsonObject } from './json.js';
import { SafetensorsFile, type StoredTensor, type TensorStore } from './safetensors.js';
import { INDEX_FILE, ShardedSafetensors } from './safetensors-index.js';
import { ModelError, type Architecture, type Model, type ModelConfig, type RopeScaling, type TensorDtype, type TensorInfo } from './types.js';
import { checkLayerCount } from './validate.js';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM'];

/** Mixture-of-experts decoders: their MLP is a router over experts, which no graph here runs yet. */
const MOE = /moe|mixtral|deepseek|dbrx|jamba|arctic|grok|olmoe|granitemoe|phimoe|jetmoe|minimax|llama4/i;

const CONFIG = 'config.json';
const EMBED = 'model.embed_tokens.weight';
const LM_HEAD = 'lm_head.weight';
const TORCH_DTYPES: Record<string, TensorDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

/** Reads and checks config.json's fields (torch_dtype is later replaced by the stored dtype). */
export function parseHfConfig(json: JsonObject): ModelConfig {
  const fail = (problem: string) => new ModelError(CONFIG, problem);
  const architecture = Array.isArray(json.architectures) ? json.architectures[0] : undefined;
  if (typeof architecture === 'string' && (MOE.test(architecture) || (json.num_experts ?? json.num_local_experts ?? json.n_routed_experts) != null)) {
    throw fail(`${architecture} is a mixture-of-experts model, which is not supported yet (dense models only: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  if (!SUPPORTED_ARCHITECTURES.includes(architecture as Architecture)) {
    throw fail(`unsupported architecture ${describe(architecture)} (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`);
  }
  const int = (key: string, fallback?: number): number => {
    const value = json[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw fail(`${key} must be a positive integer, got ${describe(json[key])}`);
    return value as number;
  };
  const positive = (key: string, fallback: number): number => {
    const value = json[key] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw fail(`${key} must be a positive number, got ${describe(json[key])}`);
    return value;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const value = json[key] ?? fallback;
    if (typeof value !== 'boolean') throw fail(`${key} must be true or false, got ${describe(json[key])}`);
    return value;
  };
  const tokenId = (key: string): number | null => {
    const raw = json[key];
    const value = Array.isArray(raw) ? raw[0] : raw; // Llama 3 lists several EOS ids; the first is the main one
    if (value === undefined || value === null) return null;
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw fail(`${key} must be a token id, got ${describe(raw)}`);
    return value as number;
  };

  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw fail(`num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  if (json.head_dim == null && hidden % heads !== 0) {
    throw fail(`num_attention_heads ${heads} does not divide hidden_size ${hidden} and head_dim is not given`);
  }
  const isQwen2 = architecture === 'Qwen2ForCausalLM';
  // Qwen2 always has q/k/v biases (its config has no attention_bias field).
  const attentionBias = isQwen2 || bool('attention_bias', false);
  if (attentionBias && !isQwen2) throw fail(`attention_bias true is not supported for ${architecture} (it adds an o_proj bias)`);
  if (bool('mlp_bias', false)) throw fail('mlp_bias true is not supported');
  if (json.sliding_window != null && bool('use_sliding_window', false)) throw fail('use_sliding_window true is not supported (full attention only)');
  const dtypeName = json.torch_dtype ?? json.dtype; // transformers >= 4.56 writes `dtype`
  return {
    architecture: architecture as Architecture,
    hidden_size: hidden,
    intermediate_size: int('intermediate_size'),
    num_layers: int('num_hidden_layers'),
    num_heads: heads,
    num_kv_heads: kvHeads,
    head_dim: int('head_dim', hidden / heads),
    vocab_size: int('vocab_size'),
    max_position_embeddings: int('max_position_embeddings'),
    rms_norm_eps: positive('rms_norm_eps', 1e-6),
    rope_theta: positive('rope_theta', 10000),
    rope_scaling: parseRopeScaling(json.rope_scaling, fail),
    qk_norm: architecture === 'Qwen3ForCausalLM',
    tie_word_embeddings: bool('tie_word_embeddings', false), // LlamaConfig, MistralConfig and Qwen2Config all default to False
    attention_bias: attentionBias,
    bos_token_id: tokenId('bos_token_id'),
    eos_token_id: tokenId('eos_token_id'),
    torch_dtype: (typeof dtypeName === 'string' && TORCH_DTYPES[dtypeName]) || 'F32',
  };
}

/**
 * rope_scaling as transformers reads it: `rope_type` (or the legacy `type`) `linear` or
 * `llama3`; `default` or null is plain RoPE; every other kind is refused by name.
 */
function parseRopeScaling(raw: unknown, fail: (problem: string) => ModelError): RopeScaling | null {
  if (raw == null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw fail(`rope_scaling must be an object or null, got ${describe(raw)}`);
  const r = raw as JsonObject;
  const kind = r.rope_type ?? r.type;
  const num = (key: string, min = 0): number => {
    const value = r[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= min) throw fail(`rope_scaling.${key} must be a number > ${min}, got ${describe(value)}`);
    return value;
  };
  if (kind === 'default') return null;
  if (kind === 'linear') return { kind, factor: num('factor', 0) };
  if (kind === 'llama3') {
    const scaling = {
      kind,
      factor: num('factor', 0),
      low_freq_factor: num('low_freq_factor'),
      high_freq_factor: num('high_freq_factor'),
      original_max_position_embeddings: num('original_max_position_embeddings'),
    } as const;
    if (scaling.high_freq_factor <= scaling.low_freq_factor) throw fail(`rope_scaling.high_freq_factor ${scaling.high_freq_factor} must exceed low_freq_factor ${scaling.low_freq_factor}`);
    return scaling;
  }
  throw fail(`rope_scaling kind ${describe(kind)} is not supported (supported: llama3, linear; not yet dynamic, yarn, longrope)`);
}

/** Every tensor the config implies, with its shape (linear weights are [out, in]). */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const d = c.hidden_size;
  const q = c.num_heads * c.head_dim;
  const kv = c.num_kv_heads * c.head_dim;
  const I = c.intermediate_size;
  const shapes = new Map<string, number[]>([[EMBED, [c.vocab_size, d]]]);
  for (let l = 0; l < c.num_layers; l++) {
    const p = `model.layers.${l}.`;
    shapes.set(`${p}input_layernorm.weight`, [d]);
    shapes.set(`${p}self_attn.q_proj.weight`, [q, d]);
    shapes.set(`${p}self_attn.k_proj.weight`, [kv, d]);
    shapes.set(`${p}self_attn.v_proj.weight`, [kv, d]);
    shapes.set(`${p}self_attn.o_proj.weight`, [d, q]);
    if (c.attention_bias) {
      shapes.set(`${p}self_attn.q_proj.bias`, [q]);
      shapes.set(`${p}self_attn.k_proj.bias`, [kv]);
      shapes.set(`${p}self_attn.v_proj.bias`, [kv]);
    }
    if (c.qk_norm) {
      shapes.set(`${p}self_attn.q_norm.weight`, [c.head_dim]);
      shapes.set(`${p}self_attn.k_norm.weight`, [c.head_dim]);
    }
    shapes.set(`${p}post_attention_layernorm.weight`, [d]);
    shapes.set(`${p}mlp.gate_proj.weight`, [I, d]);
    shapes.set(`${p}mlp.up_proj.weight`, [I, d]);
    shapes.set(`${p}mlp.down_proj.weight`, [d, I]);
  }
  shapes.set('model.norm.weight', [d]);
  shapes.set(LM_HEAD, [c.vocab_size, d]);
  return shapes;
}

export function openHuggingFace(dir: string): Model {
  const config = parseHfConfig(readJsonObject(join(dir, CONFIG)));
  const store = openWeights(dir);
  try {
    const weightsFile = store instanceof SafetensorsFile ? store.file : INDEX_FILE;
    checkLayerCount(config.num_layers, store.tensors.keys(), weightsFile); // before anything is sized by the config
    const stored = resolveNames(store.tensors, config, weightsFile);
    const tensors = new Map<string, TensorInfo>();
    for (const [name, tensor] of stored) tensors.set(name, { name, dtype: tensor.dtype as TensorDtype, shape: tensor.shape });
    config.torch_dtype = tensors.get(`model.layers.0.self_attn.q_proj.weight`)?.dtype ?? config.torch_dtype;

    const tokenizer = HfTokenizer.fromDirectory(dir);
    if (tokenizer.vocabSize > config.vocab_size) {
      throw new ModelError('tokenizer.json', `has ${tokenizer.vocabSize} tokens but ${CONFIG} sets vocab_size ${config.vocab_size}`);
    }
    config.bos_token_id ??= tokenizer.bosId;
    config.eos_token_id ??= tokenizer.eosId;
    return {
      format: 'huggingface',
      path: dir,
      config,
      tensors,
      tokenizer,
      readTensor(name: string, into?: Float32Array): Float32Array {
        const tensor = stored.get(name);
        if (!tensor) throw new ModelError(basename(dir), `has no tensor named "${name}"`);
        return store.read(tensor.name, into);
      },
      readRows(name: string, start: number, count: number, into?: Float32Array): Float32Array {
        const tensor = stored.get(name);
        if (!tensor) throw new ModelError(basename(dir), `has no tensor named "${name}"`);
        return store.readRows(tensor.name, start, count, into);
      },
      locate(name: string) {
        const tensor = stored.get(name);
        return tensor && { file: join(dir, tensor.file), offset: tensor.offset, byteLength: tensor.byteLength, dtype: tensor.dtype as TensorDtype };
      },
      close: () => store.close(),
    };
  } catch (error) {
    store.close();
    throw error;
  }
}

/** The weights of a Hugging Face folder: model.safetensors, or the sharded index (also GPTQ checkpoints, gptq.ts). */
export function openWeights(dir: string): TensorStore {
  if (existsSync(join(dir, 'model.safetensors'))) return SafetensorsFile.open(join(dir, 'model.safetensors'));
  if (existsSync(join(dir, INDEX_FILE))) return ShardedSafetensors.open(join(dir, INDEX_FILE));
  if (existsSync(join(dir, 'pytorch_model.bin'))) {
    throw new ModelError(basename(dir), 'has only PyTorch weights (pytorch_model.bin); convert them to safetensors');
  }
  throw new ModelError(basename(dir), `has no weights: expected model.safetensors or ${INDEX_FILE}`);
}

/**
 * Maps each exposed HF name to the stored tensor behind it, checking dtype and shape of every
 * tensor the config implies. Tied embeddings expose both names over the one stored matrix.
 */
function resolveNames(stored: ReadonlyMap<string, StoredTensor>, c: ModelConfig, weightsFile: string): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const [name, tensor] of stored) {
    if (isFloat(tensor)) out.set(name, tensor);
  }
  if (c.tie_word_embeddings) {
    const shared = stored.get(EMBED) ?? stored.get(LM_HEAD);
    if (!shared) throw new ModelError(weightsFile, `tensor ${EMBED} is missing (and so is ${LM_HEAD})`);
    out.set(EMBED, shared);
    out.set(LM_HEAD, shared); // HF ties lm_head to the embedding even when both are stored
  } else if (!stored.has(LM_HEAD)) {
    throw new ModelError(weightsFile, `tensor ${LM_HEAD} is missing and ${CONFIG} sets tie_word_embeddings false`);
  }
  for (const [name, shape] of expectedTensors(c)) {
    const tensor = out.get(name) ?? stored.get(name);
    if (!tensor) throw new ModelError(weightsFile, `tensor ${name} is missing (${CONFIG} implies ${JSON.stringify(shape)})`);
    if (!isFloat(tensor)) {
      throw new ModelError(tensor.file, `tensor ${name} has dtype ${tensor.dtype}; expected F32, F16 or BF16`);
    }
    if (JSON.stringify(tensor.shape) !== JSON.stringify(shape)) {
      throw new ModelError(
        tensor.file,
        `tensor ${name} has shape ${JSON.stringify(tensor.shape)} but ${CONFIG} implies ${JSON.stringify(shape)}`,
      );
    }
  }
  return out;
}

function isFloat(tensor: StoredTensor): boolean {
  return tensor.dtype === 'F32' || tensor.dtype === 'F16' || tensor.dtype === 'BF16';
}

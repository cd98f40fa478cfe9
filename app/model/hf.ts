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
import { ModelError, type Architecture, type Model, type ModelConfig, type TensorDtype, type TensorInfo } from './types.js';
import { checkLayerCount } from './validate.js';

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM'];

const CONFIG = 'config.json';
const EMBED = 'model.embed_tokens.weight';
const LM_HEAD = 'lm_head.weight';
const TORCH_DTYPES: Record<string, TensorDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

/** Reads and checks config.json's fields (torch_dtype is later replaced by the stored dtype). */
export function parseHfConfig(json: JsonObject): ModelConfig {
  const fail = (problem: string) => new ModelError(CONFIG, problem);
  const architecture = Array.isArray(json.architectures) ? json.architectures[0] : undefined;
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
  if (json.rope_scaling != null) throw fail(`rope_scaling ${describe(json.rope_scaling)} is not supported (plain RoPE only)`);
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
    tie_word_embeddings: bool('tie_word_embeddings', false), // LlamaConfig, MistralConfig and Qwen2Config all default to False
    attention_bias: attentionBias,
    bos_token_id: tokenId('bos_token_id'),
    eos_token_id: tokenId('eos_token_id'),
    torch_dtype: (typeof dtypeName === 'string' && TORCH_DTYPES[dtypeName]) || 'F32',
  };
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
      readTensor(name: string): Float32Array {
        const tensor = stored.get(name);
        if (!tensor) throw new ModelError(basename(dir), `has no tensor named "${name}"`);
        return store.read(tensor.name);
      },
      readRows(name: string, start: number, count: number): Float32Array {
        const tensor = stored.get(name);
        if (!tensor) throw new ModelError(basename(dir), `has no tensor named "${name}"`);
        return store.readRows(tensor.name, start, count);
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

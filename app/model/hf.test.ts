import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { openHuggingFace } from './hf.js';
import { summarizeModel } from './inspect.js';
import { openModel } from './open.js';
import {
  byteLevelTokenizerJson, copyModel, errorOf, sameBits, f32At, f32Bytes, safetensorsBytes, tempDir, TINY_DIR, writeSafetensors,
  type FixtureTensor,
} from './testing/fixtures.js';

const tmp = tempDir('eora-hf-');
afterAll(tmp.cleanup);

/** The bundled safetensors parsed by hand: header entries, raw bytes and where data starts. */
function rawTiny() {
  const raw = new Uint8Array(readFileSync(join(TINY_DIR, 'model.safetensors')));
  const headerLength = Number(new DataView(raw.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  return { raw, header, dataStart: 8 + headerLength };
}

describe('the bundled TinyStories-656K', () => {
  test('config, tensors and parameter count', async () => {
    const model = await openModel();
    const c = model.config;
    expect(model.format).toBe('huggingface');
    expect([c.architecture, c.hidden_size, c.intermediate_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim]).toEqual(['LlamaForCausalLM', 128, 384, 2, 8, 4, 16]);
    expect([c.vocab_size, c.max_position_embeddings, c.rms_norm_eps, c.rope_theta, c.tie_word_embeddings, c.attention_bias]).toEqual([2048, 512, 1e-6, 10000, true, false]);
    expect([c.bos_token_id, c.eos_token_id, c.torch_dtype]).toEqual([1, 2, 'F32']);
    // 20 stored tensors, plus model.embed_tokens.weight exposed over the stored lm_head.
    expect(model.tensors.size).toBe(21);
    expect(model.tensors.get('model.embed_tokens.weight')).toEqual({ name: 'model.embed_tokens.weight', dtype: 'F32', shape: [2048, 128] });

    const { header } = rawTiny();
    let stored = 0;
    for (const [name, entry] of Object.entries(header)) if (name !== '__metadata__') stored += entry.shape.reduce((a, b) => a * b, 1);
    const summary = summarizeModel(model);
    expect(stored).toBe(656_000);
    expect(summary.parameters).toBe(stored);
    expect(summary.linears).toHaveLength(14);
    model.close();
  });

  test('tensor values match an independent read of the file', async () => {
    const model = await openModel();
    const { raw, header, dataStart } = rawTiny();
    for (const name of ['model.layers.0.self_attn.k_proj.weight', 'model.layers.1.mlp.gate_proj.weight', 'model.layers.1.post_attention_layernorm.weight']) {
      const values = model.readTensor(name);
      const begin = dataStart + header[name].data_offsets[0];
      for (const k of [0, 5, 1000 % values.length, values.length - 1]) expect(values[k]).toBe(f32At(raw, begin + 4 * k));
    }
    // Tied: the embedding reads the stored lm_head bytes.
    const embed = model.readTensor('model.embed_tokens.weight');
    expect(sameBits(embed, model.readTensor('lm_head.weight'))).toBe(true);
    expect(embed[128 * 1 + 3]).toBe(f32At(raw, dataStart + header['lm_head.weight'].data_offsets[0] + 4 * (128 + 3)));
    model.close();
  });
});

/** A writable copy of the bundled model with config.json edited by `edit`. */
function withConfig(edit: (config: Record<string, unknown>) => void, name: string): string {
  const dir = copyModel(TINY_DIR, tmp.dir, name);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

describe('corrupt Hugging Face directories', () => {
  let n = 0;
  const configCases: [string, (c: Record<string, unknown>) => void, string][] = [
    ['unsupported architecture', (c) => (c.architectures = ['GPT2LMHeadModel']),
      'config.json: unsupported architecture "GPT2LMHeadModel" (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)'],
    ['no architectures', (c) => delete c.architectures, 'config.json: unsupported architecture nothing (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)'],
    ['hidden_size a string', (c) => (c.hidden_size = 'abc'), 'config.json: hidden_size must be a positive integer, got "abc"'],
    ['no intermediate_size', (c) => delete c.intermediate_size, 'config.json: intermediate_size must be a positive integer, got nothing'],
    ['negative eps', (c) => (c.rms_norm_eps = -1), 'config.json: rms_norm_eps must be a positive number, got -1'],
    ['kv heads not dividing heads', (c) => (c.num_key_value_heads = 3), 'config.json: num_key_value_heads 3 does not divide num_attention_heads 8'],
    ['tie_word_embeddings a string', (c) => (c.tie_word_embeddings = 'yes'), 'config.json: tie_word_embeddings must be true or false, got "yes"'],
    ['rope_scaling yarn', (c) => (c.rope_scaling = { type: 'yarn', factor: 2 }), 'config.json: rope_scaling kind "yarn" is not supported (supported: llama3, linear; not yet dynamic, yarn, longrope)'],
    ['attention_bias on Llama', (c) => (c.attention_bias = true), 'config.json: attention_bias true is not supported for LlamaForCausalLM (it adds an o_proj bias)'],
    ['hidden_size disagrees with tensors', (c) => (c.hidden_size = 256),
      'model.safetensors: tensor model.embed_tokens.weight has shape [2048,128] but config.json implies [2048,256]'],
    ['kv heads disagree with tensors', (c) => (c.num_key_value_heads = 8),
      'model.safetensors: tensor model.layers.0.self_attn.k_proj.weight has shape [64,128] but config.json implies [128,128]'],
    ['head_dim disagrees with tensors', (c) => (c.head_dim = 8),
      'model.safetensors: tensor model.layers.0.self_attn.q_proj.weight has shape [128,128] but config.json implies [64,128]'],
    ['intermediate_size disagrees', (c) => (c.intermediate_size = 512),
      'model.safetensors: tensor model.layers.0.mlp.gate_proj.weight has shape [384,128] but config.json implies [512,128]'],
    ['more layers than stored', (c) => (c.num_hidden_layers = 3),
      'model.safetensors: config.json sets num_hidden_layers 3 but the weights hold tensors for 2 layers'],
    ['untied but only lm_head stored', (c) => (c.tie_word_embeddings = false),
      'model.safetensors: tensor model.embed_tokens.weight is missing (config.json implies [2048,128])'],
    ['Qwen2 without biases', (c) => (c.architectures = ['Qwen2ForCausalLM']),
      'model.safetensors: tensor model.layers.0.self_attn.q_proj.bias is missing (config.json implies [128])'],
    ['vocab_size disagrees with tensors', (c) => (c.vocab_size = 1000),
      'model.safetensors: tensor model.embed_tokens.weight has shape [2048,128] but config.json implies [1000,128]'],
  ];
  test.each(configCases)('config.json: %s', (_, edit, message) => {
    const dir = withConfig(edit, `config-${n++}`);
    expect(errorOf(() => openHuggingFace(dir)).message).toBe(message);
  });

  const fileCases: [string, (dir: string) => void, string][] = [
    ['config.json is an array', (d) => writeFileSync(join(d, 'config.json'), '[1]'), 'config.json: the file must be a JSON object, got an array'],
    ['config.json is not JSON', (d) => writeFileSync(join(d, 'config.json'), '{"hidden_size": 12'), 'config.json: the file is not valid JSON'],
    ['config.json is missing', (d) => rmSync(join(d, 'config.json')), 'config.json: no such file or directory'],
    ['no weights', (d) => rmSync(join(d, 'model.safetensors')), 'files-3: has no weights: expected model.safetensors or model.safetensors.index.json'],
    ['tokenizer.json is missing', (d) => rmSync(join(d, 'tokenizer.json')), 'tokenizer.json: no such file or directory'],
    ['tokenizer.json is not JSON', (d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {'), 'tokenizer.json: the file is not valid JSON'],
    ['tokenizer.json is an array', (d) => writeFileSync(join(d, 'tokenizer.json'), '[]'), 'tokenizer.json: the file must be a JSON object, got an array'],
    ['tokenizer.json has no model', (d) => writeFileSync(join(d, 'tokenizer.json'), '{"version": "1.0"}'), 'tokenizer.json: has no "model" object with a "type"'],
    ['tokenizer.json BPE without merges', (d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {}}}'),
      'tokenizer.json: BPE model needs a "vocab" object and a "merges" array'],
    ['tokenizer.json of an unknown model type', (d) => writeFileSync(join(d, 'tokenizer.json'), '{"model": {"type": "Nope"}, "decoder": null}'),
      'tokenizer.json: cannot be loaded: Unknown TokenizerModel type: Nope'],
    ['tokenizer_config.json is an array', (d) => writeFileSync(join(d, 'tokenizer_config.json'), '[]'), 'tokenizer_config.json: the file must be a JSON object, got an array'],
    ['safetensors truncated', (d) => writeFileSync(join(d, 'model.safetensors'), readFileSync(join(d, 'model.safetensors')).subarray(0, 1000)),
      'model.safetensors: header length 2160 goes beyond the end of the file (1000 bytes)'],
  ];
  let m = 0;
  test.each(fileCases)('%s', (_, breakIt, message) => {
    const dir = copyModel(TINY_DIR, tmp.dir, `files-${m++}`);
    breakIt(dir);
    expect(errorOf(() => openHuggingFace(dir)).message).toBe(message);
  });

  test('untied embeddings need lm_head.weight', () => {
    // Rename the stored lm_head to the embedding: tied, both names work; untied, lm_head is missing.
    const dir = copyModel(TINY_DIR, tmp.dir, 'only-embed');
    const { raw, header, dataStart } = rawTiny();
    const renamed = Object.fromEntries(Object.entries(header).map(([k, v]) => [k === 'lm_head.weight' ? 'model.embed_tokens.weight' : k, v]));
    delete (renamed as Record<string, unknown>).__metadata__;
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(renamed, raw.subarray(dataStart)));
    const model = openHuggingFace(dir);
    expect(sameBits(model.readTensor('lm_head.weight'), model.readTensor('model.embed_tokens.weight'))).toBe(true);
    model.close();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: false }));
    expect(errorOf(() => openHuggingFace(dir)).message).toBe(
      'model.safetensors: tensor lm_head.weight is missing and config.json sets tie_word_embeddings false',
    );
  });
});

describe('other layouts', () => {
  test('a sharded copy reads the same tensors', async () => {
    const dir = copyModel(TINY_DIR, tmp.dir, 'sharded');
    const { raw, header, dataStart } = rawTiny();
    rmSync(join(dir, 'model.safetensors'));
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const weightMap: Record<string, string> = {};
    for (const [i, part] of [names.slice(0, 7), names.slice(7)].entries()) {
      const shard = `model-0000${i + 1}-of-00002.safetensors`;
      const tensors: Record<string, FixtureTensor> = {};
      for (const name of part) {
        const { shape, data_offsets: [b, e] } = header[name];
        tensors[name] = { dtype: 'F32', shape, data: raw.slice(dataStart + b, dataStart + e) };
        weightMap[name] = shard;
      }
      writeSafetensors(join(dir, shard), tensors);
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 2624000 }, weight_map: weightMap }));
    const [sharded, single] = [await openModel(dir), await openModel()];
    expect(summarizeModel(sharded).parameters).toBe(656_000);
    for (const name of single.tensors.keys()) expect(sameBits(sharded.readTensor(name), single.readTensor(name)), name).toBe(true);
    sharded.close();
    single.close();
  });

  test('a tiny Qwen2 in F16/BF16 with q/k/v biases and a byte-level tokenizer', () => {
    const dir = join(tmp.dir, 'qwen2');
    const d = 4, heads = 2, kv = 1, hd = 2, I = 6, V = 260;
    const config = {
      architectures: ['Qwen2ForCausalLM'], hidden_size: d, intermediate_size: I, num_hidden_layers: 1, num_attention_heads: heads,
      num_key_value_heads: kv, vocab_size: V, max_position_embeddings: 32, rms_norm_eps: 1e-6, rope_theta: 1e6,
      tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: null, eos_token_id: 259,
    };
    // Every element of a tensor is one value; F16 0x3c00 = 1, BF16 0x4000 = 2.
    const fill = (dtype: 'F16' | 'BF16', shape: number[]): FixtureTensor => {
      const n = shape.reduce((a, b) => a * b, 1);
      return { dtype, shape, data: new Uint8Array(new Uint16Array(n).fill(dtype === 'F16' ? 0x3c00 : 0x4000).buffer) };
    };
    const p = 'model.layers.0.';
    const tensors: Record<string, FixtureTensor> = {
      'model.embed_tokens.weight': fill('BF16', [V, d]), 'model.norm.weight': fill('F16', [d]),
      [`${p}input_layernorm.weight`]: fill('F16', [d]), [`${p}post_attention_layernorm.weight`]: fill('F16', [d]),
      [`${p}self_attn.q_proj.weight`]: fill('BF16', [heads * hd, d]), [`${p}self_attn.q_proj.bias`]: fill('F16', [heads * hd]),
      [`${p}self_attn.k_proj.weight`]: fill('BF16', [kv * hd, d]), [`${p}self_attn.k_proj.bias`]: fill('F16', [kv * hd]),
      [`${p}self_attn.v_proj.weight`]: fill('BF16', [kv * hd, d]), [`${p}self_attn.v_proj.bias`]: fill('F16', [kv * hd]),
      [`${p}self_attn.o_proj.weight`]: fill('BF16', [d, heads * hd]),
      [`${p}mlp.gate_proj.weight`]: fill('BF16', [I, d]), [`${p}mlp.up_proj.weight`]: fill('BF16', [I, d]), [`${p}mlp.down_proj.weight`]: fill('BF16', [d, I]),
      'model.rotary_emb.inv_freq': { dtype: 'I32', shape: [1], data: f32Bytes([0]) }, // a non-float extra is left out
    };
    copyModel(TINY_DIR, tmp.dir, 'qwen2'); // for the folder; everything inside is replaced
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeSafetensors(join(dir, 'model.safetensors'), tensors);
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>', tokenizer_class: 'Qwen2Tokenizer' }));
    const model = openHuggingFace(dir);
    expect(model.config.attention_bias).toBe(true);
    expect(model.config.torch_dtype).toBe('BF16');
    expect([model.config.bos_token_id, model.config.eos_token_id, model.config.rope_theta]).toEqual([null, 259, 1e6]);
    expect(model.tensors.has('model.rotary_emb.inv_freq')).toBe(false);
    expect([...model.readTensor(`${p}self_attn.k_proj.bias`)]).toEqual([1, 1]);
    expect(model.readTensor('lm_head.weight').every((x) => x === 2)).toBe(true);
    expect(model.tokenizer.encode(' the')).toEqual([258]);
    // embedding (tied: once) + 3 norms + q, k, v with biases + o + gate, up, down
    expect(summarizeModel(model).parameters).toBe(V * d + 3 * d + (16 + 4) + (8 + 2) + (8 + 2) + 16 + 3 * I * d);
    model.close();
  });
});

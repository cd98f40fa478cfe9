// Model families as researchers have them (issue 13): Llama 3.1+ RoPE scaling, Qwen3's q/k
// norms with head_dim · heads ≠ hidden, explicit head_dim, tied either way. Each is written to
// disk as a Hugging Face folder, opened by the real reader, run by the ONNX runner and compared
// with the float64 reference forward: NLL within 1e-4 relative, greedy ids identical.
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../model/open.js';
import { errorOf, tempDir } from '../model/testing/fixtures.js';
import { hfConfigJson, writeHfFolder } from '../model/testing/hfFolder.js';
import { parseHfConfig } from '../model/hf.js';
import { summarizeModel } from '../model/inspect.js';
import { writeHfCheckpoint } from '../export/hf-checkpoint.js';
import type { FormatContext } from '../export/types.js';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Model } from '../model/types.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { inverseFrequencies } from './rope.js';
import { ModelRunner } from './runner.js';
import { randomModel, type RandomLlama } from './testing/randomModel.js';
import { ReferenceLlama } from './testing/reference.js';

const sessions = new SessionCache('cpu');
const temp = tempDir('eora-families-');
afterAll(async () => {
  await sessions.release();
  temp.cleanup();
});

// hd 8, θ 10⁴: wavelengths 2π·{1, 10, 100, 1000} ≈ 6, 63, 628, 6283 positions. With an original
// context of 64, low 1, high 4, the llama3 rule keeps the first (< 16), blends the second
// (16..64) and divides the last two (> 64) by the factor: every branch is exercised.
const llama3 = { kind: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } as const;
const families: [string, RandomLlama][] = [
  ['Llama 3.1 (rope_scaling llama3, GQA, tied)', { heads: 4, kvHeads: 2, ropeScaling: llama3, seed: 21 }],
  ['Llama (rope_scaling linear, untied)', { heads: 4, kvHeads: 4, ropeScaling: { kind: 'linear', factor: 4 }, tied: false, seed: 22 }],
  ['Qwen3 (q/k norm, head_dim 16 · 4 heads ≠ hidden 48, GQA, tied)', { qwen3: true, heads: 4, kvHeads: 2, headDim: 16, hidden: 48, seed: 23 }],
  ['Qwen3 (q/k norm, untied, llama3 scaling)', { qwen3: true, heads: 2, kvHeads: 1, headDim: 8, hidden: 24, tied: false, ropeScaling: llama3, seed: 24 }],
  ['Llama with explicit head_dim (Mistral-Nemo style: 4 · 16 ≠ 32)', { heads: 4, kvHeads: 2, headDim: 16, hidden: 32, tied: false, seed: 25 }],
];
const TEXT = 'Once upon a time the little cat sat on the warm mat and looked at the sun.';

/** Writes `options`' random model as an HF folder and opens it with the real reader. */
async function onDisk(label: string, options: RandomLlama): Promise<Model> {
  const dir = `${temp.dir}/${label.replace(/\W+/g, '_')}`;
  mkdirSync(dir);
  writeHfFolder(randomModel({ vocab: 300, layers: 2, ...options }), dir);
  return openModel(dir);
}

/** Σ −log p(next) over the sequence in float64 from reference logits. */
function referenceNll(reference: ReferenceLlama, ids: number[]): number {
  const logits = reference.logits(ids);
  let total = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = logits[t];
    const max = Math.max(...row);
    total += max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[ids[t + 1]];
  }
  return total;
}

async function greedy(runner: ModelRunner, prompt: number[], n: number, V: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < n; i++) {
    const last = await runner.forwardLastLogits(Int32Array.from(ids), [1, ids.length]);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    ids.push(best);
  }
  return ids.slice(prompt.length);
}

describe('model families vs the float64 reference', () => {
  for (const [label, options] of families) {
    it(label, async () => {
      const model = await onDisk(label, options);
      expect(model.config.architecture).toBe(options.qwen3 ? 'Qwen3ForCausalLM' : 'LlamaForCausalLM');
      expect(model.config.rope_scaling ?? null).toEqual(options.ropeScaling ?? null);
      const ids = model.tokenizer.encode(TEXT);
      expect(ids.length).toBeGreaterThan(40); // long enough for the scaled low frequencies to matter
      const runner = await ModelRunner.create(model, { sessions });
      const reference = new ReferenceLlama(model);
      const targets = Int32Array.from([...ids.slice(1), 0]);
      const nll = await runner.forwardNll(Int32Array.from(ids), targets, [1, ids.length]);
      let ours = 0;
      for (let t = 0; t + 1 < ids.length; t++) ours += nll[t];
      const expected = referenceNll(reference, ids);
      expect(Math.abs(ours - expected) / expected).toBeLessThan(1e-4);

      const prompt = ids.slice(0, 12);
      expect(await greedy(runner, prompt, 6, model.config.vocab_size)).toEqual(reference.greedy(prompt, 6).slice(0, 6));
      await runner.release();
      model.close();
    });
  }

  it('the scaling and the q/k norms change the result (they are not ignored)', async () => {
    const nllOf = async (options: RandomLlama) => {
      const model = randomModel({ vocab: 300, seed: 30, ...options });
      const runner = await ModelRunner.create(model, { sessions });
      const ids = Array.from({ length: 60 }, (_, i) => (i * 37) % 300);
      const nll = await runner.forwardNll(Int32Array.from(ids), Int32Array.from([...ids.slice(1), 0]), [1, ids.length]);
      await runner.release();
      return nll.slice(0, -1).reduce((a, b) => a + b, 0);
    };
    const plain = await nllOf({});
    expect(Math.abs((await nllOf({ ropeScaling: llama3 })) - plain)).toBeGreaterThan(1e-3);
    expect(Math.abs((await nllOf({ ropeScaling: { kind: 'linear', factor: 4 } })) - plain)).toBeGreaterThan(1e-3);
  });
});

describe('inspect and export of the new families', () => {
  it('the summary names the family, the RoPE scaling and the norms', async () => {
    const model = await onDisk('summary qwen3', { qwen3: true, heads: 2, kvHeads: 1, headDim: 8, hidden: 24, ropeScaling: llama3 });
    const summary = summarizeModel(model);
    expect([summary.family, summary.rope, summary.norms]).toEqual([
      'Qwen3',
      'llama3 factor 8, low 1, high 4, original 64 (θ 10000)',
      'RMSNorm (eps 0.000001) before attention and MLP, per-head q/k RMSNorm before RoPE',
    ]);
    model.close();
  });

  it('a checkpoint export of Qwen3 keeps config.json exactly and reloads with the same NLL', async () => {
    const model = await onDisk('export qwen3', { qwen3: true, heads: 4, kvHeads: 2, headDim: 16, hidden: 48, ropeScaling: llama3, seed: 26 });
    const out = `${temp.dir}/export_qwen3_out`;
    mkdirSync(out);
    const ctx = { model, options: {}, begin: () => {}, step: () => {}, notes: {} } as unknown as FormatContext;
    writeHfCheckpoint(ctx, out, 'F32', () => null);
    const config = (dir: string) => JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
    expect(config(out)).toEqual(config(model.path));
    const reloaded = await openModel(out);
    const ids = model.tokenizer.encode(TEXT);
    const nllOf = async (m: Model) => {
      const runner = await ModelRunner.create(m, { sessions });
      const nll = await runner.forwardNll(Int32Array.from(ids), Int32Array.from([...ids.slice(1), 0]), [1, ids.length]);
      await runner.release();
      return nll.slice(0, -1).reduce((a, b) => a + b, 0);
    };
    expect(await nllOf(reloaded)).toBe(await nllOf(model));
    reloaded.close();
    model.close();
  });
});

describe('RoPE scaling of the inverse frequencies', () => {
  it('llama3 keeps short wavelengths, divides long ones, blends between (monotone)', () => {
    // Llama 3.1 8B's rope: hd 128, θ 5·10⁵, factor 8, low 1, high 4, original 8192.
    const scaling = { kind: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } as const;
    const plain = inverseFrequencies(128, 500000);
    const scaled = inverseFrequencies(128, 500000, scaling);
    let blended = 0;
    for (let i = 0; i < 64; i++) {
      const wavelength = (2 * Math.PI) / plain[i];
      if (wavelength < 8192 / 4) expect(scaled[i]).toBe(plain[i]);
      else if (wavelength > 8192) expect(scaled[i]).toBeCloseTo(plain[i] / 8, 15);
      else {
        blended++;
        expect(scaled[i]).toBeLessThan(plain[i]);
        expect(scaled[i]).toBeGreaterThan(plain[i] / 8);
      }
      if (i > 0) expect(scaled[i]).toBeLessThan(scaled[i - 1]); // still strictly decreasing
    }
    expect(blended).toBeGreaterThan(0);
  });

  it('linear divides every frequency by the factor', () => {
    const plain = inverseFrequencies(16, 10000);
    inverseFrequencies(16, 10000, { kind: 'linear', factor: 2.5 }).forEach((f, i) => expect(f).toBeCloseTo(plain[i] / 2.5, 15));
  });
});

describe('configs refused in one line, by name', () => {
  const base = hfConfigJson(randomModel({ vocab: 300 }));
  const cases: [string, Record<string, unknown>, string][] = [
    ['yarn', { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }, 'config.json: rope_scaling kind "yarn" is not supported (supported: llama3, linear; not yet dynamic, yarn, longrope)'],
    ['dynamic (legacy type key)', { rope_scaling: { type: 'dynamic', factor: 2 } }, 'config.json: rope_scaling kind "dynamic" is not supported (supported: llama3, linear; not yet dynamic, yarn, longrope)'],
    ['longrope', { rope_scaling: { rope_type: 'longrope', short_factor: [1], long_factor: [2] } }, 'config.json: rope_scaling kind "longrope" is not supported (supported: llama3, linear; not yet dynamic, yarn, longrope)'],
    ['llama3 without factor', { rope_scaling: { rope_type: 'llama3', low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, 'config.json: rope_scaling.factor must be a number > 0, got nothing'],
    ['Mixtral', { architectures: ['MixtralForCausalLM'], num_local_experts: 8 }, 'config.json: MixtralForCausalLM is a mixture-of-experts model, which is not supported yet (dense models only: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)'],
    ['Qwen3-MoE', { architectures: ['Qwen3MoeForCausalLM'], num_experts: 128 }, 'config.json: Qwen3MoeForCausalLM is a mixture-of-experts model, which is not supported yet (dense models only: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)'],
    ['DeepSeek-V3', { architectures: ['DeepseekV3ForCausalLM'], n_routed_experts: 256 }, 'config.json: DeepseekV3ForCausalLM is a mixture-of-experts model, which is not supported yet (dense models only: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)'],
  ];
  for (const [label, edit, message] of cases) {
    it(label, () => {
      const error = errorOf(() => parseHfConfig({ ...base, ...edit } as never));
      expect(error.message).toBe(message);
      expect(error.message).not.toContain('\n');
    });
  }

  it('rope_type default and null are plain RoPE', () => {
    expect(parseHfConfig({ ...base, rope_scaling: { rope_type: 'default' } } as never).rope_scaling).toBeNull();
    expect(parseHfConfig({ ...base, rope_scaling: null } as never).rope_scaling).toBeNull();
  });
});

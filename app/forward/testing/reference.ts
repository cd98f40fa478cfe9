// A slow, obviously-correct float64 Llama forward for tests, written line for line after
// HF transformers' modeling_llama.py (LlamaRMSNorm, LlamaRotaryEmbedding, repeat_kv,
// eager_attention_forward, LlamaMLP, LlamaDecoderLayer). One sequence, no batching, no cache.
import type { Model } from '../../model/types.js';

type Rows = Float64Array[]; // [T][width]

/** Per layer, the rows entering each distinct linear input (see calibration.ts' GramName). */
export type LinearInputs = Record<'attn_in' | 'o_in' | 'mlp_in' | 'down_in', Rows>[];

export class ReferenceLlama {
  private readonly cache = new Map<string, Float64Array>();
  private taps: LinearInputs | null = null;

  constructor(readonly model: Model) {}

  /** tokens [T] → logits [T][V] (or only the last row when `lastOnly`). */
  logits(tokens: readonly number[], lastOnly = false): Rows {
    const c = this.model.config;
    let x: Rows = tokens.map((id) => this.w('model.embed_tokens.weight').slice(id * c.hidden_size, (id + 1) * c.hidden_size));
    for (let l = 0; l < c.num_layers; l++) x = this.layer(l, x);
    if (lastOnly) x = [x[x.length - 1]];
    const normed = this.rmsNorm(x, this.w('model.norm.weight'));
    return this.linear(normed, c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  }

  /** The inputs of every linear for one sequence, per layer (to check calibration statistics). */
  linearInputs(tokens: readonly number[]): LinearInputs {
    this.taps = [];
    try {
      this.logits(tokens, true);
      return this.taps;
    } finally {
      this.taps = null;
    }
  }

  /** Greedy continuation: argmax of the last position's logits (lowest id on ties), n tokens or EOS. */
  greedy(prompt: readonly number[], n: number): number[] {
    const ids = [...prompt];
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const [logits] = this.logits(ids, true);
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      out.push(best);
      ids.push(best);
      if (best === this.model.config.eos_token_id) break;
    }
    return out;
  }

  // LlamaDecoderLayer.forward: residual + attn(norm(x)), then residual + mlp(norm(x)).
  private layer(l: number, x: Rows): Rows {
    const c = this.model.config;
    const p = `model.layers.${l}.`;
    const T = x.length;
    const hd = c.head_dim;
    const group = c.num_heads / c.num_kv_heads;
    const h = this.rmsNorm(x, this.w(p + 'input_layernorm.weight'));
    const bias = (n: string) => (c.attention_bias ? this.w(`${p}self_attn.${n}_proj.bias`) : undefined);
    // Qwen3Attention: q_norm / k_norm is an RMSNorm over each head's hd values, before RoPE.
    const headNorm = (x: Rows, name: string): Rows =>
      c.qk_norm ? x.map((row) => Float64Array.from(this.rmsNorm(chunks(row, hd), this.w(p + name)).flatMap((r) => [...r]))) : x;
    const q = this.rope(headNorm(this.linear(h, p + 'self_attn.q_proj.weight', bias('q')), 'self_attn.q_norm.weight'), c.num_heads);
    const k = this.rope(headNorm(this.linear(h, p + 'self_attn.k_proj.weight', bias('k')), 'self_attn.k_norm.weight'), c.num_kv_heads);
    const v = this.linear(h, p + 'self_attn.v_proj.weight', bias('v'));

    // eager_attention_forward with repeat_kv: query head hq attends with KV head ⌊hq / group⌋.
    const attn: Rows = Array.from({ length: T }, () => new Float64Array(c.num_heads * hd));
    for (let hq = 0; hq < c.num_heads; hq++) {
      const kv = Math.floor(hq / group);
      for (let t = 0; t < T; t++) {
        const scores = new Float64Array(t + 1); // causal: keys 0..t
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t][hq * hd + i] * k[j][kv * hd + i];
          scores[j] = dot / Math.sqrt(hd);
        }
        const max = Math.max(...scores);
        let sum = 0;
        for (let j = 0; j <= t; j++) sum += scores[j] = Math.exp(scores[j] - max);
        for (let j = 0; j <= t; j++) {
          for (let i = 0; i < hd; i++) attn[t][hq * hd + i] += (scores[j] / sum) * v[j][kv * hd + i];
        }
      }
    }
    const h1 = add(x, this.linear(attn, p + 'self_attn.o_proj.weight'));

    // LlamaMLP: down_proj(silu(gate_proj(x)) * up_proj(x)).
    const m = this.rmsNorm(h1, this.w(p + 'post_attention_layernorm.weight'));
    const gate = this.linear(m, p + 'mlp.gate_proj.weight');
    const up = this.linear(m, p + 'mlp.up_proj.weight');
    const act = gate.map((row, t) => row.map((g, i) => (g / (1 + Math.exp(-g))) * up[t][i]));
    this.taps?.push({ attn_in: h, o_in: attn, mlp_in: m, down_in: act });
    return add(h1, this.linear(act, p + 'mlp.down_proj.weight'));
  }

  // LlamaRMSNorm: weight * x / sqrt(mean(x²) + eps).
  private rmsNorm(x: Rows, weight: Float64Array): Rows {
    const eps = this.model.config.rms_norm_eps;
    return x.map((row) => {
      const meanSquare = row.reduce((s, v) => s + v * v, 0) / row.length;
      const inv = 1 / Math.sqrt(meanSquare + eps);
      return row.map((v, i) => weight[i] * v * inv);
    });
  }

  // apply_rotary_pos_emb: x·cos + rotate_half(x)·sin per head; angle = t·inv_freq[i mod hd/2].
  private rope(x: Rows, heads: number): Rows {
    const { head_dim: hd } = this.model.config;
    const half = hd / 2;
    const invFreq = Array.from({ length: half }, (_, j) => this.inverseFrequency(j));
    return x.map((row, t) => {
      const out = new Float64Array(row.length);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < hd; i++) {
          const angle = t * invFreq[i % half];
          const rotated = i < half ? -row[h * hd + i + half] : row[h * hd + i - half];
          out[h * hd + i] = row[h * hd + i] * Math.cos(angle) + rotated * Math.sin(angle);
        }
      }
      return out;
    });
  }

  // _compute_default_rope_parameters, then _compute_linear_scaling_rope_parameters or
  // _compute_llama3_parameters (modeling_rope_utils.py), for one frequency j < hd/2.
  private inverseFrequency(j: number): number {
    const { head_dim: hd, rope_theta: theta, rope_scaling: scaling } = this.model.config;
    const base = 1 / theta ** ((2 * j) / hd);
    if (!scaling) return base;
    if (scaling.kind === 'linear') return base / scaling.factor;
    const period = (2 * Math.PI) / base;
    const original = scaling.original_max_position_embeddings;
    if (period > original / scaling.low_freq_factor) return base / scaling.factor; // long wavelengths: interpolate
    if (period < original / scaling.high_freq_factor) return base; // short wavelengths: keep
    const smooth = (original / period - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
    return (1 - smooth) * (base / scaling.factor) + smooth * base;
  }

  // nn.Linear: y = x Wᵀ + b, W [out, in].
  private linear(x: Rows, name: string, bias?: Float64Array): Rows {
    const info = this.model.tensors.get(name)!;
    const [outDim, inDim] = info.shape;
    const W = this.w(name);
    return x.map((row) => {
      const y = new Float64Array(outDim);
      for (let o = 0; o < outDim; o++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < inDim; i++) s += W[o * inDim + i] * row[i];
        y[o] = s;
      }
      return y;
    });
  }

  private w(name: string): Float64Array {
    let data = this.cache.get(name);
    if (!data) {
      data = Float64Array.from(this.model.readTensor(name));
      this.cache.set(name, data);
    }
    return data;
  }
}

/** [heads · hd] → [heads][hd]. */
function chunks(row: Float64Array, width: number): Rows {
  return Array.from({ length: row.length / width }, (_, h) => row.slice(h * width, (h + 1) * width));
}

function add(a: Rows, b: Rows): Rows {
  return a.map((row, t) => row.map((v, i) => v + b[t][i]));
}

/** max |a − b| / max |b|: the error relative to the logits' scale (per-element ratios blow up near 0). */
export function relativeError(actual: Float32Array, expected: readonly Float64Array[]): number {
  let maxDiff = 0;
  let maxRef = 0;
  const V = expected[0].length;
  expected.forEach((row, t) => {
    for (let v = 0; v < V; v++) {
      maxDiff = Math.max(maxDiff, Math.abs(actual[t * V + v] - row[v]));
      maxRef = Math.max(maxRef, Math.abs(row[v]));
    }
  });
  return maxDiff / maxRef;
}

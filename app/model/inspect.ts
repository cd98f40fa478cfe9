// What the UI and `eora inspect` show about a model: its dimensions, its linear modules, and
// per-linear weight statistics and histograms. Sums run in float64: a float32 accumulator
// loses digits after ~10^7 additions, and a 4096×11008 matrix has 4.5·10^7 weights.
import { basename } from 'node:path';
import type { ModelSummary } from '../contract/results.js';
import { ModelError, type LinearInfo, type LinearKind, type Model, type ModelConfig } from './types.js';

const ATTENTION: LinearKind[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
const MLP: LinearKind[] = ['gate_proj', 'up_proj', 'down_proj'];
export const MAX_HISTOGRAM_BINS = 1000;

/** The 7 linears of every decoder layer, in layer order, each q, k, v, o, gate, up, down. */
export function linears(model: Model): LinearInfo[] {
  const out: LinearInfo[] = [];
  for (let layer = 0; layer < model.config.num_layers; layer++) {
    for (const kind of [...ATTENTION, ...MLP]) {
      const name = `model.layers.${layer}.${ATTENTION.includes(kind) ? 'self_attn' : 'mlp'}.${kind}`;
      const tensor = model.tensors.get(`${name}.weight`);
      if (!tensor) throw new ModelError(basename(model.path), `tensor ${name}.weight is missing`);
      const [outFeatures, inFeatures] = tensor.shape; // [out, in]
      out.push({ name, layer, kind, out: outFeatures, in: inFeatures });
    }
  }
  return out;
}

/** The contract's summary (app/contract/results.ts) before weight statistics are added. */
export type ModelSummaryData = Omit<ModelSummary, 'linears'> & { linears: (LinearInfo & { params: number })[] };

export function summarizeModel(model: Model): ModelSummaryData {
  const c = model.config;
  let parameters = 0;
  for (const [name, tensor] of model.tensors) {
    if (c.tie_word_embeddings && name === 'lm_head.weight' && model.tensors.has('model.embed_tokens.weight')) continue;
    parameters += tensor.shape.reduce((a, b) => a * b, 1);
  }
  return {
    format: model.format,
    path: model.path,
    architecture: c.architecture,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_layers: c.num_layers,
    num_heads: c.num_heads,
    num_kv_heads: c.num_kv_heads,
    head_dim: c.head_dim,
    vocab_size: c.vocab_size,
    max_position_embeddings: c.max_position_embeddings,
    tie_word_embeddings: c.tie_word_embeddings,
    dtype: c.torch_dtype,
    parameters,
    tokenizer_vocab_size: model.tokenizer.vocabSize,
    family: FAMILY[c.architecture],
    rope: describeRope(c),
    norms: `RMSNorm (eps ${c.rms_norm_eps}) before attention and MLP${c.qk_norm ? ', per-head q/k RMSNorm before RoPE' : ''}${c.attention_bias ? '; q/k/v biases' : ''}`,
    linears: linears(model).map((l) => ({ ...l, params: l.out * l.in })),
  };
}

const FAMILY: Record<ModelConfig['architecture'], string> = {
  LlamaForCausalLM: 'Llama',
  MistralForCausalLM: 'Mistral',
  Qwen2ForCausalLM: 'Qwen2',
  Qwen3ForCausalLM: 'Qwen3',
};

function describeRope(c: ModelConfig): string {
  const s = c.rope_scaling;
  const theta = `θ ${c.rope_theta}`;
  if (!s) return `plain (${theta})`;
  if (s.kind === 'linear') return `linear factor ${s.factor} (${theta})`;
  return `llama3 factor ${s.factor}, low ${s.low_freq_factor}, high ${s.high_freq_factor}, original ${s.original_max_position_embeddings} (${theta})`;
}

export interface LinearStats {
  name: string;
  out: number;
  in: number;
  params: number;
  /** ‖W‖_F = sqrt(Σ w²). */
  frobenius: number;
  max_abs: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
}

export function linearStats(model: Model, name: string): LinearStats {
  const { info, w } = readLinear(model, name);
  let sum = 0;
  let sumSq = 0;
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) {
    const x = w[i];
    sum += x;
    sumSq += x * x;
    const a = Math.abs(x);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a;
  }
  const n = w.length;
  const mean = sum / n;
  // Var = E[(x-mean)^2], computed in a second pass: E[x²]-mean² cancels badly when |mean| >> std.
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (w[i] - mean) ** 2;
  return { name, out: info.out, in: info.in, params: n, frobenius: Math.sqrt(sumSq), max_abs: maxAbs, mean, std: Math.sqrt(sq / n) };
}

export interface WeightHistogram {
  name: string;
  bins: number;
  min: number;
  max: number;
  /** bins + 1 edges; counts[i] covers [edges[i], edges[i+1]), the last bin includes max. */
  edges: number[];
  counts: number[];
  /** NaN / ±inf weights, left out of the bins. */
  nonfinite: number;
}

export function weightHistogram(model: Model, name: string, bins: number): WeightHistogram {
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_HISTOGRAM_BINS) {
    throw new RangeError(`bins must be an integer from 1 to ${MAX_HISTOGRAM_BINS}, got ${bins}`);
  }
  const { w } = readLinear(model, name);
  let min = Infinity;
  let max = -Infinity;
  let nonfinite = 0;
  for (const x of w) {
    if (!Number.isFinite(x)) nonfinite++;
    else {
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  if (nonfinite === w.length) return { name, bins, min: NaN, max: NaN, edges: [], counts: new Array(bins).fill(0), nonfinite };
  // A constant matrix still gets a visible bar: widen a zero range by ±0.5.
  const lo = min === max ? min - 0.5 : min;
  const hi = min === max ? max + 0.5 : max;
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const counts = new Array<number>(bins).fill(0);
  for (const x of w) {
    if (!Number.isFinite(x)) continue;
    counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  }
  return { name, bins, min, max, edges, counts, nonfinite };
}

/** A linear by module name (`model.layers.0.self_attn.q_proj`, `.weight` optional): info and W [out, in]. */
function readLinear(model: Model, name: string): { info: LinearInfo; w: Float32Array } {
  const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : name;
  const all = linears(model);
  const info = all.find((l) => l.name === module);
  if (!info) {
    throw new ModelError(
      basename(model.path),
      `has no linear module named ${JSON.stringify(name)}; names look like ${all[0]?.name ?? 'model.layers.0.self_attn.q_proj'} (this model has ${all.length})`,
    );
  }
  return { info, w: model.readTensor(`${module}.weight`) };
}

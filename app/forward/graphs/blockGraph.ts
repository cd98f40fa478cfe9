// One Llama decoder block as an ONNX graph (LlamaDecoderLayer in HF's modeling_llama.py). The
// same graph serves every layer: weights and RoPE tables are inputs.
//
// Inputs:  x [B, T, d]; cos, sin [T, hd] (rows for the positions of x);
//          attn_norm [d]; q_proj [nH·hd, d]; k_proj, v_proj [nKv·hd, d]; (q_bias, k_bias, v_bias);
//          o_proj [d, nH·hd]; mlp_norm [d]; gate_proj, up_proj [I, d]; down_proj [d, I];
//          (q_norm, k_norm [hd]: Qwen3's per-head RMSNorm of q and k, applied before RoPE).
// Outputs: y [B, T, d].
// Variants (separate graphs, so the plain forward stays lean):
//   stats: + the calibration Gram matrices XᵀX (summed over the batch's B·T tokens, float32)
//          of each linear's input: gram_attn_in [d, d] (q/k/v), gram_o_in [nH·hd, nH·hd]
//          (o_proj), gram_mlp_in [d, d] (gate/up), gram_down_in [I, I] (down_proj); or only
//          the `grams` asked for (sequential calibration needs one per pass, and the [I, I]
//          one costs as much as the block itself at 1B shapes).
//   cache: + inputs past_key, past_value [B, nKv, 1, P, hd] (roped keys and values of the P
//          earlier positions; P may be 0) and outputs present_key, present_value
//          [B, nKv, 1, P+T, hd]; x holds positions P..P+T−1 (incremental decoding).
// Low-rank adapters (any variant; `lora` lists the linears that have one): per listed kind,
//          inputs `<kind>.lora_A` [r, in] and `<kind>.lora_B` [out, r] (r symbolic, `r_<kind>`),
//          and that linear computes x·Wᵀ (+ b) + (x·Aᵀ)·Bᵀ — the adapter applied unmerged, as
//          deployed. With no adapters the graph is the plain one, node for node.
import { GraphBuilder, int } from '../../onnx/builder.js';
import type { LinearKind } from '../../model/types.js';
import { blockSignature, gramNames, kvWidth, loraKinds, qWidth, type BlockShape, type BlockVariant, type GramName } from '../shape.js';
import { gram, linear as plainLinear, loraLinear, reshape, rmsNorm, rope, scale, shapeWith, swiglu, transpose } from './ops.js';

export const gramOutputs = ['gram_attn_in', 'gram_o_in', 'gram_mlp_in', 'gram_down_in'] as const;

export function buildBlockGraph(s: BlockShape, variant: BlockVariant, lora: readonly LinearKind[] = [], grams: readonly GramName[] = gramNames): Uint8Array {
  const { hidden: d, heads: nH, kvHeads: nKv, headDim: hd, intermediate: I } = s;
  const group = nH / nKv; // query heads per KV head (GQA); 1 = plain multi-head attention
  const qd = qWidth(s);
  const kvd = kvWidth(s);
  const g = new GraphBuilder(blockSignature(s, variant, lora, grams));

  const x = g.input('x', 'float32', ['B', 'T', d]);
  const cos = g.input('cos', 'float32', ['T', hd]);
  const sin = g.input('sin', 'float32', ['T', hd]);
  const w = {
    attn_norm: g.input('attn_norm', 'float32', [d]),
    q_proj: g.input('q_proj', 'float32', [qd, d]),
    k_proj: g.input('k_proj', 'float32', [kvd, d]),
    v_proj: g.input('v_proj', 'float32', [kvd, d]),
    o_proj: g.input('o_proj', 'float32', [d, qd]),
    mlp_norm: g.input('mlp_norm', 'float32', [d]),
    gate_proj: g.input('gate_proj', 'float32', [I, d]),
    up_proj: g.input('up_proj', 'float32', [I, d]),
    down_proj: g.input('down_proj', 'float32', [d, I]),
  };
  const b = s.bias
    ? { q: g.input('q_bias', 'float32', [qd]), k: g.input('k_bias', 'float32', [kvd]), v: g.input('v_bias', 'float32', [kvd]) }
    : { q: undefined, k: undefined, v: undefined };
  const qkNorm = s.qkNorm ? { q: g.input('q_norm', 'float32', [hd]), k: g.input('k_norm', 'float32', [hd]) } : undefined;
  // Adapter inputs per linear kind that has one; `linear` picks the unmerged form for those.
  const adapters = new Map<string, { A: string; B: string }>();
  for (const kind of loraKinds(lora)) {
    const [out, inDim] = { q_proj: [qd, d], k_proj: [kvd, d], v_proj: [kvd, d], o_proj: [d, qd], gate_proj: [I, d], up_proj: [I, d], down_proj: [d, I] }[kind];
    const r = `r_${kind}`;
    adapters.set(w[kind], { A: g.input(`${kind}.lora_A`, 'float32', [r, inDim]), B: g.input(`${kind}.lora_B`, 'float32', [out, r]) });
  }
  const linear = (_g: GraphBuilder, x: string, weight: string, bias?: string): string => {
    const adapter = adapters.get(weight);
    return adapter ? loraLinear(g, x, weight, adapter.A, adapter.B, bias) : plainLinear(g, x, weight, bias);
  };

  // Self-attention. Tokens are flattened to rows: [N = B·T, d].
  const x2 = reshape(g, x, g.constant('int64', [2], [-1, d], 'rows'));
  const h = rmsNorm(g, x2, w.attn_norm, s.eps); // input_layernorm, [N, d]
  const q = linear(g, h, w.q_proj, b.q); // [N, nH·hd]
  const k = linear(g, h, w.k_proj, b.k); // [N, nKv·hd]
  const v = linear(g, h, w.v_proj, b.v); // [N, nKv·hd]

  // Heads as [B, nKv, group, T, hd]: query head j·group + i uses KV head j, as HF's repeat_kv;
  // K and V keep a size-1 group axis that MatMul broadcasts, so they are never copied nH/nKv times.
  const toHeads = (t: string, perKv: number) => transpose(g, reshape(g, t, shapeWith(g, x, 0, 2, [nKv, perKv, hd])), [0, 2, 3, 1, 4]);
  // Qwen3Attention: q_norm/k_norm normalize each head's hd values (last axis) before RoPE.
  const headNorm = (t: string, weight?: string) => (weight ? rmsNorm(g, t, weight, s.eps) : t);
  const q5 = rope(g, headNorm(toHeads(q, group), qkNorm?.q), cos, sin, hd); // [B, nKv, group, T, hd]
  let k5 = rope(g, headNorm(toHeads(k, 1), qkNorm?.k), cos, sin, hd); // [B, nKv, 1, S, hd], S = T (or P + T with a cache)
  let v5 = toHeads(v, 1);
  if (variant === 'cache') {
    const past = (name: string) => g.input(name, 'float32', ['B', nKv, 1, 'P', hd]);
    k5 = g.op('Concat', [past('past_key'), k5], { axis: int(3) });
    v5 = g.op('Concat', [past('past_value'), v5], { axis: int(3) });
    g.output(k5, 'present_key', 'float32', ['B', nKv, 1, 'S', hd]);
    g.output(v5, 'present_value', 'float32', ['B', nKv, 1, 'S', hd]);
  }

  // softmax(q kᵀ / √hd + mask) v; scaling q instead of the [T, S] scores costs T·hd, not T·S.
  const scores = g.op('MatMul', [scale(g, q5, 1 / Math.sqrt(hd)), transpose(g, k5, [0, 1, 2, 4, 3])]); // [B, nKv, group, T, S]
  const probs = g.op('Softmax', [g.op('Add', [scores, causalMask(g, q5, k5)])], { axis: int(-1) });
  const context = g.op('MatMul', [probs, v5]); // [B, nKv, group, T, hd]
  const attn = reshape(g, transpose(g, context, [0, 3, 1, 2, 4]), g.constant('int64', [2], [-1, qd], 'rows')); // [N, nH·hd]
  const h1 = g.op('Add', [x2, linear(g, attn, w.o_proj)]); // residual, [N, d]

  // MLP: down_proj(silu(gate_proj(m)) * up_proj(m)).
  const m = rmsNorm(g, h1, w.mlp_norm, s.eps); // post_attention_layernorm, [N, d]
  const act = swiglu(g, linear(g, m, w.gate_proj), linear(g, m, w.up_proj)); // [N, I]
  const y2 = g.op('Add', [h1, linear(g, act, w.down_proj)]); // residual, [N, d]
  g.output(reshape(g, y2, g.op('Shape', [x])), 'y', 'float32', ['B', 'T', d]);

  if (variant === 'stats') {
    const inputs = { gram_attn_in: [h, d], gram_o_in: [attn, qd], gram_mlp_in: [m, d], gram_down_in: [act, I] } as const;
    for (const name of gramOutputs) {
      if (!grams.includes(name.slice('gram_'.length) as GramName)) continue;
      const [value, width] = inputs[name];
      g.output(gram(g, value), name, 'float32', [width, width]);
    }
  }
  return g.build();
}

/**
 * Additive causal mask [T, S] for T queries at the last T of S key positions: query i sees
 * keys j ≤ i + (S − T); −∞ above that diagonal (Trilu keeps j − i ≥ S − T + 1), 0 elsewhere.
 */
function causalMask(g: GraphBuilder, q5: string, k5: string): string {
  const T = g.op('Shape', [q5], { start: int(3), end: int(4) }); // [1]
  const S = g.op('Shape', [k5], { start: int(3), end: int(4) }); // [1]
  const minusInf = g.op('Expand', [g.constant('float32', [], [-Infinity], 'minus_inf'), g.op('Concat', [T, S], { axis: int(0) })]);
  const diagonal = g.op('Squeeze', [g.op('Add', [g.op('Sub', [S, T]), g.constant('int64', [1], [1], 'one')])]); // scalar S − T + 1
  return g.op('Trilu', [minusInf, diagonal], { upper: int(1) });
}

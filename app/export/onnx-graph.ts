// The whole decoder as one deployable ONNX graph (HF LlamaForCausalLM.forward without a cache):
//   input_ids int64 [B, T] → Gather(embed) → L × decoder block → RMSNorm → lm_head → logits [B, T, V]
// Positions are 0…T−1: cos/sin rows come from [max_positions, hd] tables by Slice. The block
// mirrors app/forward/graphs/blockGraph.ts (same RMSNorm/RoPE/SwiGLU fragments from ops.ts;
// attention over [B, nKv, group, T, hd] with a causal mask), but every weight is a named
// initializer and each linear is one of:
//   nbits  com.microsoft::MatMulNBits(x, B uint8 [out, blocks, bs/2], scales f32 [out·blocks],
//          zero_points uint8 [out, ⌈blocks/2⌉]); act-order layers first Gather x's columns into
//          group order, so every block of `bs` columns shares one (scale, zero)
//   float  Gemm(x, W [out, in], transB)
// plus, with an adapter, Gemm(Gemm(x, A [r, in], transB), B [out, r], base, transB): the
// low-rank path as two small products added to the base output.
// Weights are graph inputs while building; onnx.ts turns them into external initializers.
import { GraphBuilder, int, MS_DOMAIN } from '../onnx/builder.js';
import { reshape, rmsNorm, rope, scale, shapeWith, swiglu, transpose } from '../forward/graphs/ops.js';
import type { ModelConfig } from '../model/types.js';

export type WeightDtype = 'float32' | 'uint8' | 'int32';

export interface GraphWeight {
  dtype: WeightDtype;
  dims: number[];
  data: () => Float32Array | Uint8Array | Int32Array;
}

export interface NbitsData {
  /** [out, blocks, blockSize/2], two codes per byte, low nibble first. */
  packed: Uint8Array;
  /** [out · blocks] */
  scales: Float32Array;
  /** [out, ⌈blocks/2⌉] */
  zeroPoints: Uint8Array;
}

export interface NbitsLinear {
  bits: 4;
  blockSize: number;
  /** Column order (group order) for act-order layers, else null. */
  perm: Int32Array | null;
  /** The packed tensors, made when the first is written; `release` after the last. */
  data: () => NbitsData;
  release: () => void;
}

export interface GraphLinear {
  name: string;
  out: number;
  in: number;
  nbits: NbitsLinear | null;
  /** W_c [out, in] when not nbits. */
  weight: (() => Float32Array) | null;
  adapter: { rank: number; A: Float32Array; B: Float32Array } | null;
  bias: (() => Float32Array) | null;
}

export interface FullModelSpec {
  config: ModelConfig;
  /** HF name → data for embeddings, norms (`model.norm.weight`, `…input_layernorm.weight`), lm_head. */
  tensor: (name: string) => Float32Array;
  /** Linear by module name (`model.layers.0.self_attn.q_proj`). */
  linear: (name: string) => GraphLinear;
  cos: Float32Array;
  sin: Float32Array;
}

/** Builds the graph; returns its bytes and the weights to attach as initializers (by input name). */
export function buildFullModelGraph(spec: FullModelSpec): { bytes: Uint8Array; weights: Map<string, GraphWeight> } {
  const c = spec.config;
  const d = c.hidden_size;
  const hd = c.head_dim;
  const nH = c.num_heads;
  const nKv = c.num_kv_heads;
  const group = nH / nKv;
  const g = new GraphBuilder('eora_export_full_model');
  const weights = new Map<string, GraphWeight>();
  const weight = (name: string, dtype: WeightDtype, dims: number[], data: GraphWeight['data']): string => {
    weights.set(name, { dtype, dims, data });
    return g.input(name, dtype === 'float32' ? 'float32' : 'int32', dims); // uint8 placeholders become real initializers later
  };
  const floatTensor = (name: string, dims: number[]) => weight(name, 'float32', dims, () => spec.tensor(name));

  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const embed = floatTensor('model.embed_tokens.weight', [c.vocab_size, d]);
  const maxPos = spec.cos.length / hd;
  const cosTable = weight('rope.cos', 'float32', [maxPos, hd], () => spec.cos);
  const sinTable = weight('rope.sin', 'float32', [maxPos, hd], () => spec.sin);
  const T = g.op('Shape', [ids], { start: int(1), end: int(2) }); // [1]
  const zero = g.constant('int64', [1], [0], 'zero');
  const cos = g.op('Slice', [cosTable, zero, T, zero]); // [T, hd]
  const sin = g.op('Slice', [sinTable, zero, T, zero]);

  const linearOp = (x: string, name: string): string => {
    const l = spec.linear(name);
    let y: string;
    if (l.nbits) {
      const q = l.nbits;
      const blocks = l.in / q.blockSize;
      const input = q.perm ? g.op('Gather', [x, weight(`${name}.perm`, 'int32', [l.in], () => q.perm!)], { axis: int(1) }) : x;
      const inputs = [
        input,
        weight(`${name}.qweight`, 'uint8', [l.out, blocks, q.blockSize / 2], () => q.data().packed),
        weight(`${name}.scales`, 'float32', [l.out * blocks], () => q.data().scales),
        weight(`${name}.qzeros`, 'uint8', [l.out * Math.ceil(blocks / 2)], () => {
          const zeroPoints = q.data().zeroPoints;
          q.release();
          return zeroPoints;
        }),
      ];
      y = g.op('MatMulNBits', inputs, { K: int(l.in), N: int(l.out), bits: int(4), block_size: int(q.blockSize) }, { domain: MS_DOMAIN });
      if (l.bias) y = g.op('Add', [y, weight(`${name}.bias`, 'float32', [l.out], l.bias)]);
    } else {
      const w = weight(`${name}.weight`, 'float32', [l.out, l.in], l.weight!);
      y = g.op('Gemm', l.bias ? [x, w, weight(`${name}.bias`, 'float32', [l.out], l.bias)] : [x, w], { transB: int(1) });
    }
    const a = l.adapter;
    if (!a || a.rank === 0) return y;
    const A = weight(`${name}.lora_A`, 'float32', [a.rank, l.in], () => a.A);
    const B = weight(`${name}.lora_B`, 'float32', [l.out, a.rank], () => a.B);
    return g.op('Gemm', [g.op('Gemm', [x, A], { transB: int(1) }), B, y], { transB: int(1) }); // (x·Aᵀ)·Bᵀ + base
  };

  const hidden0 = g.op('Gather', [embed, ids], { axis: int(0) }); // [B, T, d]
  let x2 = reshape(g, hidden0, g.constant('int64', [2], [-1, d], 'rows')); // [N, d]
  for (let layer = 0; layer < c.num_layers; layer++) {
    const p = `model.layers.${layer}.`;
    const h = rmsNorm(g, x2, floatTensor(`${p}input_layernorm.weight`, [d]), c.rms_norm_eps);
    const q = linearOp(h, `${p}self_attn.q_proj`);
    const k = linearOp(h, `${p}self_attn.k_proj`);
    const v = linearOp(h, `${p}self_attn.v_proj`);
    const toHeads = (t: string, perKv: number) => transpose(g, reshape(g, t, shapeWith(g, hidden0, 0, 2, [nKv, perKv, hd])), [0, 2, 3, 1, 4]);
    const q5 = rope(g, toHeads(q, group), cos, sin, hd); // [B, nKv, group, T, hd]
    const k5 = rope(g, toHeads(k, 1), cos, sin, hd); // [B, nKv, 1, T, hd]
    const v5 = toHeads(v, 1);
    const scores = g.op('MatMul', [scale(g, q5, 1 / Math.sqrt(hd)), transpose(g, k5, [0, 1, 2, 4, 3])]); // [B, nKv, group, T, T]
    const probs = g.op('Softmax', [g.op('Add', [scores, causalMask(g, T)])], { axis: int(-1) });
    const context = g.op('MatMul', [probs, v5]);
    const attn = reshape(g, transpose(g, context, [0, 3, 1, 2, 4]), g.constant('int64', [2], [-1, nH * hd], 'rows')); // [N, nH·hd]
    const h1 = g.op('Add', [x2, linearOp(attn, `${p}self_attn.o_proj`)]);
    const m = rmsNorm(g, h1, floatTensor(`${p}post_attention_layernorm.weight`, [d]), c.rms_norm_eps);
    const act = swiglu(g, linearOp(m, `${p}mlp.gate_proj`), linearOp(m, `${p}mlp.up_proj`));
    x2 = g.op('Add', [h1, linearOp(act, `${p}mlp.down_proj`)]);
  }
  const normed = rmsNorm(g, x2, floatTensor('model.norm.weight', [d]), c.rms_norm_eps);
  const lmHead = c.tie_word_embeddings ? embed : floatTensor('lm_head.weight', [c.vocab_size, d]);
  const logits = g.op('Gemm', [normed, lmHead], { transB: int(1) }); // [N, V]
  g.output(reshape(g, logits, shapeWith(g, ids, 0, 2, [c.vocab_size])), 'logits', 'float32', ['batch', 'sequence', c.vocab_size]);
  return { bytes: g.build(), weights };
}

/** Additive causal mask [T, T]: −∞ above the diagonal. */
function causalMask(g: GraphBuilder, T: string): string {
  const minusInf = g.op('Expand', [g.constant('float32', [], [-Infinity], 'minus_inf'), g.op('Concat', [T, T], { axis: int(0) })]);
  return g.op('Trilu', [minusInf, g.constant('int64', [], [1], 'one')], { upper: int(1) });
}

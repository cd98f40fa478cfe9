// Graph fragments shared by the block and head graphs. Each mirrors one piece of Hugging Face's
// modeling_llama.py; activations are kept 2-D, [N = B·T, features], so every linear is one Gemm.
import { int, ints, type GraphBuilder } from '../../onnx/builder.js';

/**
 * LlamaRMSNorm: `weight * (x * rsqrt(mean(x², -1) + eps))`, x: [N, d] → [N, d].
 * Written as Pow → ReduceMean → Add → Sqrt → Div → Mul, the pattern onnxruntime fuses into
 * one SimplifiedLayerNormalization kernel (float32 accumulation, like HF's `.to(float32)`).
 */
export function rmsNorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const two = g.constant('float32', [], [2], 'two');
  const epsilon = g.constant('float32', [], [eps], 'eps');
  const axes = g.constant('int64', [1], [-1], 'axis_last');
  const meanSquare = g.op('ReduceMean', [g.op('Pow', [x, two]), axes], { keepdims: int(1) }); // [N, 1]
  const rms = g.op('Sqrt', [g.op('Add', [meanSquare, epsilon])]);
  return g.op('Mul', [g.op('Div', [x, rms]), weight]);
}

/** nn.Linear: x [N, in] @ W[out, in]ᵀ (+ b) → [N, out]. transB lets MLAS read W in place. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string): string {
  return g.op('Gemm', bias ? [x, weight, bias] : [x, weight], { transB: int(1) });
}

/**
 * nn.Linear with an unmerged low-rank adapter: x·Wᵀ (+ b) + (x·Aᵀ)·Bᵀ, A [r, in], B [out, r]
 * (PEFT's lora_A / lora_B, scaling 1). The second Gemm adds the base output as its C input.
 */
export function loraLinear(g: GraphBuilder, x: string, weight: string, loraA: string, loraB: string, bias?: string): string {
  const base = linear(g, x, weight, bias); // [N, out]
  const down = g.op('Gemm', [x, loraA], { transB: int(1) }); // [N, r]
  return g.op('Gemm', [down, loraB, base], { transB: int(1) }); // [N, out]
}

/** Xᵀ X for X [N, k] → [k, k]: the calibration Gram matrix of a linear's input. */
export function gram(g: GraphBuilder, x: string): string {
  return g.op('Gemm', [x, x], { transA: int(1) });
}

/**
 * apply_rotary_pos_emb: `x * cos + rotate_half(x) * sin`, where rotate_half(x) = cat(-x2, x1)
 * splits the last axis into halves. x: [..., T, hd]; cos, sin: [T, hd] (HF's cat(freqs, freqs)).
 */
export function rope(g: GraphBuilder, x: string, cos: string, sin: string, headDim: number): string {
  const half = g.constant('int64', [2], [headDim / 2, headDim / 2], 'rope_split');
  const [x1, x2] = g.node('Split', [x, half], { axis: int(-1) }, { outputs: 2 });
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: int(-1) });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

export function transpose(g: GraphBuilder, x: string, perm: readonly number[]): string {
  return g.op('Transpose', [x], { perm: ints(perm) });
}

export function reshape(g: GraphBuilder, x: string, shape: string): string {
  return g.op('Reshape', [x, shape]);
}

/** Runtime shape vector [dynamic dims of `x` in [start, end)] ++ fixed tail, as int64 [k]. */
export function shapeWith(g: GraphBuilder, x: string, start: number, end: number, tail: readonly number[]): string {
  const head = g.op('Shape', [x], { start: int(start), end: int(end) });
  if (tail.length === 0) return head;
  return g.op('Concat', [head, g.constant('int64', [tail.length], tail, 'dims')], { axis: int(0) });
}

export function scale(g: GraphBuilder, x: string, factor: number): string {
  return g.op('Mul', [x, g.constant('float32', [], [factor], 'scale')]);
}

/** SiLU(gate) · up, LlamaMLP's act_fn(gate_proj(x)) * up_proj(x). */
export function swiglu(g: GraphBuilder, gate: string, up: string): string {
  return g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
}

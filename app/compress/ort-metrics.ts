// The output-error metric of wide linears with its O(out·n²) work in onnxruntime.
//
// relOutputError = tr(ΔW C ΔWᵀ) / tr(W C Wᵀ) (metrics.ts) costs two [out, n]·[n, n] products:
// 2·out·n² multiply-adds each. As scalar JS that was most of a compress run at real widths
// (Llama-3.2-1B's down_proj, 2048 × 8192: 2.7·10¹¹ multiply-adds, minutes per linear) while
// GPTQ's whole sweep of the same linear takes seconds. Here each trace is the symmetric float32
// energy of onnx/symmetric-energy.ts (C's symmetry skips 0.47 of the flops; float32 products,
// float64 sum over rows), the same energies compensate computes — and now takes from layers.json
// instead (experiment/stages/compensate.ts). Float64 DGEMMs did the same at twice the flops and
// half the rate: 21.8 s for 4096 × 14336 alone, a third of an 8B layer's compress.
// quadraticTraceOrt keeps that float64 path for the exact errors of quantized adapters.
//
// Below ORT_METRICS_MIN_IN on the CPU the JS path of metrics.ts runs unchanged (bitwise the
// numbers the bundled model always had); above it the traces agree with float64 to ~1e-6.
import { GraphBuilder, int } from '../onnx/builder.js';
import { doubleTensor } from '../onnx/runtime.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { symmetricEnergy } from '../onnx/symmetric-energy.js';
import { linearMetrics, weightMetrics, withTraces, type LinearMetrics } from './metrics.js';
import { checkMoment, type CompressResult, type LinearWeight, type SecondMoment } from './types.js';

/** Input widths from which the traces run in onnxruntime (the bundled model's layers stay in JS). */
export const ORT_METRICS_MIN_IN = 1024;
/** Elements of one row chunk of A (float64): 4M = 32 MB, and as much again for the product. */
const CHUNK_ELEMENTS = 1 << 22;

/** s = Σ_rows (a·c) ⊙ a = tr(a c aᵀ) for a: [R, K], c: [K, K], float64 throughout. */
function quadraticTraceGraph(): Uint8Array {
  const g = new GraphBuilder('quadratic-trace-f64');
  const a = g.input('a', 'float64', ['R', 'K']);
  const c = g.input('c', 'float64', ['K', 'K']);
  const ac = g.op('MatMul', [a, c]);
  g.output(g.op('ReduceSum', [g.op('Mul', [ac, a])], { keepdims: int(0) }), 's', 'float64', []);
  return g.build();
}

/**
 * tr(A C Aᵀ) for A: [out, n] given row by row: `fill(r0, r1, dst)` writes rows r0..r1−1 of A into
 * dst ([r1 − r0, n] float64). C: [n, n] float64.
 */
export async function quadraticTraceOrt(cache: SessionCache, fill: (r0: number, r1: number, dst: Float64Array) => void, out: number, n: number, C: Float64Array): Promise<number> {
  const session = await cache.get('quadratic-trace-f64', quadraticTraceGraph);
  const rows = Math.max(1, Math.min(out, Math.floor(CHUNK_ELEMENTS / n)));
  const chunk = new Float64Array(rows * n);
  const c = doubleTensor(C, [n, n]);
  let total = 0;
  for (let r0 = 0; r0 < out; r0 += rows) {
    const r1 = Math.min(out, r0 + rows);
    const a = chunk.subarray(0, (r1 - r0) * n);
    fill(r0, r1, a);
    const result = await session.run({ a: doubleTensor(a, [r1 - r0, n]), c });
    total += Number(result.s.data[0]);
  }
  return total;
}

export interface OrtMetricsOptions {
  /** Input width from which the traces run in onnxruntime (default ORT_METRICS_MIN_IN; 0: always). */
  minIn?: number;
  /** C as float32, when the caller shares one copy across the linears of an input group. */
  c32?: Float32Array;
}

/** linearMetrics (metrics.ts) with the output-error traces in onnxruntime for n ≥ minIn. */
export async function linearMetricsOrt(cache: SessionCache, layer: LinearWeight, result: CompressResult, moment: SecondMoment | undefined, options: OrtMetricsOptions = {}): Promise<LinearMetrics> {
  const n = layer.in;
  if (!moment || n < (options.minIn ?? ORT_METRICS_MIN_IN)) return linearMetrics(layer, result, moment);
  const base = weightMetrics(layer, result);
  const { C } = checkMoment(moment, n, 'the output error');
  const traces = await outputTraces(cache, layer.w, result.wc, layer.out, n, options.c32 ?? C);
  return withTraces(base, traces.errorOutput, traces.output);
}

/** tr(W C Wᵀ) and tr(ΔW C ΔWᵀ), ΔW = W_c − W, for w, wc: [out, n] and C: [n, n] (float64, or its float32 copy). */
export async function outputTraces(cache: SessionCache, w: Float32Array, wc: Float32Array, out: number, n: number, C: Float64Array | Float32Array): Promise<{ output: number; errorOutput: number }> {
  const dW = new Float32Array(w.length); // [out, n], rounded once to float32
  for (let i = 0; i < w.length; i++) dW[i] = wc[i] - w[i];
  const c32 = C instanceof Float32Array ? C : Float32Array.from(C); // [n, n]
  const errorOutput = await symmetricEnergy(cache, dW, c32, out, n);
  return { output: await symmetricEnergy(cache, w, c32, out, n), errorOutput };
}

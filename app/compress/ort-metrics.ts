// The output-error metric of wide linears with its O(out·n²) work in onnxruntime.
//
// relOutputError = tr(ΔW C ΔWᵀ) / tr(W C Wᵀ) (metrics.ts) costs two [out, n]·[n, n] products:
// 2·out·n² multiply-adds. As scalar JS that was most of a compress run at real widths
// (Llama-3.2-1B's down_proj, 2048 × 8192: 2.7·10¹¹ multiply-adds, minutes per linear) while
// GPTQ's whole sweep of the same linear takes seconds. Here each trace is a float64 MatMul in
// onnxruntime (MLAS DGEMM) over row chunks of A, so the metric keeps float64 accumulation and
// needs only one chunk's [rows, n] float64 copy and product beside C, never [out, n] of them.
//
// Below ORT_METRICS_MIN_IN on the CPU the JS path of metrics.ts runs unchanged (bitwise the
// numbers the bundled model always had); above it only the summation order differs.
import { GraphBuilder, int } from '../onnx/builder.js';
import { doubleTensor } from '../onnx/runtime.js';
import type { SessionCache } from '../onnx/sessionCache.js';
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
}

/** linearMetrics (metrics.ts) with the output-error traces in onnxruntime for n ≥ minIn. */
export async function linearMetricsOrt(cache: SessionCache, layer: LinearWeight, result: CompressResult, moment: SecondMoment | undefined, options: OrtMetricsOptions = {}): Promise<LinearMetrics> {
  const n = layer.in;
  if (!moment || n < (options.minIn ?? ORT_METRICS_MIN_IN)) return linearMetrics(layer, result, moment);
  const base = weightMetrics(layer, result);
  const { C } = checkMoment(moment, n, 'the output error');
  const { w } = layer;
  const { wc } = result;
  // ΔW = W_c − W: exact in float64 (a difference of two float32s).
  const dW = (r0: number, r1: number, dst: Float64Array) => {
    for (let i = r0 * n, k = 0; i < r1 * n; i++, k++) dst[k] = wc[i] - w[i];
  };
  const W = (r0: number, r1: number, dst: Float64Array) => {
    for (let i = r0 * n, k = 0; i < r1 * n; i++, k++) dst[k] = w[i];
  };
  const err = await quadraticTraceOrt(cache, dW, layer.out, n, C);
  const energy = await quadraticTraceOrt(cache, W, layer.out, n, C);
  return withTraces(base, err, energy);
}

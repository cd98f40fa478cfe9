// Dense float32 products in onnxruntime: one cached single-node Gemm graph per transpose variant,
// with symbolic dims, so every shape shares a session (built once per SessionCache, ~1 ms a run
// on top of the product itself). For the heavy O(n³) / O(m·k·n) products of compression and
// compensation; the callers keep small, accuracy-critical work in float64 JS.
//
// Inputs are wrapped without copying (floatTensor); the result is ORT's output buffer.
// Precision: float32 operands, MLAS SGEMM accumulation (float32, blocked), so expect a relative
// error of ≈ √k·2⁻²⁴ per entry against an exact product of the float32 inputs.
import { GraphBuilder, int } from './builder.js';
import { floatData, floatTensor } from './runtime.js';
import type { SessionCache } from './sessionCache.js';

export interface MatmulOptions {
  /** Use aᵀ: a is stored [k, m]. */
  transA?: boolean;
  /** Use bᵀ: b is stored [n, k]. */
  transB?: boolean;
}

function gemmGraph(transA: boolean, transB: boolean): Uint8Array {
  const g = new GraphBuilder(`matmul-f32${transA ? '-tA' : ''}${transB ? '-tB' : ''}`);
  const a = g.input('a', 'float32', transA ? ['K', 'M'] : ['M', 'K']);
  const b = g.input('b', 'float32', transB ? ['N', 'K'] : ['K', 'N']);
  g.output(g.op('Gemm', [a, b], { transA: int(transA ? 1 : 0), transB: int(transB ? 1 : 0) }), 'c', 'float32', ['M', 'N']);
  return g.build();
}

function gramGraph(): Uint8Array {
  const g = new GraphBuilder('gram-f32');
  const x = g.input('x', 'float32', ['R', 'C']);
  g.output(g.op('Gemm', [x, x], { transA: int(1) }), 'g', 'float32', ['C', 'C']);
  return g.build();
}

/**
 * c: [m, n] = op(a)·op(b), row-major float32. aDims/bDims are the *stored* shapes:
 * a: [m, k] (or [k, m] with transA), b: [k, n] (or [n, k] with transB).
 */
export async function matmulF32(cache: SessionCache, a: Float32Array, aDims: readonly [number, number], b: Float32Array, bDims: readonly [number, number], options: MatmulOptions = {}): Promise<Float32Array> {
  const transA = options.transA === true;
  const transB = options.transB === true;
  const [m, ka] = transA ? [aDims[1], aDims[0]] : aDims;
  const [kb, n] = transB ? [bDims[1], bDims[0]] : bDims;
  if (ka !== kb) throw new RangeError(`matmulF32: inner dimensions differ: ${describe(aDims, transA)} · ${describe(bDims, transB)}`);
  if (m === 0 || n === 0) return new Float32Array(m * n);
  if (ka === 0) return new Float32Array(m * n);
  const session = await cache.get(`matmul-f32 tA=${+transA} tB=${+transB}`, () => gemmGraph(transA, transB));
  const out = await session.run({ a: floatTensor(a, aDims), b: floatTensor(b, bDims) });
  return floatData(out.c, 'matmulF32');
}

/** g: [cols, cols] = xᵀ·x for x: [rows, cols] row-major (e.g. C = Σ_t x_t x_tᵀ over token rows). Symmetric up to rounding. */
export async function gramF32(cache: SessionCache, x: Float32Array, dims: readonly [number, number]): Promise<Float32Array> {
  const [rows, cols] = dims;
  if (rows === 0 || cols === 0) return new Float32Array(cols * cols);
  const session = await cache.get('gram-f32', gramGraph);
  const out = await session.run({ x: floatTensor(x, dims) });
  return floatData(out.g, 'gramF32');
}

function describe(dims: readonly [number, number], trans: boolean): string {
  return `[${dims[0]}, ${dims[1]}]${trans ? 'ᵀ' : ''}`;
}

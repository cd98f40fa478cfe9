// Drives a GPTQ/SparseGPT sweep (sweep.ts) on wide layers with its block and sub-block steps as
// onnxruntime Gemms and a float32 panel, so that JS keeps only the rounding, and WebAssembly
// SIMD the O(out·n·16) rank-1 updates inside sub-blocks (wasm/kernels.ts).
//
//   block loads, left-looking:  panel = W₀ᵀ[c0:c1] − U[0:c0, c0:c1]ᵀ · E[0:c0]
//     E: [n, out] float32, the scaled errors of every decided column, appended as they come.
//     Σ over blocks ≈ out·n² flops, the bulk of the sweep (69 GFLOP at 4096²). Left-looking
//     rather than updating all of W[:, i2:] after each block (right-looking): each product
//     writes only the [b, out] panel, already in the sweep's transposed layout; W₀ᵀ (float32,
//     transposed once per sweep by ORT) is the Gemm's C operand, so the product's output *is*
//     the loaded panel, copied in with one memcpy.
//   sub-block updates:          panel[c0:c1] = panel[c0:c1] − U[e0:e1, c0:c1]ᵀ · E[e0:e1]   (K = 16)
//     ≈ out·n·B/2 flops, also one Gemm with C whose output replaces the panel rows.
//
// Precision: the panel, the errors and the products are float32 (≈ √K·6e-8 relative per
// product, K ≤ n); U is rounded to float32 per product; the rule reads float64 copies of the
// columns and the OBS loss accumulates in float64. The products only correct weights that are
// then rounded to a grid of 2^bits levels, so a code can only change where a weight sits within
// ~1e-7 of a rounding boundary (ort-sweep.test.ts measures how many do against the float64 sweep).
import { GraphBuilder, float, int, ints } from '../onnx/builder.js';
import { floatData, floatTensor } from '../onnx/runtime.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { applyStep, type Sweep, type SweepReply } from './sweep.js';

/**
 * On the CPU, below this many columns the float64 JS sweep is faster than the round trips (same
 * cut as ort-factor.ts). On a GPU every size runs its steps on the device, so that a --device
 * run exercises them even on the bundled model.
 */
export const ORT_SWEEP_MIN_COLUMNS = 1024;

export interface SweepStats {
  /** Milliseconds spent in onnxruntime steps (copies + Gemm) and how many there were. */
  updateMs: number;
  updates: number;
  /** Of those, the block loads (the out·n² bulk). */
  loadMs?: number;
}

/** y: [M, N] = c − aᵀ·b for a: [K, M], b: [K, N], c: [M, N]. */
function subtractProductGraph(): Uint8Array {
  const g = new GraphBuilder('sweep-subtract-product');
  const a = g.input('a', 'float32', ['K', 'M']);
  const b = g.input('b', 'float32', ['K', 'N']);
  const c = g.input('c', 'float32', ['M', 'N']);
  g.output(g.op('Gemm', [a, b, c], { transA: int(1), alpha: float(-1), beta: float(1) }), 'y', 'float32', ['M', 'N']);
  return g.build();
}

function transposeGraph(): Uint8Array {
  const g = new GraphBuilder('sweep-transpose');
  const x = g.input('x', 'float32', ['R', 'C']);
  g.output(g.op('Transpose', [x], { perm: ints([1, 0]) }), 'y', 'float32', ['C', 'R']);
  return g.build();
}

/** c − aᵀ·b, a: [k, m], b: [k, nc], c: [m, nc] (all float32, row-major). */
async function subtractProduct(cache: SessionCache, a: Float32Array, b: Float32Array, c: Float32Array, k: number, m: number, nc: number): Promise<Float32Array> {
  const session = await cache.get('sweep-subtract-product', subtractProductGraph);
  const out = await session.run({ a: floatTensor(a, [k, m]), b: floatTensor(b, [k, nc]), c: floatTensor(c, [m, nc]) });
  return floatData(out.y, 'sweep product');
}

/** U[r0:r1, c0:c1] as float32 [r1 − r0, c1 − c0] (U: [n, n] row-major). */
function slice32(U: Float64Array, n: number, r0: number, r1: number, c0: number, c1: number): Float32Array {
  const w = c1 - c0;
  const u = new Float32Array((r1 - r0) * w);
  for (let k = r0; k < r1; k++) u.set(U.subarray(k * n + c0, k * n + c1), (k - r0) * w);
  return u;
}

export async function runSweepOrt<T>(cache: SessionCache, steps: Sweep<T>, minColumns = cache.device === 'cpu' ? ORT_SWEEP_MIN_COLUMNS : 0, stats?: SweepStats): Promise<T> {
  let wide = false; // float32 panel, products in ORT
  let W0T: Float32Array | null = null; // [n, out]: W₀ transposed, columns in sweep order
  let errors: Float32Array | null = null; // E: [n, out], the scaled errors of decided columns
  let written = 0; // rows [0, written) of E are filled
  let reply: SweepReply = undefined;
  for (;;) {
    const step = steps.next(reply);
    reply = undefined;
    if (step.done) return step.value;
    const s = step.value;
    if (s.kind === 'begin') {
      wide = s.n >= minColumns;
      if (wide) reply = { precision: 'float32' };
      continue;
    }
    if (!wide) {
      applyStep(s);
      continue;
    }
    const { out, n } = s;
    const t0 = performance.now();
    errors ??= new Float32Array(n * out);
    if (s.kind === 'load') {
      const panel = s.panel as Float32Array;
      const { c0, c1 } = s;
      if (c0 === 0) {
        // W holds W₀ now (sweep order, dead columns zeroed); later loads read W₀ᵀ only.
        const session = await cache.get('sweep-transpose', transposeGraph);
        W0T = floatData((await session.run({ x: floatTensor(Float32Array.from(s.W), [out, n]) })).y, 'sweep transpose');
        panel.set(W0T.subarray(0, c1 * out));
      } else {
        if (written !== c0) throw new Error(`sweep: block at column ${c0} loaded with the errors of ${written} columns`);
        panel.set(await subtractProduct(cache, slice32(s.U, n, 0, c0, c0, c1), errors.subarray(0, c0 * out), W0T!.subarray(c0 * out, c1 * out), c0, c1 - c0, out));
      }
      if (stats) stats.loadMs = (stats.loadMs ?? 0) + performance.now() - t0;
    } else {
      // A sub-block's (or, at a block end, the rest of the block's) errors join E.
      const end = s.kind === 'update' ? s.e1 : s.i2;
      errors.set((s.Err as Float32Array).subarray((written - s.i1) * out, (end - s.i1) * out), written * out);
      written = end;
      if (s.kind === 'update') {
        const { i1, e0, e1, c0, c1 } = s;
        const rows = (s.panel as Float32Array).subarray((c0 - i1) * out, (c1 - i1) * out);
        rows.set(await subtractProduct(cache, slice32(s.U, n, e0, e1, c0, c1), errors.subarray(e0 * out, e1 * out), rows, e1 - e0, c1 - c0, out));
      }
    }
    if (stats) (stats.updateMs += performance.now() - t0), stats.updates++;
  }
}

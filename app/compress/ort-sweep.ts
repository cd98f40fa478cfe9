// Drives a GPTQ/SparseGPT sweep (sweep.ts) with its lazy block updates
//   W[:, i2:] −= Errᵀ · U[i1:i2, i2:]      ([out, b] · [b, n − i2], b = block size)
// as onnxruntime Gemms. They are the O(out·n²) bulk of the sweep — 2·out·n²/2 ≈ 69 GFLOP for a
// 4096×4096 layer, over a minute of scalar JS — while the per-column work inside a block is
// O(out·n·b) and stays JS.
//
// Precision: the product is float32 (operands rounded, float32 accumulation over b = 128
// terms, ≈ 1e-7 relative), subtracted from the float64 W. The updates are corrections to
// weights that are rounded to a grid of 2^bits levels right after, so a quantized code can only
// change where a weight sits within ~1e-7 of a rounding boundary (ort-sweep.test.ts measures
// how many do).
import { matmulF32 } from '../onnx/matmul.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { applyTrailingUpdate, type Sweep, type TrailingUpdate } from './sweep.js';

/** Below this many columns the JS update is faster than the round trip (same cut as ort-factor.ts). */
export const ORT_SWEEP_MIN_COLUMNS = 1024;

export interface SweepStats {
  /** Milliseconds spent in the lazy updates (copies + Gemm) and how many there were. */
  updateMs: number;
  updates: number;
}

export async function runSweepOrt<T>(cache: SessionCache, steps: Sweep<T>, minColumns = ORT_SWEEP_MIN_COLUMNS, stats?: SweepStats): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const t0 = performance.now();
    if (step.value.n < minColumns) applyTrailingUpdate(step.value);
    else await applyTrailingUpdateOrt(cache, step.value);
    if (stats) (stats.updateMs += performance.now() - t0), stats.updates++;
  }
}

async function applyTrailingUpdateOrt(cache: SessionCache, { W, out, n, U, Err, i1, i2 }: TrailingUpdate): Promise<void> {
  const b = i2 - i1;
  const m = n - i2; // columns right of the block
  const err = Float32Array.from(Err.subarray(0, b * out)); // [b, out]
  const u = new Float32Array(b * m); // [b, m] = U[i1:i2, i2:]
  for (let k = 0; k < b; k++) u.set(U.subarray((i1 + k) * n + i2, (i1 + k + 1) * n), k * m);
  const update = await matmulF32(cache, err, [b, out], u, [b, m], { transA: true }); // [out, m]
  for (let r = 0; r < out; r++) {
    const row = r * n + i2;
    const src = r * m;
    for (let c = 0; c < m; c++) W[row + c] -= update[src + c];
  }
}

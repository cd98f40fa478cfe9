// Drives a GPTQ/SparseGPT sweep (sweep.ts) with its block and sub-block steps as onnxruntime
// Gemms, so that JS keeps only the O(out·n·16) rank-1 updates inside sub-blocks and the rounding.
//
//   block loads, left-looking:  panel = W₀[:, c0:c1]ᵀ − U[0:c0, c0:c1]ᵀ · E[0:c0]
//     E: [n, out] float32, the scaled errors of every decided column, appended at each block end.
//     Σ over blocks ≈ out·n² flops, the bulk of the sweep (69 GFLOP at 4096²). Left-looking
//     rather than updating all of W[:, i2:] after each block (right-looking): each product
//     writes only the [b, out] panel, already in the sweep's transposed layout, instead of
//     an [out, n − i2] update that JS then subtracts from W (most of the old driver's time);
//     W itself stays the original W₀ right of the block.
//   sub-block updates:          panel[c0:c1] −= U[e0:e1, c0:c1]ᵀ · Err[e0:e1]   (K = 16)
//     ≈ out·n·B/2 flops, which in JS ran at well under 1 GFLOP/s.
//
// Precision: operands are rounded to float32 and the products accumulate in float32 (≈ √K·6e-8
// relative, K ≤ n); the panel, the rank-1 updates inside sub-blocks and W₀ stay float64. The
// products only correct weights that are then rounded to a grid of 2^bits levels, so a code can
// only change where a weight sits within ~1e-7 of a rounding boundary (ort-sweep.test.ts
// measures how many do against the float64 sweep).
import { matmulF32 } from '../onnx/matmul.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { applyStep, transposeIn, type Sweep, type PanelLoad, type PanelUpdate } from './sweep.js';

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
}

export async function runSweepOrt<T>(cache: SessionCache, steps: Sweep<T>, minColumns = cache.device === 'cpu' ? ORT_SWEEP_MIN_COLUMNS : 0, stats?: SweepStats): Promise<T> {
  let errors: Float32Array | null = null; // E: [n, out], the scaled errors of decided columns
  let written = 0; // rows [0, written) of E are filled
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    const s = step.value;
    if (s.n < minColumns) {
      applyStep(s);
      continue;
    }
    const t0 = performance.now();
    errors ??= new Float32Array(s.n * s.out);
    if (s.kind === 'load') await loadPanel(cache, s, errors.subarray(0, written * s.out));
    else {
      // A sub-block's (or, at a block end, the rest of the block's) errors join E, where the
      // sub-block update reads them; W[:, i2:] stays W₀ (the loads subtract E's products).
      const end = s.kind === 'update' ? s.e1 : s.i2;
      errors.set(s.Err.subarray((written - s.i1) * s.out, (end - s.i1) * s.out), written * s.out);
      written = end;
      if (s.kind === 'update') await updatePanel(cache, s, errors.subarray(s.e0 * s.out, s.e1 * s.out));
    }
    if (stats) (stats.updateMs += performance.now() - t0), stats.updates++;
  }
}

/** panel = W₀[:, c0:c1]ᵀ − U[0:c0, c0:c1]ᵀ · E[0:c0], E: [c0, out]. */
async function loadPanel(cache: SessionCache, { W, out, n, U, c0, c1, panel }: PanelLoad, errors: Float32Array): Promise<void> {
  const w = c1 - c0;
  if (c0 === 0) return transposeIn(W, n, c0, w, out, panel);
  if (errors.length !== c0 * out) throw new Error(`sweep: block at column ${c0} loaded with the errors of ${errors.length / out} columns`);
  const u = new Float32Array(c0 * w); // [c0, w] = U[0:c0, c0:c1]
  for (let k = 0; k < c0; k++) u.set(U.subarray(k * n + c0, k * n + c1), k * w);
  const update = await matmulF32(cache, u, [c0, w], errors, [c0, out], { transA: true }); // [w, out]
  // W₀'s columns transposed and the product subtracted in one pass, in tiles of rows (as transposeIn).
  for (let r0 = 0; r0 < out; r0 += 32) {
    const r1 = Math.min(r0 + 32, out);
    for (let k = 0; k < w; k++) for (let r = r0; r < r1; r++) panel[k * out + r] = W[r * n + c0 + k] - update[k * out + r];
  }
}

/** panel[c0:c1] −= U[e0:e1, c0:c1]ᵀ · err, err: [e1 − e0, out] (float32, from E). */
async function updatePanel(cache: SessionCache, { out, n, U, i1, e0, e1, c0, c1, panel }: PanelUpdate, err: Float32Array): Promise<void> {
  const k = e1 - e0;
  const w = c1 - c0;
  const u = new Float32Array(k * w); // [k, w] = U[e0:e1, c0:c1]
  for (let e = 0; e < k; e++) u.set(U.subarray((e0 + e) * n + c0, (e0 + e) * n + c1), e * w);
  const update = await matmulF32(cache, u, [k, w], err, [k, out], { transA: true }); // [w, out]
  const at = (c0 - i1) * out;
  for (let i = 0; i < w * out; i++) panel[at + i] -= update[i];
}

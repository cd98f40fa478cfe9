// The OBS column sweep shared by GPTQ and SparseGPT: columns are replaced one at a time
// (quantized, pruned, or both — the caller's `rule` decides q), and the error of each is
// spread onto the columns not yet visited through the upper Cholesky factor U of H⁻¹:
//
//   err = (w_j − q_j) / U_jj,   W[:, k] −= err · U[j, k]   for k > j
//
// Lazy batch updates (GPTQ §"Lazy Batch-Updates"): inside a block [i1, i2) the rank-1 updates
// touch only the block's columns; the block's errors Err: [i2 − i1, out] reach the rest at once,
//   W[:, i2:] −= Errᵀ · U[i1:i2, i2:],
// which yields the same result as the column-by-column rule with better memory locality.
//
// W is [out, n] row-major; the block is worked on transposed (see obsSweep), so every inner
// loop runs contiguously.
//
// The sweep is a generator: at the end of each block it yields that lazy update (a
// TrailingUpdate) and resumes once the driver has applied it. runSweep applies them in float64
// JS; ort-sweep.ts applies them as onnxruntime Gemms, which is where the O(out·n²) work of
// wide layers belongs. The per-column work inside a block stays JS either way (O(out·n·B)).

export interface SweepView {
  /** Start and end (exclusive) of the current block. */
  readonly i1: number;
  readonly i2: number;
  /**
   * Up-to-date values of columns [c0, c1) of W, c0 ≥ the column being decided, into dst: [out, c1 − c0].
   * Columns past the block still await this block's lazy update; it is applied here on the fly,
   * so a rule looking ahead (a quantization group or N:M window crossing i2) sees what the
   * column-by-column rule would.
   */
  current(c0: number, c1: number, dst: Float64Array): void;
}

/**
 * Decides column j (sweep order): w holds its current values [out] (read only); write the replacement into q [out].
 * Called in order j = 0 … n−1.
 */
export type ColumnRule = (j: number, w: Float64Array, q: Float64Array, view: SweepView) => void;

export const DEFAULT_BLOCK_SIZE = 128;
/** Columns whose rank-1 updates are applied eagerly to each other (see obsSweep). */
const SUB_BLOCK = 16;

/** Asked at the end of block [i1, i2): W[:, i2:] −= Errᵀ · U[i1:i2, i2:], Err: [i2 − i1, out]. */
export interface TrailingUpdate {
  /** [out, n], updated in place. */
  readonly W: Float64Array;
  readonly out: number;
  readonly n: number;
  /** [n, n] upper. */
  readonly U: Float64Array;
  /** [≥ i2 − i1, out]: the block's scaled errors, one row per column of the block. */
  readonly Err: Float64Array;
  readonly i1: number;
  readonly i2: number;
}

/** A sweep in progress: yields the lazy updates, returns the method's result. */
export type Sweep<T> = Generator<TrailingUpdate, T, void>;

/** Runs a sweep to completion with the lazy updates in float64 JS. */
export function runSweep<T>(steps: Sweep<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    applyTrailingUpdate(step.value);
  }
}

export function applyTrailingUpdate({ W, out, n, U, Err, i1, i2 }: TrailingUpdate): void {
  for (let r = 0; r < out; r++) {
    const row = r * n;
    for (let k = 0; k < i2 - i1; k++) {
      const e = Err[k * out + r];
      if (e === 0) continue;
      const Uk = (i1 + k) * n;
      for (let c = i2; c < n; c++) W[row + c] -= e * U[Uk + c];
    }
  }
}

/**
 * Runs the sweep in place on W: [out, n] (columns in sweep order); U: [n, n] from prepareHessian.
 * Returns Σ (w − q)² / U_jj² / 2 over all replaced weights, the OBS estimate of the added loss.
 * Drive it with runSweep (JS) or runSweepOrt; methods compose it with `yield*`.
 *
 * The current block lives transposed in `block`: [B, out], so a column is a contiguous row and
 * each rank-1 update inside the block is a contiguous axpy over `out` (the [out, B] slice of a
 * row-major W would be touched with stride n: several times slower at LLM sizes).
 */
export function* obsSweep(W: Float64Array, out: number, n: number, U: Float64Array, blockSize: number, rule: ColumnRule): Sweep<number> {
  if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  const B = Math.min(blockSize, n);
  const block = new Float64Array(B * out); // [B, out]: the block's current columns
  const Err = new Float64Array(B * out); // [B, out]: the block's scaled errors
  const q = new Float64Array(out);
  let loss = 0;

  let done = 0; // columns of the current block already decided
  let sub0 = 0; // the sub-block being decided: block-relative [sub0, sub1)
  let sub1 = 0;
  const view = {
    i1: 0,
    i2: 0,
    current(c0: number, c1: number, dst: Float64Array): void {
      const { i1, i2 } = view;
      if (c0 < i1 + done) throw new RangeError(`sweep: column ${c0} was already decided`);
      const end = Math.min(c1, n);
      const width = c1 - c0;
      for (let c = c0; c < end; c++) {
        if (c < i2) {
          // In the block: up to date, except that columns past the current sub-block still
          // await the updates of its decided columns [sub0, done).
          const src = (c - i1) * out;
          const from = c - i1 >= sub1 ? sub0 : done;
          for (let r = 0; r < out; r++) {
            let v = block[src + r];
            for (let k = from; k < done; k++) v -= Err[k * out + r] * U[(i1 + k) * n + c];
            dst[r * width + (c - c0)] = v;
          }
          continue;
        }
        for (let r = 0; r < out; r++) {
          let v = W[r * n + c];
          for (let k = 0; k < done; k++) v -= Err[k * out + r] * U[(i1 + k) * n + c];
          dst[r * width + (c - c0)] = v;
        }
      }
    },
  };

  for (let i1 = 0; i1 < n; i1 += B) {
    const i2 = Math.min(i1 + B, n);
    const b = i2 - i1;
    view.i1 = i1;
    view.i2 = i2;
    transposeIn(W, n, i1, b, out, block);
    for (let s0 = 0; s0 < b; s0 += SUB_BLOCK) {
      const s1 = Math.min(s0 + SUB_BLOCK, b);
      sub0 = s0;
      sub1 = s1;
      for (let i = s0; i < s1; i++) {
        const j = i1 + i;
        const Ujj = U[j * n + j];
        done = i;
        const w = block.subarray(i * out, (i + 1) * out);
        rule(j, w, q, view);
        const err = Err.subarray(i * out, (i + 1) * out);
        for (let r = 0; r < out; r++) {
          const d = w[r] - q[r];
          err[r] = d / Ujj;
          loss += (d * d) / (Ujj * Ujj) / 2;
          w[r] = q[r];
        }
        for (let k = i + 1; k < s1; k++) axpy(block, k * out, err, -U[j * n + i1 + k], out);
      }
      // The sub-block's errors reach the rest of the block column by column, each column's
      // row touched once per sub-block (not once per decided column): the block does not fit
      // in cache at LLM widths, the sub-block's errors do. Same operations, same order per
      // element as the column-by-column rule.
      for (let k = s1; k < b; k++) {
        for (let i = s0; i < s1; i++) axpy(block, k * out, Err.subarray(i * out, (i + 1) * out), -U[(i1 + i) * n + i1 + k], out);
      }
    }
    done = b;
    transposeOut(block, b, out, W, n, i1);
    // Lazy batch update of everything right of the block, by the driver.
    if (i2 < n) yield { W, out, n, U, Err, i1, i2 };
  }
  return loss;
}

/** y[at : at + n] += a·x[0 : n] (a = 0 skipped: pruned columns and zero factor entries). */
function axpy(y: Float64Array, at: number, x: Float64Array, a: number, n: number): void {
  if (a === 0) return;
  for (let r = 0; r < n; r++) y[at + r] += a * x[r];
}

const TILE = 32; // rows per tile of the transposes: 32 rows × the block's columns stay in L1

/** block [b, out] = W[:, i1 : i1 + b]ᵀ (W: [out, n]). */
function transposeIn(W: Float64Array, n: number, i1: number, b: number, out: number, block: Float64Array): void {
  for (let r0 = 0; r0 < out; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, out);
    for (let k = 0; k < b; k++) for (let r = r0; r < r1; r++) block[k * out + r] = W[r * n + i1 + k];
  }
}

/** W[:, i1 : i1 + b] = blockᵀ. */
function transposeOut(block: Float64Array, b: number, out: number, W: Float64Array, n: number, i1: number): void {
  for (let r0 = 0; r0 < out; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, out);
    for (let r = r0; r < r1; r++) for (let k = 0; k < b; k++) W[r * n + i1 + k] = block[k * out + r];
  }
}

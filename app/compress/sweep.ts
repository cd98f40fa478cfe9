// The OBS column sweep shared by GPTQ and SparseGPT: columns are replaced one at a time
// (quantized, pruned, or both — the caller's `rule` decides q), and the error of each is
// spread onto the columns not yet visited through the upper Cholesky factor U of H⁻¹:
//
//   err = (w_j − q_j) / U_jj,   W[:, k] −= err · U[j, k]   for k > j
//
// Blocked without changing the arithmetic (GPTQ §"Lazy Batch-Updates"), on three levels:
//   column     — inside a sub-block of 16 columns, each error reaches the sub-block's later
//                columns at once (rank-1 updates, O(out·16) per column; the only per-column
//                update work, JS);
//   sub-block  — its 16 errors reach the rest of the block panel together: a [·, 16]·[16, out]
//                product (a PanelUpdate step);
//   block      — the block's errors reach everything right of it (a TrailingUpdate step), and
//                the next block is loaded up to date (a PanelLoad step).
// Which products run where is the driver's choice: runSweep applies every step in float64 JS
// (exactly the column-by-column rule's operations, in its order per element); ort-sweep.ts
// turns the sub-block and block steps into onnxruntime Gemms, which is where the O(out·n²)
// and O(out·n·B) work of wide layers belongs.
//
// W is [out, n] row-major; the block (plus a lookahead, see obsSweep) is worked on transposed
// in `panel`: [columns, out], so a column is a contiguous row and every update is contiguous.
//
// Precision: the sweep opens with a Begin step whose reply picks the panel's type. runSweep
// keeps float64 (the exact reference, and every layer below ort-sweep.ts's threshold). A driver
// whose products are float32 anyway (ort-sweep.ts) asks for a float32 panel: it and the block's
// scaled errors then live in a wasm/kernels.ts Workspace, the in-sub-block rank-1 updates run
// as SIMD there, and ORT reads and writes panel rows without conversions. The rule still sees
// float64 columns; only where a weight lies within float32's resolution of a rounding boundary
// can its code differ (ort-sweep.test.ts bounds how many).
import { MAX_WORKSPACE_BYTES, Workspace, workspaceBytes } from './wasm/kernels.js';

export interface SweepView {
  /** Start and end (exclusive) of the current block. */
  readonly i1: number;
  readonly i2: number;
  /**
   * Up-to-date values of columns [c0, c1) of W, c0 ≥ the column being decided, into dst: [out, c1 − c0].
   * Columns past the current sub-block still await its decided columns' updates; they are applied
   * here on the fly, so a rule looking ahead (a quantization group or N:M window) sees what the
   * column-by-column rule would. Columns past the block must lie within the sweep's lookahead.
   */
  current(c0: number, c1: number, dst: Float64Array): void;
  /** The same values column by column: dst [c1 − c0, out] (a group's grid fit reads them this way, contiguously). */
  currentColumns(c0: number, c1: number, dst: Float64Array): void;
  /** Per row r, lo[r] = min(0, the current W[r, c0:c1]) and hi[r] = max(0, …): a group's grid range ([out] each). */
  range(c0: number, c1: number, lo: Float64Array, hi: Float64Array): void;
}

/**
 * Decides column j (sweep order): w holds its current values [out] (read only); write the replacement into q [out].
 * Called in order j = 0 … n−1.
 */
export type ColumnRule = (j: number, w: Float64Array, q: Float64Array, view: SweepView) => void;

/**
 * A rule that is a rounding to per-row grids (GPTQ's), which a float32 sweep runs in its SIMD
 * kernel (wasm/kernels.ts quantize) instead of calling the ColumnRule with a float64 copy of the
 * column: no JavaScript per weight. It must quantize exactly as the ColumnRule does.
 */
export interface GridRule {
  readonly maxq: number;
  /** Fits grids as needed (the view as for a ColumnRule) and returns the group whose grid rounds column j. */
  group(j: number, view: SweepView): number;
  /** Row r's scale and zero of `group` into scales[r], zeros[r] ([out] each); asked when the group changes. */
  grid(group: number, scales: Float32Array, zeros: Float32Array): void;
  /** Grids per row (the largest group index + 1). */
  readonly groups: number;
  /** Column j's codes [out] (a view valid during the call), where the sweep keeps no history of them. */
  codes(j: number, codes: Uint8Array): void;
  /**
   * Where the sweep kept every column's codes in its workspace (float32 sweeps that keep E
   * there): called once at the end instead of codes() per column, to place them and write W_c
   * into E's dead floats (Workspace.place).
   */
  placed?(kept: KeptCodes): void;
}

/** A grid-rounding sweep's codes, kept in sweep order, and the kernel that places them. */
export interface KeptCodes {
  /**
   * codes [out, n] = the kept codes in original column order (position: each original column's
   * sweep index, null for in order); returns W_c [out, n] = float32(s·(code − z)) of each column's
   * group (groupOf [n]; scales, zeros [out, groups], zeros integers), written over E.
   */
  place(position: Int32Array | null, groupOf: Int32Array, scales: Float32Array, zeros: Float32Array, codes: Uint8Array): Float32Array;
}

export const DEFAULT_BLOCK_SIZE = 128;
/** Columns whose rank-1 updates are applied eagerly to each other (see obsSweep). */
export const SUB_BLOCK = 16;

/** At each block start: panel[c − c0] = column c of W for c ∈ [c0, c1), with the errors of every column left of c0 applied. */
export interface PanelLoad {
  readonly kind: 'load';
  /** [out, n]: columns < c0 hold final values, columns ≥ c0 whatever the driver left there. */
  readonly W: Float64Array;
  /**
   * Rows [c0, c1) of W₀ᵀ in float32 into dst [c1 − c0, out] (sweep order, dead columns zero),
   * when the method gathers them instead of building W (which is then empty): float32 drivers.
   */
  readonly W0T?: W0TRows;
  readonly out: number;
  readonly n: number;
  /** [n, n] upper. */
  readonly U: Float64Array;
  readonly c0: number;
  readonly c1: number;
  /** [≥ c1 − c0, out], filled by the driver. */
  readonly panel: Panel;
  /** E, as PanelUpdate's: rows ≥ c0 are not written yet, free for the driver until their columns are decided. */
  readonly history?: Panel;
}

/** After each sub-block: panel[c − i1] −= Σ_{e ∈ [e0, e1)} U[e, c] · Err[e − i1] for c ∈ [c0, c1). */
export interface PanelUpdate {
  readonly kind: 'update';
  readonly out: number;
  readonly n: number;
  readonly U: Float64Array;
  /** [≥ e1 − i1, out]: the block's scaled errors, row e − i1 for column e. */
  readonly Err: Panel;
  /** E: [n, out], the scaled errors of every column so far (row e for column e), where the sweep keeps them (see SweepReply). */
  readonly history?: Panel;
  /** The block's first column: row 0 of both Err and panel. */
  readonly i1: number;
  readonly e0: number;
  readonly e1: number;
  readonly c0: number;
  readonly c1: number;
  readonly panel: Panel;
}

/** At the end of block [i1, i2): W[:, i2:] −= Errᵀ · U[i1:i2, i2:], Err: [i2 − i1, out], before any later PanelLoad. */
export interface TrailingUpdate {
  readonly kind: 'trailing';
  /** [out, n], updated in place by the JS driver. */
  readonly W: Float64Array;
  readonly out: number;
  readonly n: number;
  /** [n, n] upper. */
  readonly U: Float64Array;
  /** [≥ i2 − i1, out]: the block's scaled errors, one row per column of the block. */
  readonly Err: Panel;
  /** As PanelUpdate's. */
  readonly history?: Panel;
  readonly i1: number;
  readonly i2: number;
}

/** First step of every sweep; the driver's reply to it (SweepReply) picks the panel's precision. */
export interface SweepBegin {
  readonly kind: 'begin';
  readonly out: number;
  readonly n: number;
}

/**
 * A driver's reply to Begin: a float32 panel (wide layers, float32 products), or nothing for
 * float64. `history`: keep the scaled errors of all n columns (E, [n, out] float32) in the
 * workspace, where the rounding kernel writes them, and hand E over with each update step
 * (a left-looking driver reads it; the block's errors are then rows of E, never copied).
 */
export type SweepReply = { readonly precision: 'float32'; readonly subBlock?: number; readonly history?: boolean } | undefined;

/** A panel: [rows, out], float64 unless the driver asked for float32. */
export type Panel = Float64Array | Float32Array;

export type SweepStep = SweepBegin | PanelLoad | PanelUpdate | TrailingUpdate;

/** A sweep in progress: yields the steps a driver must apply, returns the method's result. */
export type Sweep<T> = Generator<SweepStep, T, SweepReply | void>;

/** Runs a sweep to completion with every step in float64 JS. */
export function runSweep<T>(steps: Sweep<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    applyStep(step.value);
  }
}

/** One step in float64 JS: right-looking, W always up to date. */
export function applyStep(step: SweepStep): void {
  if (step.kind === 'begin') return;
  if (step.kind === 'load') transposeIn(step.W, step.n, step.c0, step.c1 - step.c0, step.out, step.panel as Float64Array);
  else if (step.kind === 'update') applyPanelUpdate(step as PanelUpdate & { panel: Float64Array; Err: Float64Array });
  else applyTrailingUpdate(step as TrailingUpdate & { Err: Float64Array });
}

function applyPanelUpdate({ out, n, U, Err, i1, e0, e1, c0, c1, panel }: PanelUpdate & { panel: Float64Array; Err: Float64Array }): void {
  // Column by column, each row touched once per sub-block: the panel does not fit in cache at
  // LLM widths, the sub-block's errors do.
  for (let c = c0; c < c1; c++) {
    for (let e = e0; e < e1; e++) axpy(panel, (c - i1) * out, Err, (e - i1) * out, -U[e * n + c], out);
  }
}

function applyTrailingUpdate({ W, out, n, U, Err, i1, i2 }: TrailingUpdate & { Err: Float64Array }): void {
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

/** Writes rows [c0, c1) of W₀ᵀ (float32, sweep order) into dst: [c1 − c0, out]. */
export type W0TRows = (c0: number, c1: number, dst: Float32Array) => void;

/** W₀ for a float32 sweep that reads only W₀ᵀ: w [out, n] in original column order. */
export interface W0Source {
  w: Float32Array;
  /** Each original column's sweep index; null for in order. */
  position: Int32Array | null;
  /** Columns (original index) that read as zero. */
  dead: Uint8Array;
}

export interface SweepOptions {
  /** Columns past a block's end the rule may read (see obsSweep). */
  lookahead?: number;
  /** Write the replaced values back into W (default true). */
  writeBack?: boolean;
  /** The rule as a grid rounding, for a float32 driver's kernel. */
  gridRule?: GridRule;
  /**
   * The method yielded the Begin step itself (to build its weights for the precision asked) and
   * passes the driver's reply; with W0T it gave W₀ instead of W (float32 drivers only), which
   * the sweep gathers into W₀ᵀ rows as the driver asks.
   */
  begun?: { reply: SweepReply | void; W0T?: W0Source };
  /**
   * Called when the sweep is over with its float32 error history E (n·out floats, their
   * contents dead), where it kept one (SweepReply history): the method may write its result
   * there instead of first-touching as much fresh memory (GPTQ's W_c has E's size). Not called
   * where a grid rule's `placed` takes E instead.
   */
  spare?: (floats: Float32Array) => void;
}

/**
 * Runs the sweep in place on W: [out, n] (columns in sweep order); U: [n, n] from prepareHessian.
 * Returns Σ (w − q)² / U_jj² / 2 over all replaced weights, the OBS estimate of the added loss.
 * Drive it with runSweep (JS) or runSweepOrt; methods compose it with `yield*`.
 *
 * `lookahead`: how many columns past a block's end the rule may read through view.current (a
 * quantization group or N:M window that does not start on a block boundary); they are loaded
 * and kept up to date with the block. On return W holds the replaced values q, unless
 * `writeBack` is false (a method that keeps its result elsewhere, as GPTQ's codes, saves a
 * strided pass over W). `gridRule`: the same rule as a grid rounding, for a float32 sweep's kernel.
 */
export function* obsSweep(W: Float64Array, out: number, n: number, U: Float64Array, blockSize: number, rule: ColumnRule, options: SweepOptions = {}): Sweep<number> {
  const { lookahead = 0, writeBack = true, gridRule, begun, spare } = options;
  if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  if (!(Number.isInteger(lookahead) && lookahead >= 0)) throw new RangeError(`lookahead must be a non-negative integer, got ${lookahead}`);
  const B = Math.min(blockSize, n);
  const panelRows = Math.min(B + lookahead, n); // the block's current columns and those ahead
  const reply = begun ? begun.reply : yield { kind: 'begin', out, n };
  const source = begun?.W0T;
  if (source && reply?.precision !== 'float32') throw new Error('sweep: W₀ᵀ given for a float64 sweep');
  if (source && writeBack) throw new Error('sweep: W₀ᵀ given with no W to write back into');
  // float32: panel and errors in a SIMD workspace; w64 is the rule's float64 copy of a column.
  // A float32 driver may ask for wider sub-blocks: fewer products, more SIMD rank-1 work. The
  // float64 result does not depend on the width (each weight gets the same updates in the same order).
  const sub = reply?.precision === 'float32' ? (reply.subBlock ?? SUB_BLOCK) : SUB_BLOCK;
  if (!(Number.isInteger(sub) && sub > 0)) throw new RangeError(`sub-block width must be a positive integer, got ${sub}`);
  const history = reply?.precision === 'float32' && !!reply.history; // ws.err is E: [n, out]
  // With E in the workspace, a grid rule's codes go straight into a history there too.
  // (Not where the history would push the memory past wasm32's 4 GiB: tiny groups on the widest E.)
  const kept = gridRule?.placed ? { columns: n, groups: gridRule.groups } : undefined;
  const keepCodes = history && !!kept && workspaceBytes(out, panelRows, n, sub, kept) <= MAX_WORKSPACE_BYTES;
  const ws = reply?.precision === 'float32' ? new Workspace(out, panelRows, history ? n : B, sub, keepCodes ? kept : undefined) : null;
  // W₀ᵀ whole into the workspace's E (the driver's first load) by the SIMD kernel, which borrows
  // the code history's scratch; stage by stage elsewhere in JS.
  const W0T: W0TRows | undefined =
    source &&
    ((c0, c1, dst) =>
      ws?.codeHistory && c0 === 0 && c1 === n && dst.buffer === ws.panel.buffer
        ? ws.gather(source.w, source.position, source.dead, dst)
        : gatherTransposed(source.w, out, n, source.position, source.dead, c0, c1, dst));
  const panel: Panel = ws ? ws.panel : new Float64Array(panelRows * out); // [panelRows, out]
  const errors: Panel = ws ? ws.err : new Float64Array(B * out); // [B, out] (or E: [n, out]): the block's scaled errors
  let Err = errors; // the current block's: row i for column i1 + i
  const E = history ? errors : undefined;
  const coef = new Float64Array(sub); // U[j, later columns of the sub-block]
  const q = ws ? ws.q : new Float64Array(out);
  let loss = 0;
  let gridGroup = -1; // the group whose grid is in ws.scales/zeros

  let panelEnd = 0; // columns [i1, panelEnd) are in the panel
  let done = 0; // columns of the current block already decided
  let sub0 = 0; // the sub-block being decided: block-relative [sub0, sub1)
  let sub1 = 0;
  // dst[(c − c0)·colStride + r·rowStride] = current value of W[r, c] for c ∈ [c0, min(c1, n)).
  const read = (c0: number, c1: number, dst: Float64Array, rowStride: number, colStride: number): void => {
    const { i1 } = view;
    if (c0 < i1 + done) throw new RangeError(`sweep: column ${c0} was already decided`);
    const end = Math.min(c1, n);
    if (end > panelEnd) throw new RangeError(`sweep: column ${end - 1} is past the lookahead (the panel ends at ${panelEnd})`);
    for (let c = c0; c < end; c++) {
      // Up to date, except that columns past the current sub-block still await the updates
      // of its decided columns [sub0, done).
      const src = (c - i1) * out;
      const from = c - i1 >= sub1 ? sub0 : done;
      const at = (c - c0) * colStride;
      if (from === done && rowStride === 1) {
        dst.set(panel.subarray(src, src + out), at);
        continue;
      }
      for (let r = 0; r < out; r++) {
        let v = panel[src + r];
        for (let k = from; k < done; k++) v -= Err[k * out + r] * U[(i1 + k) * n + c];
        dst[at + r * rowStride] = v;
      }
    }
  };
  let column: Float64Array | null = null; // range's column buffer
  const range = (c0: number, c1: number, lo: Float64Array, hi: Float64Array): void => {
    const { i1 } = view;
    const end = Math.min(c1, n);
    // Columns no decided column still has to update: the float32 panel rows as they are, in SIMD.
    if (ws && c0 >= i1 + done && end <= panelEnd && (sub0 === done || end <= i1 + sub1)) {
      ws.range(c0 - i1, end - c0);
      lo.set(ws.lo);
      hi.set(ws.hi);
      return;
    }
    lo.fill(0);
    hi.fill(0);
    column ??= new Float64Array(out);
    for (let c = c0; c < end; c++) {
      read(c, c + 1, column, 1, out);
      for (let r = 0; r < out; r++) {
        const v = column[r];
        lo[r] = v < lo[r] ? v : lo[r]; // selects, not branches: the values are noise
        hi[r] = v > hi[r] ? v : hi[r];
      }
    }
  };
  const view = {
    i1: 0,
    i2: 0,
    current: (c0: number, c1: number, dst: Float64Array) => read(c0, c1, dst, c1 - c0, 1),
    currentColumns: (c0: number, c1: number, dst: Float64Array) => read(c0, c1, dst, 1, out),
    range,
  };

  for (let i1 = 0; i1 < n; i1 += B) {
    const i2 = Math.min(i1 + B, n);
    const b = i2 - i1;
    view.i1 = i1;
    view.i2 = i2;
    panelEnd = Math.min(i2 + lookahead, n);
    done = sub0 = sub1 = 0;
    const errRow0 = history ? i1 : 0; // the block's first row in errors
    Err = history ? errors.subarray(i1 * out) : errors;
    yield { kind: 'load', W, W0T, out, n, U, c0: i1, c1: panelEnd, panel, history: E };
    for (let s0 = 0; s0 < b; s0 += sub) {
      const s1 = Math.min(s0 + sub, b);
      sub0 = s0;
      sub1 = s1;
      for (let i = s0; i < s1; i++) {
        const j = i1 + i;
        const Ujj = U[j * n + j];
        done = i;
        const col = panel.subarray(i * out, (i + 1) * out);
        if (ws) {
          if (gridRule) {
            // Rounding, error row, panel row and Σd² in one SIMD pass over the float32 row.
            const group = gridRule.group(j, view);
            if (group !== gridGroup) gridRule.grid((gridGroup = group), ws.scales, ws.zeros);
            loss += ws.quantize(i, errRow0 + i, Ujj, gridRule.maxq, keepCodes ? j : undefined) / (Ujj * Ujj) / 2;
            if (!keepCodes) gridRule.codes(j, ws.codes);
          } else {
            // The rule reads a float64 copy; error row, panel row and Σd² come from one SIMD pass.
            ws.w.set(col);
            rule(j, ws.w, q, view);
            loss += ws.columnError(i, errRow0 + i, Ujj) / (Ujj * Ujj) / 2;
          }
          // The column's error reaches the sub-block's later columns (rank-1 updates).
          for (let k = i + 1; k < s1; k++) coef[k - i - 1] = U[j * n + i1 + k];
          ws.rank1(i + 1, errRow0 + i, coef.subarray(0, s1 - i - 1));
          continue;
        }
        const w = col as Float64Array;
        rule(j, w, q, view);
        const err = Err.subarray(i * out, (i + 1) * out);
        for (let r = 0; r < out; r++) {
          const d = w[r] - q[r];
          err[r] = d / Ujj;
          loss += (d * d) / (Ujj * Ujj) / 2;
        }
        col.set(q);
        for (let k = i + 1; k < s1; k++) axpy(panel as Float64Array, k * out, Err as Float64Array, i * out, -U[j * n + i1 + k], out);
      }
      done = s1;
      sub0 = sub1 = s1;
      if (i1 + s1 < panelEnd) yield { kind: 'update', out, n, U, Err, history: E, i1, e0: i1 + s0, e1: i1 + s1, c0: i1 + s1, c1: panelEnd, panel };
    }
    if (writeBack) transposeOut(panel, b, out, W, n, i1);
    if (i2 < n) yield { kind: 'trailing', W, out, n, U, Err, history: E, i1, i2 };
  }
  if (keepCodes) {
    const dead = E as Float32Array; // W_c goes over E, whose contents are dead now
    gridRule!.placed!({ place: (position, groupOf, scales, zeros, codes) => (ws!.place(position, groupOf, scales, zeros, codes, dead), dead) });
  } else if (E && spare) spare(E as Float32Array);
  return loss;
}

/** y[at : at + n] += a·x[from : from + n] (a = 0 skipped: pruned columns and zero factor entries). */
function axpy(y: Float64Array, at: number, x: Float64Array, from: number, a: number, n: number): void {
  if (a === 0) return;
  for (let r = 0; r < n; r++) y[at + r] += a * x[from + r];
}

const TILE = 32; // rows per tile of the transposes: 32 rows × the block's columns stay in L1

/** block [b, out] = W[:, i1 : i1 + b]ᵀ (W: [out, n]). */
export function transposeIn(W: Float64Array, n: number, i1: number, b: number, out: number, block: Float64Array): void {
  for (let r0 = 0; r0 < out; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, out);
    for (let k = 0; k < b; k++) for (let r = r0; r < r1; r++) block[k * out + r] = W[r * n + i1 + k];
  }
}

/**
 * Rows [j0, j1) of W₀ᵀ into dst: [j1 − j0, out] float32, row j = column order[j] of w: [out, n]
 * (`position` is order's inverse, null for in order), dead columns (by original index) zero.
 */
export function gatherTransposed(w: Float32Array, out: number, n: number, position: Int32Array | null, dead: Uint8Array, j0: number, j1: number, dst: Float32Array): void {
  // 16 rows at a time, original columns in order: the 16 rows' reads stay in L1, and each column
  // writes one whole cache line of dst.
  const rows = 16;
  for (let r0 = 0; r0 < out; r0 += rows) {
    const r1 = Math.min(r0 + rows, out);
    for (let c = 0; c < n; c++) {
      const j = position ? position[c] : c;
      if (j < j0 || j >= j1) continue;
      const at = (j - j0) * out;
      if (dead[c]) dst.fill(0, at + r0, at + r1);
      else for (let r = r0, to = at + r0; r < r1; r++, to++) dst[to] = w[r * n + c];
    }
  }
}

/** W[:, i1 : i1 + b] = blockᵀ. */
function transposeOut(block: Panel, b: number, out: number, W: Float64Array, n: number, i1: number): void {
  for (let r0 = 0; r0 < out; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, out);
    for (let r = r0; r < r1; r++) for (let k = 0; k < b; k++) W[r * n + i1 + k] = block[k * out + r];
  }
}

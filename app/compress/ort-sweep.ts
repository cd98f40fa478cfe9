// Drives a GPTQ/SparseGPT sweep (sweep.ts) on wide layers with its block and sub-block steps as
// onnxruntime Gemms and a float32 panel, so that JS keeps only the rounding, and WebAssembly
// SIMD the O(out·n·16) rank-1 updates inside sub-blocks (wasm/kernels.ts).
//
//   block loads, left-looking:  panel = W₀ᵀ[c0:c1] − U[0:c0, c0:c1]ᵀ · E[0:c0]
//     E: [n, out] float32, the scaled errors of every decided column, written there by the
//     rounding kernel itself (the sweep's workspace holds E: SweepReply history).
//     Σ over blocks ≈ out·n² flops, the bulk of the sweep (69 GFLOP at 4096²). Left-looking
//     rather than updating all of W[:, i2:] after each block (right-looking): each product
//     writes only the [b, out] panel, already in the sweep's transposed layout; W₀ᵀ's rows
//     (float32: gathered by the method, or transposed once by ORT; kept in E's rows not yet
//     decided) are the Gemm's C operand, and its output is written straight into the panel or
//     the stage.
//   sub-block updates:          panel[c0:c1] = panel[c0:c1] − U[e0:e1, c0:c1]ᵀ · E[e0:e1]   (K = WIDE_SUB_BLOCK)
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
import { applyStep, type PanelLoad, type PanelUpdate, type Sweep, type SweepReply } from './sweep.js';

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

/**
 * y: [M, N] = c − a·b for a: [M, K], b: [K, N], c: [M, N]. A is given as [M, K] rather than
 * read transposed (transA): MLAS's transA path ran these shapes 1.3–1.9× slower (measured with
 * onnxruntime-node 1.30 on 2026-12-05, N = 4096: M 1024 K 1024 183 vs 239 GFLOP/s; M 128 K 448
 * 82 vs 108; M 896 K 128 48 vs 93).
 */
function subtractProductGraph(): Uint8Array {
  const g = new GraphBuilder('sweep-subtract-product');
  const a = g.input('a', 'float32', ['M', 'K']);
  const b = g.input('b', 'float32', ['K', 'N']);
  const c = g.input('c', 'float32', ['M', 'N']);
  g.output(g.op('Gemm', [a, b, c], { alpha: float(-1), beta: float(1) }), 'y', 'float32', ['M', 'N']);
  return g.build();
}

function transposeGraph(): Uint8Array {
  const g = new GraphBuilder('sweep-transpose');
  const x = g.input('x', 'float32', ['R', 'C']);
  g.output(g.op('Transpose', [x], { perm: ints([1, 0]) }), 'y', 'float32', ['C', 'R']);
  return g.build();
}

/**
 * c − a·b, a: [m, k], b: [k, nc], c: [m, nc] (all float32, row-major), written into `into`
 * ([m, nc], may be c itself). On the CPU onnxruntime writes it there (a pre-allocated output: no
 * allocation, no copy; Gemm copies C into Y element by element first, so Y = C is safe); other
 * devices return a new array that is copied in.
 */
async function subtractProduct(cache: SessionCache, a: Float32Array, b: Float32Array, c: Float32Array, k: number, m: number, nc: number, into: Float32Array): Promise<void> {
  const session = await cache.get('sweep-subtract-product', subtractProductGraph);
  const feeds = { a: floatTensor(a, [m, k]), b: floatTensor(b, [k, nc]), c: floatTensor(c, [m, nc]) };
  if (cache.device === 'cpu') {
    await session.run(feeds, { y: floatTensor(into, [m, nc]) });
    return;
  }
  into.set(floatData((await session.run(feeds)).y, 'sweep product'));
}

const SLICE_TILE = 16; // U rows per pass of sliceT32: their 16 written floats per output row share a cache line or two

/** U[r0:r1, c0:c1]ᵀ as float32 [c1 − c0, r1 − r0] (U: [n, n] row-major) into u, the products' A operand. */
function sliceT32(U: Float64Array, n: number, r0: number, r1: number, c0: number, c1: number, u: Float32Array): Float32Array {
  const k = r1 - r0;
  for (let t0 = r0; t0 < r1; t0 += SLICE_TILE) {
    const t1 = Math.min(t0 + SLICE_TILE, r1);
    for (let c = c0; c < c1; c++) {
      for (let r = t0, from = t0 * n + c, to = (c - c0) * k + (t0 - r0); r < t1; r++, from += n, to++) u[to] = U[from];
    }
  }
  return u;
}

/** `maxHistoryFloats`: the largest E the sweep keeps in its workspace (see MAX_HISTORY_FLOATS; tests lower it to run the copying path). */
export async function runSweepOrt<T>(cache: SessionCache, steps: Sweep<T>, minColumns = cache.device === 'cpu' ? ORT_SWEEP_MIN_COLUMNS : 0, stats?: SweepStats, maxHistoryFloats = MAX_HISTORY_FLOATS): Promise<T> {
  let wide: WideSweep | null = null; // float32 panel, products in ORT
  let reply: SweepReply = undefined;
  for (;;) {
    const step = steps.next(reply);
    reply = undefined;
    if (step.done) return step.value;
    const s = step.value;
    if (s.kind === 'begin') {
      wide = s.n >= minColumns ? new WideSweep(cache, s.out, s.n) : null;
      if (wide) reply = { precision: 'float32', subBlock: WIDE_SUB_BLOCK, history: s.out * s.n <= maxHistoryFloats };
      continue;
    }
    if (!wide) {
      applyStep(s);
      continue;
    }
    const t0 = performance.now();
    if (s.kind === 'load') {
      await wide.load(s);
      if (stats) stats.loadMs = (stats.loadMs ?? 0) + performance.now() - t0;
    } else {
      wide.record(s.Err as Float32Array, s.history as Float32Array | undefined, s.i1, s.kind === 'update' ? s.e1 : s.i2);
      if (s.kind === 'update') await wide.update(s);
    }
    if (stats) (stats.updateMs += performance.now() - t0), stats.updates++;
  }
}

/**
 * Sub-block width of a wide sweep: each sub-block costs one ORT call (≈ 0.5–1 ms on the CPU
 * whatever its size, K = width), the rank-1 updates inside it out·width/2 SIMD multiply-adds per
 * column. In `npm run bench -- gptq` at 4096² (2026-12-05 06:44–06:50, load 3–6, so only the
 * sub-block step itself compares): 16 → 0.28 s, 32 → 0.18–0.31 s, 64 → 0.09–0.19 s, with no
 * visible growth of the time outside ORT.
 */
export const WIDE_SUB_BLOCK = 64;

/**
 * Columns one block-load product brings up to date at once. A product [M, K]·[K, out] repacks
 * its whole [K, out] operand (E) for only M rows of output: at M = 128 (one block) that copy
 * is a sizeable part of the arithmetic's time (an estimate, see README). Loading 1024 columns at
 * once (the next blocks' columns with every error known so far) and catching each later block up
 * with the few columns decided since (K ≤ 896) moves most flops to the wide product. 1024 beat
 * 512 in `npm run bench -- gptq` at 4096² (4.3–5.2× vs 6.0–7.1× the same-run floor time; 2048
 * was no better): the E repack is paid 4 times per sweep instead of 8. The stage costs
 * 1024·out·4 bytes (45 MB at out = 11008).
 */
export const STAGE_COLUMNS = 1024;

/**
 * Largest E ([n, out] float32) kept in the sweep's WebAssembly memory (history in SweepReply),
 * where the rounding kernel writes each error row once: no copy per sub-block, no second
 * buffer of E's size to first-touch. 2 GB keeps the memory well inside wasm32's 4 GB; wider
 * layers copy the block's rows into a buffer of their own.
 */
export const MAX_HISTORY_FLOATS = 2 ** 29;

/** State of one wide sweep: W₀ᵀ, the error history E, and the staged columns. */
class WideSweep {
  private W0T: Float32Array | null = null; // [n, out]: W₀ transposed, columns in sweep order (unless the method gathers its rows)
  private errors: Float32Array | null = null; // E: [n, out], the scaled errors of decided columns (the sweep's own, or a copy)
  private written = 0; // rows [0, written) of E are filled
  private stage: Float32Array | null = null; // [stageEnd − stageStart, out]: those columns with the errors of all columns < stageStart
  private stageBuffer: Float32Array | null = null; // where stages are gathered and computed when E is not the sweep's (else in E's undecided rows)
  private stageStart = 0;
  private stageEnd = 0;
  private uBuffer: Float32Array; // the products' U slices, reused (up to 12 MB a slice at n = 4096: no allocation and GC per product)

  constructor(
    private readonly cache: SessionCache,
    private readonly out: number,
    private readonly n: number,
  ) {
    // Sized once for the widest slice, U[0:c0, c0:c0 + STAGE_COLUMNS] at the last stage
    // (c0 < n): growing it slice by slice first-touched fresh memory at each size.
    this.uBuffer = new Float32Array(Math.min(n, STAGE_COLUMNS) * n);
  }

  async load({ W, W0T: given, U, c0, c1, panel, history }: PanelLoad): Promise<void> {
    const { cache, out, n } = this;
    if (history) this.errors = history as Float32Array;
    const errors = this.errors!; // set by the first record unless the sweep keeps E (c0 = 0 reads no errors)
    if (this.written !== c0) throw new Error(`sweep: block at column ${c0} loaded with the errors of ${this.written} columns`);
    // Where the sweep keeps E, its rows ≥ c0 are free until their columns are decided: W₀ᵀ is
    // gathered there whole at the start (each line of W read once, not once per stage) and
    // every stage is computed in place on its rows, so W₀ᵀ and the stages need no memory of their own.
    const inE = !!history;
    if (c0 === 0 && inE && given) given(0, n, errors);
    if (c0 === 0 && !given) {
      // W holds W₀ now (sweep order, dead columns zeroed); later loads read W₀ᵀ only.
      const session = await cache.get('sweep-transpose', transposeGraph);
      this.W0T = floatData((await session.run({ x: floatTensor(new Float32Array(W), [out, n]) })).y, 'sweep transpose');
    }
    if (c0 < this.stageStart || c1 > this.stageEnd) {
      // stage = W₀ᵀ[c0:end] − U[0:c0, c0:end]ᵀ · E[0:c0], computed in place on the gathered rows.
      const end = Math.min(n, Math.max(c1, c0 + STAGE_COLUMNS));
      let stage: Float32Array;
      if (inE) stage = errors.subarray(c0 * out, end * out);
      else {
        this.stageBuffer ??= new Float32Array(Math.max(STAGE_COLUMNS, c1 - c0) * out); // a stage is at most this wide
        stage = this.stageBuffer.subarray(0, (end - c0) * out);
      }
      this.stage = stage;
      // Rows of E from `fresh` on hold W₀ᵀ; rows [c0, fresh) the previous stage's values (a
      // block's lookahead crossed its end), which lack only the errors decided since it began.
      const fresh = inE ? Math.max(c0, this.stageEnd) : c0;
      if (!inE) {
        if (given) given(c0, end, stage);
        else stage.set(this.W0T!.subarray(c0 * out, end * out));
      } else if (!given && fresh < end) errors.set(this.W0T!.subarray(fresh * out, end * out), fresh * out);
      const p0 = this.stageStart;
      const caught = stage.subarray(0, (fresh - c0) * out);
      if (fresh > c0) await subtractProduct(cache, this.uSlice(U, p0, c0, c0, fresh), errors.subarray(p0 * out, c0 * out), caught, c0 - p0, fresh - c0, out, caught);
      const rest = stage.subarray((fresh - c0) * out);
      if (c0 > 0) await subtractProduct(cache, this.uSlice(U, 0, c0, fresh, end), errors.subarray(0, c0 * out), rest, c0, end - fresh, out, rest);
      this.stageStart = c0;
      this.stageEnd = end;
    }
    // panel = stage[c0:c1] − U[p0:c0, c0:c1]ᵀ · E[p0:c0], p0 = the stage's start: the errors decided since.
    const p0 = this.stageStart;
    const staged = this.stage!.subarray((c0 - p0) * out, (c1 - p0) * out);
    const rows = (panel as Float32Array).subarray(0, (c1 - c0) * out);
    if (c0 === p0) rows.set(staged);
    else await subtractProduct(cache, this.uSlice(U, p0, c0, c0, c1), errors.subarray(p0 * out, c0 * out), staged, c0 - p0, c1 - c0, out, rows);
  }

  /** U[r0:r1, c0:c1]ᵀ, float32 [c1 − c0, r1 − r0], in the reused buffer (valid until the next slice). */
  private uSlice(U: Float64Array, r0: number, r1: number, c0: number, c1: number): Float32Array {
    const size = (r1 - r0) * (c1 - c0);
    if (size > this.uBuffer.length) this.uBuffer = new Float32Array(size);
    return sliceT32(U, this.n, r0, r1, c0, c1, this.uBuffer.subarray(0, size));
  }

  /**
   * The block's scaled errors of columns [written, end) join E (Err: the block's rows from
   * column i1), unless the sweep keeps E itself (history: they are there already).
   */
  record(Err: Float32Array, history: Float32Array | undefined, i1: number, end: number): void {
    const { out } = this;
    if (history) this.errors = history;
    else (this.errors ??= new Float32Array(this.n * out)).set(Err.subarray((this.written - i1) * out, (end - i1) * out), this.written * out);
    this.written = end;
  }

  /** panel[c0:c1] = panel[c0:c1] − U[e0:e1, c0:c1]ᵀ · E[e0:e1]. */
  async update({ U, i1, e0, e1, c0, c1, panel }: PanelUpdate): Promise<void> {
    const { out, n } = this;
    const rows = (panel as Float32Array).subarray((c0 - i1) * out, (c1 - i1) * out);
    await subtractProduct(this.cache, this.uSlice(U, e0, e1, c0, c1), this.errors!.subarray(e0 * out, e1 * out), rows, e1 - e0, c1 - c0, out, rows);
  }
}

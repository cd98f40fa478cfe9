// Top-k eigenpairs of a symmetric PSD operator M: [d, d] that we can only apply to blocks —
// randomized block Krylov (Musco & Musco 2015; Saad §6.3 block Lanczos with full
// re-orthogonalization): Q spans [Ω, M·Ω, M²·Ω, …] for a Gaussian Ω: [d, b], grown one block per
// application of M, and one Rayleigh–Ritz on all of it at the end. Against subspace iteration on
// [d, k + p] (randomized.ts' history: 16 applications for C's spectrum, 11–24 for the bases at
// 4096²) the polynomial that Krylov builds is the best one of its degree — Chebyshev-like,
// converging like e^{−2q·√gap} instead of (λ_{b+1}/λᵢ)^{2q} — so far fewer columns of M are
// needed, most of all on flat (noise-like) tails.
//
// Cost model at LLM sizes: applying M (ΔW·(C·(ΔWᵀ·Y))) is ~100 MFLOP per column at 4096² and runs
// in onnxruntime near the Gemm rate; what costs is the float64 s×s Rayleigh–Ritz on the whole
// space (s = columns so far). So the stopping test uses eigenvalues only (T is a band: reduced
// to tridiagonal in ≈ 6·s²·b, see krylovReduction; dense Householder ≈ 4/3·s³ otherwise), and
// only the k wanted eigenvectors are computed, once, at the end (top-eigenpairs.ts).
//
// Each new block is Z = M·X minus its projection onto Q, twice (classical Gram–Schmidt twice:
// in float32 one pass leaves ~1e-6 of Q in it, which the second removes), scaled to unit columns
// between the passes so that a remainder at the rounding level cannot reintroduce Q, then
// Cholesky-QR2. A remainder that is exactly zero (M of rank < s: fewer calibration tokens than
// columns) is replaced by a random direction (randomized.ts' orthonormalizeBlock), which keeps
// the block width. T = Qᵀ·M·Q is assembled from the Qᵀ·Z already needed for the projection:
// one [s, b] block column per step, mirrored — symmetric by construction.
//
// Stopping: Ritz values of nested spaces rise monotonically, so Aitken estimates (randomized.ts'
// stopping test, aitken.ts) apply between successive sizes: each value within `tolerance`
// (plots), and — given tr(M) — every rank-r prefix error within `errorTolerance` of the optimum
// (the promise the tests check).
import { bandTridiagonalForm, lowerBand, outOfBandFraction, type BandTridiagonalForm } from '../linalg/band-tridiagonal.js';
import { tridiagonalEigenvalues, tridiagonalForm, type TridiagonalForm } from '../linalg/eigen.js';
import { zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import { topEigenpairs } from './top-eigenpairs.js';
import { blockProducts, firstColumns, gaussian, orthonormalizeBlock, stoppingTest, unitColumns, type Block, type PartialEigen, type RandomizedOptions } from './randomized.js';

export interface KrylovOptions extends RandomizedOptions {
  /** Columns added per application of M (default krylovBlockFor(k)). */
  block?: number;
  /** Largest Krylov space (default min(d, 6·(k + block))): the Rayleigh–Ritz is O(s³) in float64. */
  maxColumns?: number;
  /** false: values only (C's spectrum for plots) — skips the eigenvectors and Q·V; `vectors` is then [d, 0]. */
  vectors?: boolean;
}

/**
 * Block width: wide enough for clusters of near-equal values, narrow enough for a high degree.
 * Measured on a 4096² C (top 256 to 1e-3): b = 32 needed 640 columns, b = 64 about 800, b = 128
 * about 1000 — and the s³ Rayleigh–Ritz makes columns, not applications, the cost.
 */
export const krylovBlockFor = (k: number) => Math.max(8, Math.min(32, Math.ceil(k / 8)));

/**
 * Stopping tests at geometrically growing sizes: the first once the space holds k + b columns,
 * then each at ≥ CHECK_GROWTH × the last. A test is an O(s³) float64 eigenvalue problem (0.2 s
 * at s = 768) while a column costs ~0.5 ms of ORT products at 4096², so columns are cheap and
 * tests dear: checks every 64 columns spent ≈ 4.6× the last test on the tests (the JS half of a
 * 4096² decomposition), geometric ones ≈ 1/(1 − 1.2⁻³) ≈ 2.4×, for at most 1.2× more columns.
 * The test is told each size: Aitken's estimate over unequal steps solves for the per-column
 * rate (aitken.ts).
 */
const CHECK_GROWTH = 1.2;
const nextCheckAfter = (s: number, b: number) => Math.max(s + b, Math.ceil((CHECK_GROWTH * s) / b) * b);
const PREDICTION_MARGIN = 1.25;
/**
 * The next test where the stopping test's rates say the values will pass (columnsToGo, given by
 * values-only solves such as C's spectrum; Infinity with a trace), with PREDICTION_MARGIN for
 * Aitken's low early estimates, at least a block on and never beyond the geometric size: the
 * last ×1.2 step overshot by up to 20 % (C's spectrum at 14336²: tests at 832 and 1024
 * columns, stated precision 5.7e-5 where 1e-3 is asked; now 832 and 896).
 */
export function nextCheckAt(s: number, b: number, columnsToGo: number): number {
  const geometric = nextCheckAfter(s, b);
  if (!Number.isFinite(columnsToGo)) return geometric;
  return Math.min(geometric, Math.max(s + b, Math.ceil((s + PREDICTION_MARGIN * columnsToGo) / b) * b));
}
/**
 * Tests after the error test is met while the values are still short of `tolerance`: one (the
 * stopping test's default of 4 assumes cheap, evenly spaced steps). Each grows the space by
 * ≥ 1.2× (≈ 1.7× the Rayleigh–Ritz); one is what decaying spectra (C, EoRA) need to reach 1e-3,
 * and it took a flat SVD spectrum from 2.5e-2 to 5e-4 at 4096² (1248 → 1504 columns).
 */
const KRYLOV_VALUE_STEPS = 1;

/** Products with Qᵀ: its rows only grow (GrowingRows), so ORT converts each row once. */
const appendOnly = { appendOnly: true } as const;

export async function blockKrylovEigen(apply: (Y: Matrix) => Promise<Matrix>, d: number, k: number, options: KrylovOptions = {}): Promise<PartialEigen> {
  if (!(k >= 1 && k <= d)) throw new RangeError(`blockKrylovEigen: k = ${k} must be in [1, ${d}]`);
  const { seed = 0x5eed, signal, products, blockProductsFrom = 1024, vectors: wantVectors = true } = options;
  const b = Math.min(d, options.block ?? krylovBlockFor(k));
  const maxColumns = Math.min(d, Math.max(k + b, options.maxColumns ?? 6 * (k + b)));
  const precision = options.precision ?? products?.precision ?? 2 ** -53;
  const block = blockProducts(products, d >= blockProductsFrom);
  const random = rng(seed);
  const test = stoppingTest(k, d, precision, { ...options, valueSteps: options.valueSteps ?? KRYLOV_VALUE_STEPS });
  let nextCheck = Math.min(k + b, maxColumns);
  // T's rounding noise relative to ‖T‖_F: the stopping test's jitter (randomized.ts).
  const bandNoise = 2 * precision * Math.sqrt(d);
  let bandChecks = 0; // stopping tests that took the band reduction

  const basis = new GrowingRows(d); // Qᵀ: [s, d], the orthonormal Krylov basis as rows
  let T: Float64Array = new Float64Array(0); // [s, s] = Qᵀ·M·Q
  let X = await orthonormalizeBlock(gaussian(d, b, random.normal), random.normal, block); // next block
  for (let step = 1; ; step++) {
    signal?.throwIfAborted();
    const Z = await apply(X); // [d, b'] = M·X
    const Qt = basis.append(X); // [s, d]
    const s = Qt.rows;
    const QtZ = await block.matmul(Qt, Z, appendOnly); // [s, b']: T's new block column
    T = growSymmetric(T, s - X.cols, QtZ);
    const full = s >= d; // Q spans everything: Rayleigh–Ritz is the exact eigendecomposition
    const checkpoint = s >= nextCheck || s + b > maxColumns;
    if (checkpoint || full) {
      // The check's reduction is kept: on stopping, the eigenvectors reuse it.
      const form = krylovReduction({ rows: s, cols: s, data: T }, b, bandNoise);
      if (form.kind === 'band') bandChecks++;
      const theta = tridiagonalEigenvalues(form.d, form.e);
      options.onIteration?.(step, theta);
      const verdict = test(theta, full, s);
      nextCheck = nextCheckAt(s, b, verdict.columnsToGo);
      if (verdict.stop || s >= maxColumns) {
        const converged = verdict.converged || full;
        if (!wantVectors) return { values: clampedTop(theta, k), vectors: zeros(d, 0), iterations: step, converged, precision: verdict.precision, bandChecks };
        const { values, vectors: V } = topEigenpairs({ rows: s, cols: s, data: T }, k, form); // V: [s, k]
        return { values: clampedTop(values, k), vectors: await block.matmul(Qt, V, { transA: true, ...appendOnly }), iterations: step, converged, precision: verdict.precision, bandChecks };
      }
    }
    X = await nextBlock(Z, QtZ, Qt, Math.min(b, maxColumns - s), random.normal, block);
  }
}

/**
 * T = Qᵀ·M·Q of block Lanczos is block tridiagonal, and its sub-diagonal blocks Q_{j+1}ᵀ·M·Q_j
 * are the upper triangular R of the next block's QR (nextBlock only ever combines a block's
 * columns with earlier ones of the same block): T is a band of semi-bandwidth b, reduced to
 * tridiagonal in ≈ 6·s²·b flops (band-tridiagonal.ts) instead of ≈ 4/3·s³. In float32 the
 * basis is orthogonal only to ~1e-6, which leaves entries outside the band (measured 4–6e-7 of
 * ‖T‖_F at 4096², EoRA and C); dropping them moves each Ritz value by ≤ their norm, so the
 * band is taken while that norm is below T's own rounding noise (`noise`·‖T‖_F), the level the
 * stopping test already treats as jitter. Otherwise (a basis that is not Lanczos'): dense.
 */
export function krylovReduction(T: Matrix, b: number, noise: number): (TridiagonalForm & { kind: 'dense' }) | (BandTridiagonalForm & { kind: 'band' }) {
  const s = T.rows;
  if (b + 1 < s && outOfBandFraction(T, b) <= noise) return { kind: 'band', ...bandTridiagonalForm(lowerBand(T, b), s, b) };
  return { kind: 'dense', ...tridiagonalForm(T) };
}

/**
 * orth((I − Q·Qᵀ)·Z), b' columns. Z − Q·(Qᵀ·Z) (Qᵀ·Z is T's block column, already there), unit
 * columns, then (project out Q, orthonormalize) twice: once M's range is exhausted (rank < s) a
 * block's columns are rounding noise and can be nearly dependent, and Cholesky-QR's R⁻¹ then
 * amplifies their last ~u of Q-components by κ (measured 3e-3 of Q in the new block after one
 * round); the second round starts from orthonormal columns, κ ≈ 1.
 */
async function nextBlock(Z: Matrix, QtZ: Matrix, Qt: Matrix, width: number, normal: () => number, block: Block): Promise<Matrix> {
  let R = subtractInPlace(Z, await block.matmul(Qt, QtZ, { transA: true, ...appendOnly })); // Z − Q·(Qᵀ·Z)
  if (width < R.cols) R = firstColumns(R, width);
  R = unitColumns(R, normal); // a rounding-level remainder becomes O(1): the projection below removes its Q part
  for (let round = 0; round < 2; round++) R = await orthonormalizeBlock(await projectOut(R, Qt, block), normal, block);
  return R;
}

/** R − Q·(Qᵀ·R), in place; Qt = Qᵀ: [s, d]. */
async function projectOut(R: Matrix, Qt: Matrix, block: Block): Promise<Matrix> {
  return subtractInPlace(R, await block.matmul(Qt, await block.matmul(Qt, R, appendOnly), { transA: true, ...appendOnly }));
}

/**
 * Qᵀ stored as rows in a buffer that grows by half when full: appending a block copies only the
 * block (a [d, s] Q with columns appended was copied whole every step: 1.4 s of a 4096² SVD).
 */
class GrowingRows {
  private data = new Float64Array(0);
  private rows = 0;

  constructor(private readonly cols: number) {}

  /** Appends the columns of X: [cols, b] as rows; returns the [rows, cols] view of all of them. */
  append(X: Matrix): Matrix {
    const { cols: d } = this;
    const b = X.cols;
    if ((this.rows + b) * d > this.data.length) {
      const grown = new Float64Array(Math.max((this.rows + b) * d, Math.ceil(1.5 * this.data.length)));
      grown.set(this.data.subarray(0, this.rows * d));
      this.data = grown;
    }
    for (let j = 0; j < b; j++) {
      const row = (this.rows + j) * d;
      for (let r = 0; r < d; r++) this.data[row + r] = X.data[r * b + j];
    }
    this.rows += b;
    return { rows: this.rows, cols: d, data: this.data.subarray(0, this.rows * d) };
  }
}

/** T: [s₀, s₀] grown to [s, s] with the block column QᵀZ: [s, s − s₀] and its mirror. */
function growSymmetric(T: Float64Array, s0: number, QtZ: Matrix): Float64Array {
  const s = QtZ.rows;
  const w = QtZ.cols;
  const out = new Float64Array(s * s);
  for (let i = 0; i < s0; i++) out.set(T.subarray(i * s0, (i + 1) * s0), i * s);
  // The new diagonal block is written as computed; symmetricEigen symmetrizes its copy.
  for (let i = 0; i < s; i++)
    for (let j = 0; j < w; j++) {
      out[i * s + s0 + j] = QtZ.data[i * w + j];
      if (i < s0) out[(s0 + j) * s + i] = QtZ.data[i * w + j];
    }
  return out;
}

function subtractInPlace(a: Matrix, b: Matrix): Matrix {
  for (let i = 0; i < a.data.length; i++) a.data[i] -= b.data[i];
  return a;
}

function clampedTop(theta: Float64Array, k: number): Float64Array {
  return Float64Array.from(theta.subarray(0, k), (v) => Math.max(v, 0));
}

// What the randomized eigensolver (block-krylov.ts) shares with any block iteration on a
// symmetric PSD operator M: [d, d] applied to blocks (M·Y for Y: [d, b]): its options, the
// stopping test, and the block orthonormalization. Subspace iteration with Rayleigh–Ritz (Halko,
// Martinsson, Tropp 2011), which lived here, is gone: block Krylov now serves every basis (the
// SVD's flat spectrum too: 7.2–7.7 s at 4096² against 9.4 s) and C's spectrum.
// The applications of M are the heavy products and go through `Products`; so, from d = 1024
// (options.blockProductsFrom), do the O(d·b²) block products — the Grams and X·R⁻¹ of
// Cholesky-QR2 on [d, b] blocks. The b×b work (Cholesky, R⁻¹) stays float64 JS.
//
// When to stop is what the caller needs, not the float32 limit: each value to ~1e-3 relative
// (spectrum plots), and — given tr(M) — the error of every rank-r prefix within 0.1 % of the
// optimum. The second is cheap where the error is large (a flat, noise-like spectrum: the
// best rank-256 error is still 90 % of tr(M), so a rough basis is already near-optimal) and
// strict where the top directions hold almost all of tr(M).
import { choleskyQR2, shiftedCholeskyQR3 } from '../linalg/cholesky-qr.js';
import { cholesky, invertLower, NotPositiveDefiniteError } from '../linalg/cholesky.js';
import { gemm } from '../linalg/gemm.js';
import { transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import type { ProductOptions, Products } from './products.js';
import { columnsUntil, geometricGap, perColumnRate } from './aitken.js';

export interface RandomizedOptions {
  /** Extra columns beyond k that a block method would carry (basis.ts' dense-or-randomized rule; default oversampleFor(k)). */
  oversample?: number;
  /**
   * Relative precision wanted of every returned value (default 1e-3: what a log-scale plot of a
   * spectrum needs). Stop once each θᵢ (i < k) is estimated within tolerance·θᵢ / SAFETY of λᵢ.
   * Ritz values rise monotonically and geometrically, θᵢ⁽ᵠ⁾ ≈ λᵢ − a·ρᵠ, so from two successive
   * changes δ, δ' the remaining gap is ≈ δ·ρ/(1 − ρ) with ρ = δ/δ' (Aitken); a bare "changed by
   * < tol" test would stop early on slowly converging tails, where ρ is close to 1. A value also
   * settles when its change is at the products' rounding level (jitter, where ρ is meaningless).
   */
  tolerance?: number;
  /**
   * tr(M), when known: then also stop only once the rank-r projection onto the first r Ritz
   * vectors has an error tr(M) − Σ_{i≤r} θᵢ within errorTolerance of the optimum
   * tr(M) − Σ_{i≤r} λᵢ, for every r ≤ k (the same Aitken estimate, on the prefix sums, held
   * SAFETY times below the bound: this one is a promise the tests check).
   */
  trace?: number;
  /** Default 1e-3 (relative, of the optimal error at each rank). */
  errorTolerance?: number;
  /**
   * With `trace`: once the error test is met, the per-value test may keep iterating at most
   * valueSteps more tests (default 4; block Krylov: 1, its tests are ×1.2 apart), then the
   * iteration stops and states the precision it reached. The error is the promise; the values
   * are for plots, and a flat (noise-like) spectrum's values converge slowly.
   */
  valueSteps?: number;
  /**
   * Unit roundoff of the products behind `apply` (default products?.precision, else 2⁻⁵³).
   * Float32 products make converged Ritz values jitter by ~precision·√d·θᵢ between iterations.
   */
  precision?: number;
  /**
   * Where the O(d·b²) block work (Qᵀ·Z, Q·V, the Cholesky-QR Grams and the products with R⁻¹)
   * runs when d ≥ blockProductsFrom (default 1024); below, or without `products`, float64 JS.
   */
  products?: Products;
  blockProductsFrom?: number;
  seed?: number;
  /** Checked once per step: a cancelled job stops within one application of M. */
  signal?: AbortSignal;
  /** Called once per step with the block's Ritz values (progress, diagnostics). */
  onIteration?: (iteration: number, theta: Float64Array) => void;
}

export interface PartialEigen {
  /** [k] descending Ritz values. */
  values: Float64Array;
  /** [d, k] orthonormal Ritz vectors. */
  vectors: Matrix;
  /** Steps: applications of M (each one call of `apply` on a [d, b] block). */
  iterations: number;
  converged: boolean;
  /**
   * Stated relative error of the values: max over i < k of |λᵢ − θᵢ|/θᵢ, SAFETY × the Aitken
   * estimate (values below 1e-12·θ₁ ignored; Infinity when the iteration stopped at
   * its cap before any estimate existed). The tests hold the actual error below it.
   */
  precision: number;
  /** Block Krylov: stopping tests whose Rayleigh–Ritz took the band reduction (block-krylov.ts' reduction). */
  bandChecks?: number;
}

export const DEFAULT_OVERSAMPLE = 16;
/** Block oversampling for k wanted values: more on large k, whose tails are usually flat. */
export const oversampleFor = (k: number) => Math.max(DEFAULT_OVERSAMPLE, Math.ceil(k / 4));

/** Ritz values below this fraction of θ₁ are rounding noise: ignored by the stopping test. */
const NOISE = 1e-12;
/**
 * Aitken's estimate assumes one geometric rate; early on the fast components dominate the
 * changes and it runs low (measured: up to 3.6× on a C with condition number ≫ 1e16). Both
 * tests ask SAFETY × the estimate to meet their bound, and the stated precision is that
 * product; the tests check both against exact optima.
 */
const SAFETY = 4;

/** Block products: float64 JS, or `products` for large blocks. */
export interface Block {
  matmul(a: Matrix, b: Matrix, options?: ProductOptions): Promise<Matrix>;
  /** Whether matmul runs at lower precision than float64 (then Cholesky-QR falls back to JS on failure). */
  offloaded: boolean;
}

export interface Verdict {
  /** Stop now: converged, or the error test met and the value budget spent. */
  stop: boolean;
  converged: boolean;
  /** Stated relative precision of the values (see PartialEigen.precision). */
  precision: number;
  /**
   * Without `trace`: columns the space should grow by until every value passes, by each failing
   * value's fitted per-column rate (aitken.ts); Infinity when one has no rate yet, and always
   * with `trace` (see below); 0 once converged. For sizing the next test.
   */
  columnsToGo: number;
}

/**
 * The stopping test of block Krylov (block-krylov.ts), fed the Ritz values of successive tests
 * (which rise monotonically): it keeps the last values and changes. `exact`: the space is all
 * of R^d, the Ritz values are the eigenvalues.
 */
export function stoppingTest(k: number, d: number, precision: number, options: RandomizedOptions): (theta: Float64Array, exact: boolean, size?: number) => Verdict {
  const { tolerance = 1e-3, errorTolerance = 1e-3, trace, valueSteps = 4 } = options;
  // Converged Ritz values move between iterations by ≈ precision·√d·θᵢ (Qᵀ·Z sums d terms; with
  // float32 products measured ~1e-6 at d = 2048, up to 5e-6 at d = 4096). Changes under twice
  // that are rounding, not convergence; float64: ≈ 1e-14, the level of the Rayleigh–Ritz itself.
  const jitter = Math.max(1e-14, 64 * precision, 2 * precision * Math.sqrt(d));
  let previous: Float64Array | undefined; // θᵢ and prefix sums S_r = Σ_{i≤r} θᵢ of the last step
  let change: Float64Array | undefined; // |θ − θ'| and |S − S'| of the last step
  let errorMetAt: number | undefined; // first step at which the error test passed
  let step = 0;
  const sizes: number[] = []; // the space's size at each test
  // size: the Krylov space's columns, as tests are not evenly spaced (default: the test's number).
  return (theta, exact, size = step + 1) => {
    step++;
    sizes.push(size);
    const steps = { h: size - sizes[sizes.length - 2], hBefore: sizes[sizes.length - 2] - sizes[sizes.length - 3] };
    const current = concat(theta.subarray(0, k), prefixSums(theta, k));
    const delta = previous && current.map((v, i) => Math.abs(v - previous![i]));
    const rates = exact ? undefined : perColumnRates(delta, change, steps);
    const gaps = exact ? current.map((v) => jitter * v) : valueGapsBoundedByPrefixes(estimatedGaps(current, delta, change, jitter, steps), k, rates!);
    const top = Math.max(theta[0], 0);
    // The bound each gap must meet: values within tolerance (SAFETY-fold), prefixes' errors within
    // errorTolerance of the optimum; a prefix settled at the rounding level (g = jitter·S_r) passes.
    const bounds = current.map((v, i) => (i < k ? (v > NOISE * top ? (tolerance * v) / SAFETY : Infinity) : trace === undefined ? Infinity : (errorTolerance * Math.max(trace - v, 0)) / SAFETY + jitter * v));
    const valuesDone = gaps.subarray(0, k).every((g, i) => g <= bounds[i]);
    const errorDone = gaps.subarray(k).every((g, r) => g <= bounds[k + r]);
    if (errorDone && trace !== undefined) errorMetAt ??= step;
    const converged = exact || (valuesDone && errorDone);
    const valuesBudgetSpent = errorMetAt !== undefined && step - errorMetAt >= valueSteps;
    previous = current;
    change = delta;
    let worst = 0;
    for (let i = 0; i < k; i++) if (theta[i] > NOISE * top) worst = Math.max(worst, (SAFETY * gaps[i]) / theta[i]);
    // Sized tests only where the values are the whole test (no trace): the error test's early
    // estimates run low (SAFETY) and a short test that fails is a wasted Rayleigh–Ritz (EoRA at
    // 4096 × 14336: tests at 704 and 864 columns instead of one at 832), and after it the one
    // budgeted value test needs the full step (the SVD's values stopped at 3.4e-3, not 1e-3).
    let columnsToGo = trace === undefined ? 0 : Infinity;
    for (let i = 0; i < k && trace === undefined && !converged; i++) columnsToGo = Math.max(columnsToGo, columnsUntil(gaps[i], bounds[i], rates?.[i]));
    return { stop: converged || valuesBudgetSpent, converged, precision: worst, columnsToGo };
  };
}

/**
 * Estimated λ − θ for each tracked quantity (the k values, then the k prefix sums): 0 under
 * the noise floor, the rounding level when the last change was below it, the Aitken estimate
 * (aitken.ts: δ·ρ/(1 − ρ) for equal steps) when two changes exist and shrink, else ∞.
 */
function estimatedGaps(current: Float64Array, delta: Float64Array | undefined, before: Float64Array | undefined, jitter: number, { h, hBefore }: { h: number; hBefore: number }): Float64Array {
  const floor = NOISE * Math.max(current[0], 0);
  return current.map((v, i) => {
    if (!(v > floor)) return 0;
    if (delta === undefined) return Infinity;
    if (delta[i] <= jitter * v) return jitter * v;
    if (before === undefined) return Infinity;
    return geometricGap(delta[i], before[i], h, hBefore);
  });
}

/**
 * Rayleigh–Ritz values interlace, θᵢ ≤ λᵢ for every i, so each term of λ-prefix − θ-prefix is
 * ≥ 0 and λᵢ − θᵢ ≤ Σ_{j≤i}(λⱼ − θⱼ): a value's gap is at most its prefix sum's gap. The prefix
 * sums converge smoothly where single values of a flat spectrum do not (their Aitken ratio can
 * be ≥ 1: ∞), so this keeps the stated precision finite once the error test holds. Used only
 * where a value has no estimate of its own: a prefix settled at its rounding level (u·S_i) says
 * nothing about a much smaller θᵢ. gaps: [2k] value gaps then prefix gaps; values filled in place.
 */
function valueGapsBoundedByPrefixes(gaps: Float64Array, k: number, rates: (number | undefined)[]): Float64Array {
  for (let i = 0; i < k; i++)
    if (gaps[i] === Infinity) {
      gaps[i] = gaps[k + i];
      rates[i] = rates[k + i]; // the bound shrinks as its prefix's gap does
    }
  return gaps;
}

/** Each tracked quantity's per-column rate from its last two changes (aitken.ts), where one fits. */
function perColumnRates(delta: Float64Array | undefined, before: Float64Array | undefined, { h, hBefore }: { h: number; hBefore: number }): (number | undefined)[] {
  if (!delta || !before) return delta ? Array.from(delta, () => undefined) : [];
  return Array.from(delta, (d, i) => perColumnRate(d, before[i], h, hBefore));
}

/** [k] S_r = Σ_{i≤r} max(θᵢ, 0), r = 1..k. */
function prefixSums(theta: Float64Array, k: number): Float64Array {
  const sums = new Float64Array(k);
  let s = 0;
  for (let i = 0; i < k; i++) sums[i] = s += Math.max(theta[i], 0);
  return sums;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Orthonormal basis of a block Y: [d, b] with the same column order. Columns are scaled to
 * unit length first (Cholesky-QR's error depends on κ of the scaled block); a column that is
 * numerically zero — M has rank < b, e.g. fewer calibration tokens than the block — carries no
 * direction, so it is replaced by a random one, which keeps the block width and lets the
 * iteration explore the rest of the space (its Ritz value comes out ≈ 0 and is dropped later).
 */
export function orthonormalize(Y: Matrix, normal: () => number): Matrix {
  return choleskyQR2Float64(unitColumns(Y, normal));
}

/** Y with unit columns; numerically zero ones replaced by random ones. */
export function unitColumns(Y: Matrix, normal: () => number): Matrix {
  return scaleColumns(Y, columnNormsSquared(Y), normal);
}

function choleskyQR2Float64(X: Matrix): Matrix {
  try {
    return choleskyQR2(X).Q;
  } catch (error) {
    if (!(error instanceof NotPositiveDefiniteError)) throw error;
    return shiftedCholeskyQR3(X).Q; // κ between u^-½ and u⁻¹: early iterations of spiky spectra
  }
}

function columnNormsSquared(Y: Matrix): Float64Array {
  const { rows: d, cols: b } = Y;
  const norms = new Float64Array(b);
  for (let r = 0; r < d; r++) for (let j = 0; j < b; j++) norms[j] += Y.data[r * b + j] ** 2;
  return norms;
}

/** Unit columns of Y (norms: its squared column norms), zero ones replaced by random ones. */
function scaleColumns(Y: Matrix, norms: Float64Array, normal: () => number): Matrix {
  const { rows: d, cols: b } = Y;
  const X = zeros(d, b);
  const largest = Math.sqrt(Math.max(...norms));
  for (let j = 0; j < b; j++) {
    const norm = Math.sqrt(norms[j]);
    const live = norm > 1e-13 * largest && norm > 0;
    for (let r = 0; r < d; r++) X.data[r * b + j] = live ? Y.data[r * b + j] / norm : normal();
  }
  return X;
}

/**
 * orthonormalize with the two O(d·b²) steps of each Cholesky-QR pass — the Gram XᵀX and
 * X·R⁻¹ — as block products. In float32 (Gram error ≈ precision·√d, fine for the unit-column,
 * nearly orthogonal blocks Z·V gives) the first pass leaves Q orthogonal to ~1e-5 and the second
 * to ~1e-6, which moves Ritz values by about as much relatively: far below the 1e-4 asked. If a
 * float32 Gram is not positive definite (κ ≳ 1e3, early iterations of spiky spectra), the block
 * is orthonormalized in float64 JS instead.
 */
export async function orthonormalizeBlock(Y: Matrix, normal: () => number, block: Block): Promise<Matrix> {
  const X = unitColumns(Y, normal);
  if (!block.offloaded) return choleskyQR2Float64(X);
  try {
    return await choleskyQRPass(await choleskyQRPass(X, block), block);
  } catch (error) {
    if (!(error instanceof NotPositiveDefiniteError)) throw error;
    return choleskyQR2Float64(X);
  }
}

/** One Cholesky-QR pass: XᵀX = L·Lᵀ (float64 Cholesky of the b×b Gram), Q = X·L⁻ᵀ. */
async function choleskyQRPass(X: Matrix, block: Block): Promise<Matrix> {
  const G = await block.matmul(X, X, { transA: true });
  const b = G.rows;
  for (let i = 0; i < b; i++) for (let j = 0; j < i; j++) G.data[i * b + j] = G.data[j * b + i] = 0.5 * (G.data[i * b + j] + G.data[j * b + i]);
  const Rinv = transpose(invertLower(cholesky(G))); // R⁻¹ = L⁻ᵀ, upper triangular
  return block.matmul(X, Rinv);
}

/** Block products in `products` when offloaded (d ≥ blockProductsFrom), else float64 JS. */
export function blockProducts(products: Products | undefined, offload: boolean): Block {
  return products && offload
    ? { matmul: (x, y, o) => products.matmul(x, y, o), offloaded: true }
    : { matmul: async (x, y, o) => gemm(o?.transA ? transpose(x) : x, y), offloaded: false };
}

export function gaussian(rows: number, cols: number, normal: () => number): Matrix {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = normal();
  return m;
}

export function firstColumns(a: Matrix, k: number): Matrix {
  const out = zeros(a.rows, k);
  for (let r = 0; r < a.rows; r++) for (let j = 0; j < k; j++) out.data[r * k + j] = a.data[r * a.cols + j];
  return out;
}

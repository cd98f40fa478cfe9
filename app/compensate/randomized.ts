// Top-k eigenpairs of a symmetric PSD operator M: [d, d] that we can only apply to blocks
// (M·Y for Y: [d, b]) — randomized subspace iteration with Rayleigh–Ritz (Halko, Martinsson,
// Tropp 2011, Alg. 4.4 + 5.3; Saad, "Numerical Methods for Large Eigenvalue Problems" §5.2).
// The applications of M are the heavy products and go through `Products`; so, from d = 1024
// (options.blockProductsFrom), do the O(d·b²) block products — Qᵀ·Z, Z·V, Q·V and the Grams and
// X·R⁻¹ of Cholesky-QR2 on [d, b] blocks. The b×b work (Cholesky, R⁻¹, the symmetric
// eigenproblem) stays float64 JS. The stopping test scales with the products' precision.
//
// Per iteration: Z = M·Q, T = Qᵀ·Z (b×b), T = V·diag(θ)·Vᵀ. Ritz pairs (θᵢ, Q·vᵢ) are exact
// Rayleigh quotients of M — so an error curve computed from them is exact for the returned
// basis even before convergence; only optimality improves with iterations. The next block
// is orth(Z·V): rotating by V first orders the columns by θ and makes them nearly orthogonal,
// so after scaling them to unit length Cholesky-QR2 sees a well-conditioned block even when
// θ spans many decades (orthonormalizing M·Q directly would have κ ≈ θ₁/θ_b and fail).
// θᵢ converges like (λ_{b+1}/λᵢ)^{2q} after q iterations: oversampling b − k buys the gap.
import { choleskyQR2, shiftedCholeskyQR3 } from '../linalg/cholesky-qr.js';
import { cholesky, invertLower, NotPositiveDefiniteError } from '../linalg/cholesky.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { gemm } from '../linalg/gemm.js';
import { transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import type { Products } from './products.js';

export interface RandomizedOptions {
  /** Extra block columns beyond k (default oversampleFor(k) = max(16, ⌈k/4⌉)). */
  oversample?: number;
  /** Default 60. */
  maxIterations?: number;
  /**
   * Stop when every kept θᵢ (i < k) is estimated within tolerance·θᵢ of its limit (default
   * max(1e-6, 200·precision): 1e-6 for float64 products, ≈ 1.2e-5 for float32 ones — both below
   * the 1e-4 the spectrum views need). Ritz values rise monotonically and geometrically,
   * θᵢ⁽ᵠ⁾ ≈ λᵢ − a·ρᵠ, so from two successive changes δ, δ' the remaining gap is
   * ≈ δ'·ρ/(1 − ρ) with ρ = δ'/δ (Aitken); a bare "changed by < tol" test would stop early on
   * slowly converging tails, where ρ is close to 1. Two more ways to settle: the change is at
   * the products' rounding level (jitter, where ρ is meaningless), or the residual bound
   * ‖M·xᵢ − θᵢ·xᵢ‖²/(θᵢ − θ_b) is below tolerance·θᵢ.
   */
  tolerance?: number;
  /**
   * Unit roundoff of the products behind `apply` (default products?.precision, else 2⁻⁵³).
   * Float32 products make converged Ritz values jitter by ~precision·√d·θᵢ between iterations.
   */
  precision?: number;
  /**
   * Where the O(d·b²) block work (Qᵀ·Z, Z·V, the Cholesky-QR Grams and the products with R⁻¹)
   * runs when d ≥ blockProductsFrom (default 1024); below, or without `products`, float64 JS.
   */
  products?: Products;
  blockProductsFrom?: number;
  seed?: number;
  /** Checked once per iteration: a cancelled job stops within one block product. */
  signal?: AbortSignal;
  /** Called once per iteration with the block's Ritz values (progress, diagnostics). */
  onIteration?: (iteration: number, theta: Float64Array) => void;
}

export interface PartialEigen {
  /** [k] descending Ritz values. */
  values: Float64Array;
  /** [d, k] orthonormal Ritz vectors. */
  vectors: Matrix;
  iterations: number;
  converged: boolean;
}

export const DEFAULT_OVERSAMPLE = 16;
/** Block oversampling for k wanted values: more on large k, whose tails are usually flat. */
export const oversampleFor = (k: number) => Math.max(DEFAULT_OVERSAMPLE, Math.ceil(k / 4));

/** Ritz values below this fraction of θ₁ are rounding noise: ignored by the stopping test. */
const NOISE = 1e-12;

/** Block products: float64 JS, or `products` for large blocks. */
interface Block {
  matmul(a: Matrix, b: Matrix): Promise<Matrix>;
  /** Whether matmul runs at lower precision than float64 (then Cholesky-QR falls back to JS on failure). */
  offloaded: boolean;
}

export async function subspaceEigen(apply: (Y: Matrix) => Promise<Matrix>, d: number, k: number, options: RandomizedOptions = {}): Promise<PartialEigen> {
  const { oversample = oversampleFor(k), maxIterations = 60, seed = 0x5eed, signal, products, blockProductsFrom = 1024 } = options;
  const precision = options.precision ?? products?.precision ?? 2 ** -53;
  const tolerance = options.tolerance ?? Math.max(1e-6, 200 * precision);
  if (!(k >= 1 && k <= d)) throw new RangeError(`subspaceEigen: k = ${k} must be in [1, ${d}]`);
  const b = Math.min(d, k + oversample); // block width
  const block: Block = products && d >= blockProductsFrom ? { matmul: (x, y) => products.matmul(x, y), offloaded: true } : { matmul: async (x, y) => gemm(x, y), offloaded: false };
  const random = rng(seed);
  const start = gaussian(d, b, random.normal);
  let Q = await orthonormalizeBlock(start, columnNormsSquared(start), random.normal, block);
  let previous: Float64Array | undefined;
  let change: Float64Array | undefined; // |θ − previous| of the last iteration
  for (let iteration = 1; ; iteration++) {
    signal?.throwIfAborted();
    const Z = await apply(Q); // [d, b]
    const T = await block.matmul(transpose(Q), Z); // [b, b] = Qᵀ·M·Q
    const { values: theta, vectors: V } = symmetricEigen(T);
    options.onIteration?.(iteration, theta);
    // Y = Z·V = M·Q·V: column i is M·xᵢ for the Ritz vector xᵢ = Q·vᵢ, so with Q orthonormal
    // ‖M·xᵢ − θᵢ·xᵢ‖² = ‖yᵢ‖² − θᵢ².
    const Y = await block.matmul(Z, V);
    const norms = columnNormsSquared(Y);
    // b = d: Q spans everything, Rayleigh–Ritz is the exact eigendecomposition.
    const delta = previous && Float64Array.from({ length: k }, (_, i) => Math.abs(theta[i] - previous![i]));
    const converged =
      b === d ||
      (delta !== undefined && settled(theta, delta, change, precision, tolerance, d)) ||
      (iteration > 1 && residualSettled(theta, norms, k, precision, tolerance));
    if (converged || iteration >= maxIterations) {
      const vectors = await block.matmul(Q, firstColumns(V, k));
      return { values: Float64Array.from(theta.subarray(0, k), (v) => Math.max(v, 0)), vectors, iterations: iteration, converged };
    }
    previous = theta;
    change = delta;
    Q = await orthonormalizeBlock(Y, norms, random.normal, block);
  }
}

/** delta, before: the last two changes of each θᵢ, i < k (before undefined on the second iteration). */
function settled(theta: Float64Array, delta: Float64Array, before: Float64Array | undefined, precision: number, tolerance: number, d: number): boolean {
  const top = Math.max(theta[0], 0);
  const floor = NOISE * top;
  for (let i = 0; i < delta.length; i++) {
    // Noise, or a change at the rounding level of the products. Measured with float32 products,
    // converged Ritz values move between iterations by ≈ precision·√d·θᵢ (Qᵀ·Z sums d terms) —
    // relative to θᵢ itself, also in tails at 5e-4·θ₁: ~1e-6 at d = 2048, up to 5e-6 at d = 4096.
    // Twice that (7.6e-6 at d = 4096, 1.3e-5 at d = 11008) is the floor; float64: ≈ 1e-14, the
    // level of the float64 Rayleigh–Ritz itself. Changes under it leave θᵢ within a few times
    // the floor of its limit for the ρ ≲ 0.7 the tails show with the default oversampling.
    const jitter = Math.max(1e-14, 64 * precision, 2 * precision * Math.sqrt(d)) * theta[i];
    if (!(theta[i] > floor) || delta[i] <= jitter) continue;
    if (!before) return false;
    const rho = delta[i] / before[i];
    if (!(rho < 1) || (delta[i] * rho) / (1 - rho) > tolerance * theta[i]) return false;
  }
  return true;
}

/**
 * Residual bound: |θᵢ − λᵢ| ≲ ‖rᵢ‖²/(θᵢ − θ_b), rᵢ = M·xᵢ − θᵢ·xᵢ, with θ_b (the block's smallest
 * Ritz value) standing in for the unwanted spectrum. ‖rᵢ‖² = ‖yᵢ‖² − θᵢ² cancels, and with
 * products at `precision` both terms carry errors of a few precision·θᵢ·θ₁: that allowance is
 * added, so the test only fires where it means something (float64, or a well-separated top).
 */
function residualSettled(theta: Float64Array, norms: Float64Array, k: number, precision: number, tolerance: number): boolean {
  const b = theta.length;
  const top = Math.max(theta[0], 0);
  const floor = NOISE * top;
  const bottom = Math.max(theta[b - 1], 0);
  for (let i = 0; i < k; i++) {
    if (!(theta[i] > floor)) continue;
    const gap = theta[i] - bottom;
    const residual = Math.max(norms[i] - theta[i] * theta[i], 0) + 64 * Math.max(precision, 2 ** -52) * theta[i] * top;
    if (!(gap > 0) || residual / gap > tolerance * theta[i]) return false;
  }
  return true;
}

/**
 * Orthonormal basis of a block Y: [d, b] with the same column order. Columns are scaled to
 * unit length first (Cholesky-QR's error depends on κ of the scaled block); a column that is
 * numerically zero — M has rank < b, e.g. fewer calibration tokens than the block — carries no
 * direction, so it is replaced by a random one, which keeps the block width and lets the
 * iteration explore the rest of the space (its Ritz value comes out ≈ 0 and is dropped later).
 */
export function orthonormalize(Y: Matrix, normal: () => number): Matrix {
  return choleskyQR2Float64(scaleColumns(Y, columnNormsSquared(Y), normal));
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
async function orthonormalizeBlock(Y: Matrix, norms: Float64Array, normal: () => number, block: Block): Promise<Matrix> {
  const X = scaleColumns(Y, norms, normal);
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
  const G = await block.matmul(transpose(X), X);
  const b = G.rows;
  for (let i = 0; i < b; i++) for (let j = 0; j < i; j++) G.data[i * b + j] = G.data[j * b + i] = 0.5 * (G.data[i * b + j] + G.data[j * b + i]);
  const Rinv = transpose(invertLower(cholesky(G))); // R⁻¹ = L⁻ᵀ, upper triangular
  return block.matmul(X, Rinv);
}

function gaussian(rows: number, cols: number, normal: () => number): Matrix {
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = normal();
  return m;
}

export function firstColumns(a: Matrix, k: number): Matrix {
  const out = zeros(a.rows, k);
  for (let r = 0; r < a.rows; r++) for (let j = 0; j < k; j++) out.data[r * k + j] = a.data[r * a.cols + j];
  return out;
}

// Top-k eigenpairs of a symmetric PSD operator M: [d, d] that we can only apply to blocks
// (M·Y for Y: [d, b]) — randomized subspace iteration with Rayleigh–Ritz (Halko, Martinsson,
// Tropp 2011, Alg. 4.4 + 5.3; Saad, "Numerical Methods for Large Eigenvalue Problems" §5.2).
// The applications of M are the heavy products and go through `Products`; the rest is small:
// Cholesky-QR2 on [d, b] blocks with a float64 Gram, and a b×b symmetric eigenproblem.
//
// Per iteration: Z = M·Q, T = Qᵀ·Z (b×b), T = V·diag(θ)·Vᵀ. Ritz pairs (θᵢ, Q·vᵢ) are exact
// Rayleigh quotients of M — so an error curve computed from them is exact for the returned
// basis even before convergence; only optimality improves with iterations. The next block
// is orth(Z·V): rotating by V first orders the columns by θ and makes them nearly orthogonal,
// so after scaling them to unit length Cholesky-QR2 sees a well-conditioned block even when
// θ spans many decades (orthonormalizing M·Q directly would have κ ≈ θ₁/θ_b and fail).
// θᵢ converges like (λ_{b+1}/λᵢ)^{2q} after q iterations: oversampling b − k buys the gap.
import { choleskyQR2, shiftedCholeskyQR3 } from '../linalg/cholesky-qr.js';
import { NotPositiveDefiniteError } from '../linalg/cholesky.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { gemm } from '../linalg/gemm.js';
import { transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';

export interface RandomizedOptions {
  /** Extra block columns beyond k (default DEFAULT_OVERSAMPLE). */
  oversample?: number;
  /** Default 60. */
  maxIterations?: number;
  /**
   * Stop when every kept θᵢ (i < k) is estimated within tolerance·θᵢ of its limit (default
   * 1e-6, two orders below the 1e-4 the spectrum views need). Ritz values rise monotonically
   * and geometrically, θᵢ⁽ᵠ⁾ ≈ λᵢ − a·ρᵠ, so from two successive changes δ, δ' the remaining
   * gap is ≈ δ'·ρ/(1 − ρ) with ρ = δ'/δ (Aitken); a bare "changed by < tol" test would stop
   * early on slowly converging tails, where ρ is close to 1.
   */
  tolerance?: number;
  seed?: number;
  /** Checked once per iteration: a cancelled job stops within one block product. */
  signal?: AbortSignal;
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

/** Ritz values below this fraction of θ₁ are rounding noise: ignored by the stopping test. */
const NOISE = 1e-12;

export async function subspaceEigen(apply: (Y: Matrix) => Promise<Matrix>, d: number, k: number, options: RandomizedOptions = {}): Promise<PartialEigen> {
  const { oversample = DEFAULT_OVERSAMPLE, maxIterations = 60, tolerance = 1e-6, seed = 0x5eed, signal } = options;
  if (!(k >= 1 && k <= d)) throw new RangeError(`subspaceEigen: k = ${k} must be in [1, ${d}]`);
  const b = Math.min(d, k + oversample); // block width
  const random = rng(seed);
  let Q = orthonormalize(gaussian(d, b, random.normal), random.normal);
  let previous: Float64Array | undefined;
  let change: Float64Array | undefined; // |θ − previous| of the last iteration
  for (let iteration = 1; ; iteration++) {
    signal?.throwIfAborted();
    const Z = await apply(Q); // [d, b]
    const T = gemm(transpose(Q), Z); // [b, b] = Qᵀ·M·Q
    const { values: theta, vectors: V } = symmetricEigen(T);
    // b = d: Q spans everything, Rayleigh–Ritz is the exact eigendecomposition.
    const delta = previous && Float64Array.from({ length: k }, (_, i) => Math.abs(theta[i] - previous![i]));
    const converged = b === d || (delta !== undefined && change !== undefined && settled(theta, delta, change, tolerance));
    if (converged || iteration >= maxIterations) {
      const vectors = gemm(Q, firstColumns(V, k));
      return { values: Float64Array.from(theta.subarray(0, k), (v) => Math.max(v, 0)), vectors, iterations: iteration, converged };
    }
    previous = theta;
    change = delta;
    Q = orthonormalize(gemm(Z, V), random.normal);
  }
}

/** delta, before: the last two changes of each θᵢ, i < k. */
function settled(theta: Float64Array, delta: Float64Array, before: Float64Array, tolerance: number): boolean {
  const floor = NOISE * Math.max(theta[0], 0);
  for (let i = 0; i < delta.length; i++) {
    if (!(theta[i] > floor) || delta[i] <= 1e-14 * theta[i]) continue; // noise, or at rounding level
    const rho = delta[i] / before[i];
    if (!(rho < 1) || (delta[i] * rho) / (1 - rho) > tolerance * theta[i]) return false;
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
  const { rows: d, cols: b } = Y;
  const X = zeros(d, b);
  const norms = new Float64Array(b);
  for (let r = 0; r < d; r++) for (let j = 0; j < b; j++) norms[j] += Y.data[r * b + j] ** 2;
  const largest = Math.sqrt(Math.max(...norms));
  for (let j = 0; j < b; j++) {
    const norm = Math.sqrt(norms[j]);
    const live = norm > 1e-13 * largest && norm > 0;
    for (let r = 0; r < d; r++) X.data[r * b + j] = live ? Y.data[r * b + j] / norm : normal();
  }
  try {
    return choleskyQR2(X).Q;
  } catch (error) {
    if (!(error instanceof NotPositiveDefiniteError)) throw error;
    return shiftedCholeskyQR3(X).Q; // κ between u^-½ and u⁻¹: early iterations of spiky spectra
  }
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

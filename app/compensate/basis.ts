// The shared core of all three methods. Each minimizes a weighted error of the rank-r
// correction B·A: [out, r]·[r, in] of ΔW: [out, in],
//     min ‖(ΔW − B·A)·L‖_F   with L·Lᵀ = C_w: [in, in] the method's weight,
// and the optimum (Eckart–Young on ΔW·L, then any A that reproduces it) is the left projection
//     B·A = U_r·U_rᵀ·ΔW,   U_r: [out, r] = top-r eigenvectors of M = ΔW·C_w·ΔWᵀ: [out, out],
// with residual ‖(ΔW − B·A)·L‖² = tr(M) − Σ_{i≤r} σᵢ² (σᵢ² the eigenvalues of M).
//   SVD (LoRC)        C_w = I              → ‖ΔW − B·A‖_F
//   scaled SVD (ASVD) C_w = diag(C_jj)     → a diagonal approximation of the output error
//   EoRA              C_w = C = X·Xᵀ       → ‖(ΔW − B·A)·X‖_F, the layer's output error
// The projection needs no inverse of L (no Λ^-½, no S⁻¹): directions where C vanishes keep
// their part of U_rᵀ·ΔW instead of being zeroed, which leaves the output error unchanged and
// is never worse in Frobenius norm. The basis is stored once up to rMax; every r ≤ rMax is a
// prefix (adapter.ts).
import { choleskyQR2 } from '../linalg/cholesky-qr.js';
import { symmetricEigen, type SymmetricEigen } from '../linalg/eigen.js';
import { gram, transpose, zeros, type Matrix } from '../linalg/matrix.js';
import { innerProduct, type Products } from './products.js';
import { blockKrylovEigen, type KrylovOptions } from './block-krylov.js';
import { firstColumns, oversampleFor } from './randomized.js';

export type Weight =
  | { kind: 'identity' }
  /** s: [in], L = diag(s), C_w = diag(s²). */
  | { kind: 'diagonal'; s: Float64Array }
  /**
   * C: [in, in] PSD; eigen (C = QΛQᵀ) is only needed by the in-space path and reused if given;
   * trace = tr(ΔW·C·ΔWᵀ) if the caller has it (the randomized path's error test needs it).
   */
  | { kind: 'full'; C: Matrix; eigen?: SymmetricEigen; trace?: number };

export interface LowRankBasis {
  /** [out, rMax] orthonormal columns, by decreasing σᵢ²; a dropped direction is a zero column. */
  U: Matrix;
  /** [rMax] σᵢ², eigenvalues of M = ΔW·C_w·ΔWᵀ (σᵢ the singular values of ΔW·L); 0 if dropped. */
  sigma2: Float64Array;
  /** [rMax, in] K = Uᵀ·ΔW: A before the Σ split; B·A = U_r·K_r. */
  K: Matrix;
  path: 'out-space' | 'in-space' | 'randomized';
  /** Block Krylov steps: applications of M to a block (randomized path only). */
  iterations?: number;
  /** Block Krylov stopping tests whose Rayleigh–Ritz took the band reduction (randomized path only). */
  bandChecks?: number;
  /** Estimated relative precision of sigma2 (see PartialEigen.precision; dense: rounding of M). */
  precision: number;
}

/**
 * Directions with σᵢ² ≤ DROP·σ₁² are dropped (zero column in U, zero row in K). Dense Gram
 * eigenvalues carry an absolute error ≈ n·u·σ₁² ≈ 1e-13·σ₁², so below 1e-12 a direction is
 * noise: it is not uniquely defined (any vector of a null space of M fits), it lowers the
 * objective by at most DROP·σ₁², and splitting Σ into A would divide by ≈ 0.
 */
export const DROP = 1e-12;

/** Exact path, O(out·in·min(out, in)) products + one min(out, in)-sized symmetric eigenproblem. */
export async function denseBasis(dW: Matrix, weight: Weight, rMax: number, products: Products): Promise<LowRankBasis> {
  const { rows: out, cols: inDim } = dW;
  checkRank(rMax, out, inDim);
  if (out <= inDim) {
    // Out-space: eigen of M: [out, out] directly; U comes out orthonormal, no division.
    const M = weight.kind === 'full' ? await products.matmul(await products.matmul(dW, weight.C), transpose(dW)) : outerGram(await scaledColumns(dW, weight, products));
    const { values, vectors } = symmetricEigen(M);
    return finish(firstColumns(vectors, rMax), values.slice(0, rMax), dW, products, 'out-space', denseValuePrecision(values, rMax, inDim, products));
  }
  // In-space (out > in): M has rank ≤ in, so solve the in×in problem instead:
  // Y = ΔW·L: [out, in], N = YᵀY: [in, in] = V·Σ²·Vᵀ, and Y·V_r = U_r·Σ_r (columns orthogonal
  // with norms σᵢ). For EoRA, L = Q·Λ^½ from C = QΛQᵀ (λ < 0 from rounding clamped to 0):
  // L·Lᵀ = C exactly for PSD C, singular or not — only the square root, never Λ^-½.
  const Y = await scaledColumns(dW, weight, products);
  const { values, vectors } = symmetricEigen(gram(Y));
  const sigma2 = values.slice(0, rMax);
  const Bt = await products.matmul(Y, firstColumns(vectors, rMax)); // [out, rMax] = U_r·Σ_r
  return finish(Bt, sigma2, dW, products, 'in-space', denseValuePrecision(values, rMax, out, products), true);
}

/**
 * Large layers: M is applied as ΔW·(C_w·(ΔWᵀ·Y)), never formed — no factorization or inverse
 * of C, so a singular C needs no guard — and iterated only until every prefix's error
 * tr(M) − Σ_{i≤r} θᵢ is within 0.1 % of the optimum and each σᵢ² within 1e-3 (randomized.ts).
 */
export async function randomizedBasis(dW: Matrix, weight: Weight, rMax: number, products: Products, options: KrylovOptions = {}): Promise<LowRankBasis> {
  const { rows: out, cols: inDim } = dW;
  checkRank(rMax, out, inDim);
  const reuse = { reuseA: true } as const; // ΔW and C are applied unchanged every step
  const apply = async (Yb: Matrix) => {
    const T = await products.matmul(dW, Yb, { ...reuse, transA: true }); // [in, b] = ΔWᵀ·Y
    const CT = weight.kind === 'full' ? await products.matmul(weight.C, T, reuse) : weight.kind === 'diagonal' ? scaleRowsSquared(T, weight.s) : T;
    return products.matmul(dW, CT, reuse); // [out, b]
  };
  const trace = await traceOfM(dW, weight, products);
  // Block Krylov for every weight. SVD's M of a rounding-noise ΔW is flat (Marchenko–Pastur), so
  // Krylov needs a larger space there (~4.5·k columns at 4096², k = 256) than on EoRA's decaying
  // spectrum (~3·k); with tests at geometric sizes (block-krylov.ts) its s³ Rayleigh–Ritz costs
  // 7.2–7.7 s at 4096², against 7.7–9.4 s for subspace iteration's 24 steps of k + p columns
  // (which is gone: one solver, one stopping test, values to 1e-3 instead of 3e-2).
  const { values, vectors, iterations, precision, bandChecks } = await blockKrylovEigen(apply, out, rMax, { products, trace, ...options });
  return { ...(await finish(vectors, values, dW, products, 'randomized', precision)), iterations, bandChecks };
}

/** tr(M) = tr(ΔW·C_w·ΔWᵀ): Σ of squared entries weighted by C_w (full: tr(ΔW·C·ΔWᵀ), given or computed). */
async function traceOfM(dW: Matrix, weight: Weight, products: Products): Promise<number> {
  if (weight.kind === 'full') return weight.trace ?? innerProduct(await products.matmul(dW, weight.C), dW);
  const { rows: out, cols: inDim } = dW;
  let t = 0;
  for (let i = 0; i < out; i++)
    for (let j = 0; j < inDim; j++) t += dW.data[i * inDim + j] ** 2 * (weight.kind === 'diagonal' ? weight.s[j] ** 2 : 1);
  return t;
}

/**
 * Dense eigenvalues of M carry an absolute error ≈ n·u·σ₁² (u: the products' unit roundoff),
 * so relative to σᵢ² that is n·u·σ₁²/σᵢ² — reported for the kept ones (σᵢ² > DROP·σ₁²).
 */
function denseValuePrecision(values: Float64Array, rMax: number, n: number, products: Products): number {
  const u = Math.max(products.precision ?? 2 ** -53, 2 ** -53);
  const top = Math.max(values[0] ?? 0, 0);
  let worst = 0;
  for (let i = 0; i < rMax; i++) if (values[i] > DROP * top) worst = Math.max(worst, (n * u * top) / values[i]);
  return Math.min(worst, 1);
}

/** Applies the drop rule, normalizes in-space columns U_r·Σ_r → U_r, and forms K = Uᵀ·ΔW. */
async function finish(U: Matrix, sigma2: Float64Array, dW: Matrix, products: Products, path: LowRankBasis['path'], precision: number, scaledBySigma = false): Promise<LowRankBasis> {
  const { rows: out } = U;
  const r = sigma2.length;
  const floor = DROP * Math.max(sigma2[0] ?? 0, 0);
  let kept = 0;
  while (kept < r && sigma2[kept] > floor && sigma2[kept] > 0) kept++;
  const s2 = new Float64Array(r);
  s2.set(sigma2.subarray(0, kept));
  let Uk = zeros(out, kept);
  for (let i = 0; i < out; i++)
    for (let j = 0; j < kept; j++) Uk.data[i * kept + j] = U.data[i * r + j] / (scaledBySigma ? Math.sqrt(sigma2[j]) : 1);
  // Y·vᵢ/σᵢ is orthonormal only up to u·σ₁²/(σᵢσⱼ); Cholesky-QR2 restores it to O(u) without
  // changing the nested spans (R is upper triangular), so every prefix U_r stays optimal.
  if (scaledBySigma && kept > 0) Uk = choleskyQR2(Uk).Q;
  const Ufull = zeros(out, r);
  for (let i = 0; i < out; i++) for (let j = 0; j < kept; j++) Ufull.data[i * r + j] = Uk.data[i * kept + j];
  // K = (ΔWᵀ·U)ᵀ with ΔW as the reused operand: ORT multiplies by the float32 copy of ΔW the
  // energies and the randomized basis already made instead of converting ΔW again.
  const K = transpose(await products.matmul(dW, Ufull, { transA: true, reuseA: true })); // [rMax, in] = Uᵀ·ΔW
  return { U: Ufull, sigma2: s2, K, path, precision };
}

/** Y = ΔW·L for identity / diagonal weights, ΔW·Q·Λ^½ for the full one. [out, in]. */
async function scaledColumns(dW: Matrix, weight: Weight, products: Products): Promise<Matrix> {
  if (weight.kind === 'identity') return dW;
  if (weight.kind === 'diagonal') return scaleColumns(dW, weight.s);
  const { values, vectors } = weight.eigen ?? symmetricEigen(weight.C);
  const n = values.length;
  const L = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) L.data[i * n + j] = vectors.data[i * n + j] * Math.sqrt(Math.max(values[j], 0));
  return products.matmul(dW, L);
}

function scaleColumns(a: Matrix, s: Float64Array): Matrix {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = a.data[i * a.cols + j] * s[j];
  return out;
}

/** diag(s²)·a: C_w·T for the diagonal weight. */
function scaleRowsSquared(a: Matrix, s: Float64Array): Matrix {
  const out = zeros(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = a.data[i * a.cols + j] * s[i] * s[i];
  return out;
}

/** Y·Yᵀ: [out, out] via gram of Yᵀ (float64, symmetric by construction). */
function outerGram(Y: Matrix): Matrix {
  return gram(transpose(Y));
}

function checkRank(rMax: number, out: number, inDim: number) {
  if (!Number.isInteger(rMax) || rMax < 1 || rMax > Math.min(out, inDim)) throw new RangeError(`rMax = ${rMax} must be an integer in [1, min(out, in) = ${Math.min(out, inDim)}]`);
}

export interface BasisOptions {
  /** Largest rank kept (default min(out, in, 512)). */
  rMax?: number;
  /**
   * 'auto': dense when max(out, in) ≤ denseLimit, or when the randomized block (rMax +
   * oversampling) would be ≥ min(out, in)/2 — then each iteration costs about as much as the
   * dense products and the iterations only multiply it. Randomized otherwise.
   */
  path?: 'auto' | 'dense' | 'randomized';
  /** Default 512. */
  denseLimit?: number;
  products?: Products;
  randomized?: KrylovOptions;
  signal?: AbortSignal;
}

export const defaultRank = (out: number, inDim: number) => Math.min(out, inDim, 512);

export function usesDensePath(out: number, inDim: number, options: BasisOptions): boolean {
  const { path = 'auto', denseLimit = 512 } = options;
  const rMax = options.rMax ?? defaultRank(out, inDim);
  const block = rMax + (options.randomized?.oversample ?? oversampleFor(rMax));
  return path === 'dense' || (path === 'auto' && (Math.max(out, inDim) <= denseLimit || 2 * block >= Math.min(out, inDim)));
}

/** The one entry point the methods call: picks the dense or randomized path. */
export function lowRankBasis(dW: Matrix, weight: Weight, options: BasisOptions, products: Products): Promise<LowRankBasis> {
  const rMax = options.rMax ?? defaultRank(dW.rows, dW.cols);
  return usesDensePath(dW.rows, dW.cols, options)
    ? denseBasis(dW, weight, rMax, products)
    : randomizedBasis(dW, weight, rMax, products, { ...options.randomized, signal: options.signal });
}

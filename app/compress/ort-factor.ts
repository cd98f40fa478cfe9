// GPTQ/SparseGPT's Hinv (the upper Cholesky factor V of H⁻¹, see hessian.ts) with the O(n³)
// work in onnxruntime, for wide layers (n ≥ 1024) where the float64 JS factor takes tens of
// seconds (n = 4096: 2n³/3 ≈ 46 GFLOP of scalar JS).
//
// Recursive 2×2 blocking of the same factorization linalg/inverse-cholesky.ts does unblocked:
//   H = U·Uᵀ (U upper), V = U⁻¹ (upper, positive diagonal, H⁻¹ = Vᵀ·V). With H split at n1:
//     V22 = factor(H22)                         (recursion)
//     U12 = H12·V22ᵀ                            (Gemm, [n1, n2])    since H12 = U12·U22ᵀ
//     S   = H11 − U12·U12ᵀ                      (Gemm, subtracted in float64)
//     V11 = factor(S)                           (recursion)
//     V12 = −V11·(U12·V22)                      (two Gemms)         since U·V = I
//   Blocks of ≤ leafSize are factored in float64 JS by upperCholeskyOfInverse itself.
// Work: ≈ 4n³/3 flops (full Gemms on triangular operands, twice the minimal 2n³/3) but at
// Gemm speed; the JS leaves are O(n·leaf²).
//
// Precision: every Gemm is float32 (operands rounded, float32 accumulation); the diagonal
// leaves, the Schur-complement subtraction and the assembled V stay float64. The factor's
// relative error is therefore ≈ κ(H)·1e-7-ish instead of κ(H)·1e-16: ~1e-5 for the dampened
// Hessians GPTQ sees (percdamp 0.01 bounds κ by ≈ 100·n·mean/min…), well below what the
// quantization grid resolves; quantized codes can differ from the float64 factor's only for
// weights that sit on a rounding boundary.
//
// InverseFactor (hessian.ts) is synchronous and ORT is not, so this is not an InverseFactor
// itself: prepareHessianOrt runs prepareHessian (dead columns, act-order, dampening) with a
// capturing factor, then replaces its Hinv with the ORT factor of the exact same H.
import { upperCholeskyOfInverse } from '../linalg/inverse-cholesky.js';
import type { Matrix } from '../linalg/matrix.js';
import { matmulF32 } from '../onnx/matmul.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { prepareHessian, type HessianOptions, type PreparedHessian } from './hessian.js';
import type { SecondMoment } from './types.js';

export interface OrtFactorOptions {
  /** Blocks at most this wide are factored in float64 JS (default 256). */
  leafSize?: number;
}

export const DEFAULT_LEAF_SIZE = 256;
/**
 * On a GPU every size goes through the device (no minimum size) with smaller float64 leaves, so
 * that a --device run exercises the device's Gemms even on the bundled model's 128-wide layers.
 */
export const DEVICE_LEAF_SIZE = 64;

/** V: [n, n] upper triangular with H⁻¹ = Vᵀ·V, for H: [n, n] SPD (reads the upper triangle); Gemms in ORT. */
export async function ortUpperCholeskyOfInverse(cache: SessionCache, H: Matrix, options: OrtFactorOptions = {}): Promise<Matrix> {
  const V = { rows: H.rows, cols: H.cols, data: Float64Array.from(H.data) };
  await ortUpperCholeskyOfInverseInPlace(cache, V, options);
  return V;
}

/**
 * The same factor written over H (its lower triangle zeroed): at n = 14336 (an 8B down_proj)
 * a separate V would be another 1.6 GB of float64 next to H and C.
 */
export async function ortUpperCholeskyOfInverseInPlace(cache: SessionCache, H: Matrix, options: OrtFactorOptions = {}): Promise<void> {
  const n = H.rows;
  if (H.cols !== n) throw new RangeError(`ortUpperCholeskyOfInverse: matrix is [${H.rows}, ${H.cols}], not square`);
  const leaf = options.leafSize ?? (cache.device === 'cpu' ? DEFAULT_LEAF_SIZE : DEVICE_LEAF_SIZE);
  if (!(Number.isInteger(leaf) && leaf >= 1)) throw new RangeError(`leafSize must be a positive integer, got ${leaf}`);
  await factor(cache, H.data, n, 0, n, leaf);
  for (let i = 1; i < n; i++) H.data.fill(0, i * n, i * n + i);
}

/**
 * Factors the diagonal block A[o:o+m, o:o+m] (A row-major [n, n]) in place: its upper triangle
 * holds H's on entry and V's on return; its lower triangle is left as it was (never read).
 * Each step reads an H block before the V block that replaces it is written: V22 over H22
 * (recursion), U12 from H12 before V12 goes there, S from H11 before V11 goes there.
 */
async function factor(cache: SessionCache, A: Float64Array, n: number, o: number, m: number, leaf: number): Promise<void> {
  if (m <= leaf) {
    const a = { rows: m, cols: m, data: new Float64Array(m * m) };
    for (let i = 0; i < m; i++) a.data.set(A.subarray((o + i) * n + o, (o + i) * n + o + m), i * m);
    const v = upperCholeskyOfInverse(a);
    for (let i = 0; i < m; i++) A.set(v.data.subarray(i * m + i, (i + 1) * m), (o + i) * n + o + i);
    return;
  }
  // Split so the bottom-right block (factored first) is a multiple of the leaf size.
  const n2 = Math.max(leaf, Math.round(m / 2 / leaf) * leaf);
  const n1 = m - n2;
  const o2 = o + n1;

  // V22 = factor(H22)
  await factor(cache, A, n, o2, n2, leaf);
  const V22 = upperBlock32(A, n, o2, n2);
  // U12 = H12·V22ᵀ: [n1, n2]
  const U12 = await matmulF32(cache, block32(A, n, o, o2, n1, n2), [n1, n2], V22, [n2, n2], { transB: true });
  // S = H11 − U12·U12ᵀ, in float64 (only the upper triangle is read by the recursion, but the
  // Gemm is full: symmetric rank-k is not an ONNX op).
  const P = await matmulF32(cache, U12, [n1, n2], U12, [n1, n2], { transB: true });
  const S = new Float64Array(n1 * n1);
  for (let i = 0; i < n1; i++) {
    const hi = (o + i) * n + o;
    for (let j = i; j < n1; j++) S[i * n1 + j] = A[hi + j] - P[i * n1 + j];
  }
  // V11 = factor(S), in S's own [n1, n1] array (its lower triangle stays 0), then into A.
  await factor(cache, S, n1, 0, n1, leaf);
  for (let i = 0; i < n1; i++) A.set(S.subarray(i * n1 + i, (i + 1) * n1), (o + i) * n + o + i);
  // V12 = −V11·(U12·V22): [n1, n2]
  const T = await matmulF32(cache, U12, [n1, n2], V22, [n2, n2]);
  const V12 = await matmulF32(cache, Float32Array.from(S), [n1, n1], T, [n1, n2]);
  for (let i = 0; i < n1; i++) {
    const row = (o + i) * n + o2;
    for (let j = 0; j < n2; j++) A[row + j] = -V12[i * n2 + j];
  }
}

/** a[r0:r0+rows, c0:c0+cols] of a row-major [*, n] float64 array, as float32. */
function block32(a: Float64Array, n: number, r0: number, c0: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const src = (r0 + i) * n + c0;
    for (let j = 0; j < cols; j++) out[i * cols + j] = a[src + j];
  }
  return out;
}

/** The upper triangle of the diagonal block a[o:o+m, o:o+m] as float32, zeros below the diagonal. */
function upperBlock32(a: Float64Array, n: number, o: number, m: number): Float32Array {
  const out = new Float32Array(m * m);
  for (let i = 0; i < m; i++) {
    const src = (o + i) * n + o;
    for (let j = i; j < m; j++) out[i * m + j] = a[src + j];
  }
  return out;
}

/**
 * prepareHessian with the O(n³) factor in onnxruntime: the same H (dead columns, act-order,
 * dampening), the same PreparedHessian, Hinv from ortUpperCholeskyOfInverse. `options.factor`
 * is ignored. Below `minSize` (default 1024 on the CPU, 0 on a GPU) the float64 JS factor is
 * used as is: it is exact and fast enough there.
 */
export async function prepareHessianOrt(cache: SessionCache, moment: SecondMoment, n: number, options: Omit<HessianOptions, 'factor'> & OrtFactorOptions & { minSize?: number } = {}): Promise<PreparedHessian> {
  if (n < (options.minSize ?? (cache.device === 'cpu' ? 1024 : 0))) return prepareHessian(moment, n, { percdamp: options.percdamp, actOrder: options.actOrder });
  let captured: Matrix | undefined;
  // The capturing factor hands H back as a placeholder of the right shape; replaced below.
  const prepared = prepareHessian(moment, n, { percdamp: options.percdamp, actOrder: options.actOrder, factor: (H) => (captured = H) });
  await ortUpperCholeskyOfInverseInPlace(cache, captured!, options);
  return { ...prepared, Hinv: captured!.data };
}

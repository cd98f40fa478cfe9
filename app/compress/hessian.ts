// The layer Hessian shared by GPTQ and SparseGPT (written once, as both papers use the same one):
//   H = 2·C/N             — Hessian of the layer's squared output error, C = Σ x xᵀ over N tokens
//   dead columns          — diag(H)_i == 0: the input never fires, so H_ii := 1 and W[:, i] := 0
//   act-order (GPTQ)      — columns permuted by descending diag(H), hardest-to-quantize first
//   dampening             — H += percdamp · mean(diag(H)) · I, so the factorization cannot fail
//   Hinv                  — upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU): row j of U, divided by
//                           U_jj, is the OBS update that spreads column j's error onto columns > j
//
// The O(n³) step sits behind `InverseFactor` so a later backend (onnxruntime, for 4096-wide
// layers) replaces one function; everything else here is O(n²).
import { upperCholeskyOfInverse as factorInverse } from '../linalg/inverse-cholesky.js';
import type { Matrix } from '../linalg/matrix.js';
import { CompressError, checkMoment, type SecondMoment } from './types.js';

/** H: [n, n] symmetric positive definite → U: [n, n] upper triangular with H⁻¹ = UᵀU. */
export type InverseFactor = (H: Matrix) => Matrix;

/**
 * Default, float64: H = U·Uᵀ then Hinv = U⁻¹ — the same factor as the reference's
 * cholesky → cholesky_inverse → cholesky(upper=True), in half the work (linalg/inverse-cholesky.ts).
 */
export const upperCholeskyOfInverse: InverseFactor = factorInverse;

export const DEFAULT_PERCDAMP = 0.01;

export interface HessianOptions {
  /** Dampening as a fraction of mean(diag(H)); default 0.01. */
  percdamp?: number;
  /** GPTQ act-order: sweep columns by descending diag(H). */
  actOrder?: boolean;
  factor?: InverseFactor;
}

/** Everything the column sweep needs from the calibration data; reusable across linears that share an input. */
export interface PreparedHessian {
  n: number;
  /** [n, n] upper-triangular U, H⁻¹ = UᵀU, rows/columns in sweep order. */
  Hinv: Float64Array;
  /** [n] in original column order: 1 where diag(H) == 0. */
  dead: Uint8Array;
  /** [n] sweep position → original column (act-order only). */
  perm: Int32Array | null;
  /** [n] original column → sweep position (act-order only). */
  invPerm: Int32Array | null;
  /** The absolute dampening added to diag(H). */
  damp: number;
}

/** C += Σ_t x_t x_tᵀ for x: [tokens, n] row-major; for drivers and tests that hold raw inputs. */
export function addToMoment(C: Float64Array, x: ArrayLike<number>, tokens: number, n: number): void {
  if (C.length !== n * n || x.length !== tokens * n) throw new CompressError(`addToMoment: C has ${C.length} values and x ${x.length}, expected ${n * n} and ${tokens}·${n}`);
  for (let t = 0; t < tokens; t++) {
    const xt = t * n;
    for (let i = 0; i < n; i++) {
      const xi = x[xt + i];
      if (xi === 0) continue;
      const row = i * n;
      for (let j = i; j < n; j++) C[row + j] += xi * x[xt + j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) C[i * n + j] = C[j * n + i];
}

export function prepareHessian(moment: SecondMoment, n: number, options: HessianOptions = {}): PreparedHessian {
  const { C, nTokens } = checkMoment(moment, n, 'the Hessian');
  const percdamp = options.percdamp ?? DEFAULT_PERCDAMP;
  if (!(percdamp >= 0 && Number.isFinite(percdamp))) throw new CompressError(`percdamp must be a finite number ≥ 0, got ${percdamp}`);

  // H = 2·C/N. Symmetrized: a driver's float32 batch sums need not be exactly symmetric.
  const H = new Float64Array(n * n);
  symmetrizedScale(C, n, 2 / nTokens, H);

  const dead = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (H[i * n + i] === 0) {
      dead[i] = 1;
      H[i * n + i] = 1;
    }
  }

  let perm: Int32Array | null = null;
  let invPerm: Int32Array | null = null;
  if (options.actOrder) {
    perm = descendingDiagonalOrder(H, n);
    invPerm = inversePermutation(perm);
    permuteSymmetricInPlace(H, n, perm); // in place: at n = 14336 a second H is 1.6 GB
  }

  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += H[i * n + i];
  meanDiag /= n;
  const damp = percdamp * meanDiag;
  for (let i = 0; i < n; i++) H[i * n + i] += damp;

  const U = (options.factor ?? upperCholeskyOfInverse)({ rows: n, cols: n, data: H });
  if (U.rows !== n || U.cols !== n) throw new CompressError(`inverse factor returned [${U.rows}, ${U.cols}], expected [${n}, ${n}]`);
  return { n, Hinv: U.data, dead, perm, invPerm, damp };
}

/**
 * H[i, j] = s·½·(C[i, j] + C[j, i]), in 64 × 64 tiles: C[j, i] walks a column, and untiled
 * that is one cache miss per element at n = 8192 (seconds per Hessian at 8B widths).
 */
function symmetrizedScale(C: Float64Array, n: number, s: number, H: Float64Array): void {
  const tile = 64;
  for (let i0 = 0; i0 < n; i0 += tile) {
    const i1 = Math.min(n, i0 + tile);
    for (let j0 = 0; j0 < n; j0 += tile) {
      const j1 = Math.min(n, j0 + tile);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) H[i * n + j] = s * 0.5 * (C[i * n + j] + C[j * n + i]);
    }
  }
}

/** W[:, i] := 0 for dead columns; W: [rows, n] in the order of `dead` (original columns). */
export function zeroDeadColumns(W: Float64Array, rows: number, prepared: Pick<PreparedHessian, 'n' | 'dead'>): void {
  const { n, dead } = prepared;
  for (let i = 0; i < n; i++) {
    if (!dead[i]) continue;
    for (let r = 0; r < rows; r++) W[r * n + i] = 0;
  }
}

/** Column j of the result is column perm[j] of W: [rows, n] (float32 input is widened on the way). */
export function permuteColumns(W: Float64Array | Float32Array, rows: number, n: number, perm: Int32Array): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let j = 0; j < n; j++) out[base + j] = W[base + perm[j]];
  }
  return out;
}

/** Stable argsort of diag(H), largest first: ties keep column order, so runs are reproducible. */
function descendingDiagonalOrder(H: Float64Array, n: number): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => H[b * n + b] - H[a * n + a] || a - b);
  return Int32Array.from(order);
}

export function inversePermutation(perm: Int32Array): Int32Array {
  const inv = new Int32Array(perm.length);
  for (let j = 0; j < perm.length; j++) inv[perm[j]] = j;
  return inv;
}

/**
 * H := P·H·Pᵀ, entry (i, j) = H[perm[i], perm[j]], with one row of scratch: columns are
 * gathered row by row, then rows are moved along the permutation's cycles.
 */
function permuteSymmetricInPlace(H: Float64Array, n: number, perm: Int32Array): void {
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const base = i * n;
    for (let j = 0; j < n; j++) row[j] = H[base + perm[j]];
    H.set(row, base);
  }
  // Row i takes old row perm[i]: follow each cycle i → perm[i] → perm[perm[i]] … once.
  const done = new Uint8Array(n);
  for (let start = 0; start < n; start++) {
    if (done[start] || perm[start] === start) continue;
    row.set(H.subarray(start * n, start * n + n));
    let i = start;
    for (;;) {
      done[i] = 1;
      const src = perm[i];
      if (src === start) {
        H.set(row, i * n);
        break;
      }
      H.copyWithin(i * n, src * n, src * n + n);
      i = src;
    }
  }
}

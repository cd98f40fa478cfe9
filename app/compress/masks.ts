// Mask selection shared by the pruners (magnitude, Wanda, SparseGPT): which weights to drop
// given a score per weight (lower = less important). Masks: Uint8Array [out, in], 1 = kept.
// Ties are broken by position (earlier weight pruned first), so masks are reproducible.
import { CompressError, type Sparsity } from './types.js';

export function checkSparsity(s: Sparsity, inFeatures?: number): void {
  if (s.kind === 'unstructured') {
    if (!(s.p >= 0 && s.p < 1)) throw new CompressError(`sparsity must be in [0, 1), got ${s.p}`);
    return;
  }
  const { n, m } = s;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m < 1) throw new CompressError(`N:M sparsity needs positive integers, got ${n}:${m}`);
  if (n > m) throw new CompressError(`N:M sparsity keeps N of every M weights, so N must not exceed M; got ${n}:${m}`);
  if (inFeatures !== undefined && inFeatures % m !== 0) throw new CompressError(`N:M group size M = ${m} does not divide the ${inFeatures} input columns`);
}

/** Indices of the k smallest scores (stable: equal scores → lower index first). */
export function lowestIndices(scores: Float64Array, k: number): Int32Array {
  const order = new Int32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => scores[a] - scores[b] || a - b);
  return order.subarray(0, k);
}

/**
 * N:M on one window: among the m scores at scores[s0 …], clear mask[m0 + t] for the m − keep lowest.
 * Repeated minimum search: m is tiny (4, 8) and this runs once per window, allocation-free.
 */
export function pruneWindow(scores: ArrayLike<number>, s0: number, m: number, keep: number, mask: Uint8Array, m0: number): void {
  for (let t = 0; t < m; t++) mask[m0 + t] = 1;
  for (let dropped = 0; dropped < m - keep; dropped++) {
    let best = -1;
    for (let t = 0; t < m; t++) {
      if (mask[m0 + t] && (best < 0 || scores[s0 + t] < scores[s0 + best])) best = t;
    }
    mask[m0 + best] = 0;
  }
}

/** Mask [rows, cols] from scores [rows, cols] under one comparison rule per sparsity kind. */
export function selectMask(scores: Float64Array, rows: number, cols: number, sparsity: Sparsity, comparison: 'layer' | 'row'): Uint8Array {
  checkSparsity(sparsity, cols);
  const mask = new Uint8Array(rows * cols).fill(1);
  if (sparsity.kind === 'nm') {
    const { n, m } = sparsity;
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c += m) pruneWindow(scores, r * cols + c, m, n, mask, r * cols + c);
    return mask;
  }
  if (comparison === 'layer') {
    for (const i of lowestIndices(scores, Math.floor(rows * cols * sparsity.p))) mask[i] = 0;
  } else {
    const k = Math.floor(cols * sparsity.p);
    for (let r = 0; r < rows; r++) {
      for (const c of lowestIndices(scores.subarray(r * cols, (r + 1) * cols), k)) mask[r * cols + c] = 0;
    }
  }
  return mask;
}

/** W_c = W ⊙ mask, as float32. */
export function applyMask(w: Float32Array, mask: Uint8Array): Float32Array {
  const wc = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) wc[i] = mask[i] ? w[i] : 0;
  return wc;
}

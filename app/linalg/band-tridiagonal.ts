// Symmetric band matrix → tridiagonal form by Givens rotations and bulge chasing (Schwarz 1968;
// Rutishauser's scheme, as EISPACK's bandr): A: [n, n] with A[i][j] = 0 for |i − j| > b becomes
// T = G·A·Gᵀ, G = G_m⋯G_1 a product of plane rotations, in ≈ 6·n²·b flops instead of the dense
// Householder reduction's ≈ 4/3·n³ (eigen.ts) — 3.5× fewer at n = 832, b = 32, and it only ever
// touches the band. Block Lanczos' projected matrix Qᵀ·M·Q is banded (block-krylov.ts).
//
// Column j is reduced bottom-up: A[k][j] (k = j + b … j + 2) is rotated into A[k−1][j] by a
// rotation of rows/columns (k−1, k). That mixes column k−1 with column k, whose band reaches one
// row further: a bulge appears at A[k+b][k−1], one outside the band. It is rotated away the same
// way (rows k+b−1, k+b), which moves it b rows down, and so on past the end: ≈ n²/2 rotations of
// ≈ 12·b flops each. Storage holds one diagonal beyond the band for the bulge.
//
// Eigenvectors: A = Gᵀ·T·G, so an eigenvector z of T gives Gᵀ·z = G_1ᵀ⋯G_mᵀ·z for A — the
// rotations are recorded and applied backwards (6 flops per rotation and vector).
import { hypot, type Matrix } from './matrix.js';

export interface BandTridiagonalForm {
  /** [n] diagonal of T. */
  d: Float64Array;
  /** [n] off-diagonal: e[i] = T[i][i−1], e[0] = 0 (eigen.ts' TridiagonalForm convention). */
  e: Float64Array;
  /** Rotation i acts on rows (plane[i], plane[i] + 1): row p ← c·row p + s·row q, row q ← −s·row p + c·row q. */
  plane: Int32Array;
  cos: Float64Array;
  sin: Float64Array;
  rotations: number;
}

/**
 * The lower band of a symmetric a: [n, n] (semi-bandwidth b) as the input of bandTridiagonalForm:
 * [n, b + 2], row i holding A[i][i − t] at column t (t = b + 1: room for the bulge). Halves that
 * differ by rounding are averaged. Entries outside the band are ignored (see outOfBandFraction).
 */
export function lowerBand(a: Matrix, b: number): Float64Array {
  const n = a.rows;
  const w = b + 2;
  const band = new Float64Array(n * w);
  for (let i = 0; i < n; i++)
    for (let t = 0; t <= Math.min(b, i); t++) band[i * w + t] = 0.5 * (a.data[i * n + i - t] + a.data[(i - t) * n + i]);
  return band;
}

/** ‖A − band_b(A)‖_F / ‖A‖_F: the share of a: [n, n] that lowerBand(a, b) drops (0 for a = 0). */
export function outOfBandFraction(a: Matrix, b: number): number {
  const n = a.rows;
  let outside = 0;
  let total = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = a.data[i * n + j] ** 2;
      total += v;
      if (Math.abs(i - j) > b) outside += v;
    }
  return total > 0 ? Math.sqrt(outside / total) : 0;
}

/** band: lowerBand's layout for semi-bandwidth b (overwritten). */
export function bandTridiagonalForm(band: Float64Array, n: number, b: number): BandTridiagonalForm {
  const w = b + 2;
  if (band.length !== n * w) throw new RangeError(`bandTridiagonalForm: band has ${band.length} entries, [${n}, ${w}] needs ${n * w}`);
  // Exactly as many slots as the loops below can take (a rotation skipped on g = 0 leaves one free).
  let capacity = 0;
  for (let j = 0; j + 2 < n; j++) for (let k = Math.min(j + b, n - 1); k >= j + 2; k--) capacity += 1 + Math.max(0, Math.ceil((n - b - k) / b));
  const plane = new Int32Array(capacity);
  const cos = new Float64Array(capacity);
  const sin = new Float64Array(capacity);
  let rotations = 0;
  // Rotation of rows/columns (p, p + 1) chosen to zero A[p+1][x] against A[p][x] (x < p).
  const eliminate = (p: number, x: number) => {
    const q = p + 1;
    const f = band[p * w + (p - x)];
    const g = band[q * w + (q - x)];
    if (g === 0) return;
    const r = hypot(f, g);
    const c = f / r;
    const s = g / r;
    rotate(band, n, w, p, c, s);
    band[p * w + (p - x)] = r;
    band[q * w + (q - x)] = 0;
    plane[rotations] = p;
    cos[rotations] = c;
    sin[rotations] = s;
    rotations++;
  };
  for (let j = 0; j + 2 < n; j++)
    for (let k = Math.min(j + b, n - 1); k >= j + 2; k--) {
      eliminate(k - 1, j);
      // Chase the bulge at A[k'+b][k'−1] down the band.
      for (let i = k; i + b < n; i += b) eliminate(i + b - 1, i - 1);
    }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = band[i * w];
    if (i > 0) e[i] = band[i * w + 1];
  }
  return { d, e, plane, cos, sin, rotations };
}

/**
 * A ← G·A·Gᵀ for the rotation of rows/columns (p, q = p + 1) with (c, s), on the band
 * (row i: A[i][i − t] at i·w + t). Entries left of the 2×2 block sit in rows p and q, entries
 * below it in columns p and q; the bulge slot (t = b + 1) takes the one A[q + b][p] this creates.
 */
function rotate(band: Float64Array, n: number, w: number, p: number, c: number, s: number) {
  const q = p + 1;
  const reach = w - 1; // b + 1
  // Left: A[p][x], A[q][x] for x in [q − reach, p − 1]: offsets t = p − x in row p, t + 1 in row q.
  for (let t = 1; t <= Math.min(reach - 1, p); t++) {
    const a = band[p * w + t];
    const g = band[q * w + t + 1];
    band[p * w + t] = c * a + s * g;
    band[q * w + t + 1] = -s * a + c * g;
  }
  // The 2×2 block [[app, aqp], [aqp, aqq]] ← G·block·Gᵀ.
  const app = band[p * w];
  const aqp = band[q * w + 1];
  const aqq = band[q * w];
  band[p * w] = c * c * app + 2 * c * s * aqp + s * s * aqq;
  band[q * w] = s * s * app - 2 * c * s * aqp + c * c * aqq;
  band[q * w + 1] = c * s * (aqq - app) + (c * c - s * s) * aqp;
  // Below: A[y][p] (offset y − p), A[y][q] (offset y − q) for y in [q + 1, q + b].
  for (let y = q + 1; y <= Math.min(n - 1, p + reach); y++) {
    const o = y * w + (y - q);
    const a = band[o + 1];
    const g = band[o];
    band[o + 1] = c * a + s * g;
    band[o] = -s * a + c * g;
  }
}

/** Z: [n, k] eigenvectors of T, one per column ← Gᵀ·Z: the eigenvectors of A. */
export function applyBandQ(form: BandTridiagonalForm, Z: Matrix): void {
  const { plane, cos, sin } = form;
  const k = Z.cols;
  const z = Z.data;
  for (let i = form.rotations - 1; i >= 0; i--) {
    const p = plane[i] * k;
    const q = p + k;
    const c = cos[i];
    const s = sin[i];
    for (let v = 0; v < k; v++) {
      const a = z[p + v];
      const g = z[q + v];
      z[p + v] = c * a - s * g;
      z[q + v] = s * a + c * g;
    }
  }
}

// Uniform quantizer with GPTQ's conventions (IST-DASLab/gptq quant.py): one grid per (row, group),
// values s·(c − z) for integer codes c ∈ {0 … maxq}, maxq = 2^bits − 1.
//   asymmetric: [xmin, xmax] = [min(x, 0), max(x, 0)], s = (xmax − xmin)/maxq, z = round(−xmin/s)
//   symmetric:  xmax = max|x|, xmin = −xmax,          s = 2·xmax/maxq,         z = (maxq + 1)/2
// The range always contains 0, so 0 is exactly representable (code z): pruned weights stay 0
// when SparseGPT prunes and quantizes in one pass.
//
// Exactness: s is rounded to float32 once, and every dequantized value is fround(s·(c − z)),
// computed by `dequantizeValue` alone, so `dequantize()` reproduces what the solvers used bit for bit.
import { CompressError, type QuantConfig, type QuantState } from './types.js';

export const MIN_BITS = 2;
export const MAX_BITS = 8; // codes are stored as bytes

export function checkQuantConfig(config: QuantConfig, inFeatures?: number): void {
  const { bits, groupSize } = config;
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) throw new CompressError(`bits must be ${MIN_BITS}–${MAX_BITS}, got ${bits}`);
  if (groupSize !== -1 && !(Number.isInteger(groupSize) && groupSize > 0)) {
    throw new CompressError(`group size must be a positive integer, or -1 for one group per output channel; got ${groupSize}`);
  }
  if (inFeatures !== undefined && groupSize !== -1 && inFeatures % groupSize !== 0) {
    throw new CompressError(`group size ${groupSize} does not divide the ${inFeatures} input columns`);
  }
}

export function groupCount(config: QuantConfig, inFeatures: number): number {
  return config.groupSize === -1 ? 1 : inFeatures / config.groupSize;
}

const ROUNDER = 1.5 * 2 ** 52; // x + ROUNDER − ROUNDER rounds x to an integer, ties to even, for |x| < 2⁵¹
const ROUND_LIMIT = 2 ** 51;
const TILE = 16; // rows per step of placeColumns: 64 rows at a 4096-byte pitch share one L1 set and thrash (38 vs 104 ms at 4096², measured)

/** torch.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  let r = Math.round(x); // halves go up
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

/** Integer code of x on the grid (s, z), clamped to [0, maxq]. */
export function quantizeCode(x: number, scale: number, zero: number, maxq: number): number {
  const c = roundHalfEven(x / scale) + zero;
  return c < 0 ? 0 : c > maxq ? maxq : c;
}

/** The one place a code becomes a float32 weight. */
export function dequantizeValue(code: number, scale: number, zero: number): number {
  return Math.fround(scale * (code - zero));
}

/** Each input column's group [inFeatures]: g_idx where given, else consecutive groups of groupSize (−1: one group). */
export function columnGroups(groupSize: number, inFeatures: number, gIdx?: Int32Array): Int32Array {
  return gIdx ?? Int32Array.from({ length: inFeatures }, (_, c) => (groupSize === -1 ? 0 : Math.floor(c / groupSize)));
}

/**
 * Codes, scales and zeros of one weight [out, in] being filled in: by RTN all at once, by GPTQ
 * and SparseGPT one column at a time, with each group's grid fitted when the sweep reaches it.
 */
export class GroupQuantizer {
  readonly maxq: number;
  readonly nGroups: number;
  readonly codes: Uint8Array; // [out, in]
  readonly scales: Float32Array; // [out, nGroups]
  readonly zeros: Float32Array; // [out, nGroups]

  constructor(
    readonly config: QuantConfig,
    readonly out: number,
    readonly inFeatures: number,
  ) {
    checkQuantConfig(config, inFeatures);
    this.maxq = 2 ** config.bits - 1;
    this.nGroups = groupCount(config, inFeatures);
    this.codes = new Uint8Array(out * inFeatures);
    this.scales = new Float32Array(out * this.nGroups);
    this.zeros = new Float32Array(out * this.nGroups);
  }

  /** Fit group g's grid, per row r, to the values x[r, c0:c1) of a row-major [out, stride] buffer. */
  fit(group: number, x: ArrayLike<number>, stride: number, c0: number, c1: number): void {
    for (let r = 0; r < this.out; r++) {
      let lo = 0; // the grid always spans 0
      let hi = 0;
      const base = r * stride;
      for (let c = base + c0; c < base + c1; c++) {
        const v = x[c];
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
      this.fitRange(r * this.nGroups + group, lo, hi);
    }
  }

  /** fit() for values stored column by column: x [count, out], column c of the group at row c. */
  fitColumns(group: number, x: Float64Array, count: number): void {
    const { out } = this;
    const lo = new Float64Array(out); // the grid always spans 0
    const hi = new Float64Array(out);
    for (let c = 0; c < count; c++) {
      for (let r = 0, at = c * out; r < out; r++, at++) {
        // Two selects, not if/else: a group's values are noise, the branch would mispredict half the time.
        const v = x[at];
        lo[r] = v < lo[r] ? v : lo[r];
        hi[r] = v > hi[r] ? v : hi[r];
      }
    }
    this.fitRanges(group, lo, hi);
  }

  /** Fit group g's grid per row r to a range [lo[r], hi[r]] that spans 0 (SweepView.range). */
  fitRanges(group: number, lo: Float64Array, hi: Float64Array): void {
    for (let r = 0; r < this.out; r++) this.fitRange(r * this.nGroups + group, lo[r], hi[r]);
  }

  private fitRange(slot: number, lo: number, hi: number): void {
    const { maxq } = this;
    let xmin = lo;
    let xmax = hi;
    if (this.config.sym) {
      // quant.py keeps xmin = 0 when a group has no negative value, which with z = (maxq+1)/2
      // clips everything above xmax/2; a symmetric grid is symmetric in every group here.
      xmax = Math.max(-xmin, xmax);
      xmin = -xmax;
    }
    let scale = Math.fround((xmax - xmin) / maxq);
    // Safeguard: an all-zero group, or a range below float32's resolution, gets quant.py's [−1, 1].
    if (!(scale > 0)) {
      xmin = -1;
      scale = Math.fround(2 / maxq);
    }
    this.scales[slot] = scale;
    const z = this.config.sym ? (maxq + 1) / 2 : roundHalfEven(-xmin / scale);
    this.zeros[slot] = z < 0 ? 0 : z > maxq ? maxq : z;
  }

  /** Quantize x as weight [r, col] with group g's grid; stores the code, returns the dequantized value. */
  quantizeAt(r: number, col: number, group: number, x: number): number {
    const slot = r * this.nGroups + group;
    const scale = this.scales[slot];
    const zero = this.zeros[slot];
    const code = quantizeCode(x, scale, zero, this.maxq);
    this.codes[r * this.inFeatures + col] = code;
    return dequantizeValue(code, scale, zero);
  }

  /**
   * quantizeAt for a whole column, the sweep's inner loop: q[r] = the dequantized code of w[r] on
   * row r's grid of `group`, for every row. Same codes and values as quantizeAt; the rounding is
   * the float64 add-and-subtract of 1.5·2⁵² (ties to even), about half the cost of Math.round
   * plus its tie check.
   */
  quantizeColumn(col: number, group: number, w: Float64Array, q: Float64Array): void {
    const { scales, zeros, codes, maxq, nGroups, inFeatures } = this;
    for (let r = 0, slot = group, at = col; r < this.out; r++, slot += nGroups, at += inFeatures) {
      const scale = scales[slot];
      const zero = zeros[slot];
      const x = w[r] / scale;
      // Exact for |x| < 2⁵¹; beyond, the grid clamps anyway, but keep roundHalfEven's result.
      let c = (Math.abs(x) < ROUND_LIMIT ? x + ROUNDER - ROUNDER : roundHalfEven(x)) + zero;
      c = c < 0 ? 0 : c > maxq ? maxq : c;
      codes[at] = c;
      q[r] = Math.fround(scale * (c - zero)); // dequantizeValue, inlined
    }
  }

  /** Row r's scale and zero of `group` into scales[r], zeros[r] ([out] each, the layout a column is rounded in). */
  groupGrid(group: number, scales: Float32Array, zeros: Float32Array): void {
    const { nGroups } = this;
    for (let r = 0, slot = group; r < this.out; r++, slot += nGroups) (scales[r] = this.scales[slot]), (zeros[r] = this.zeros[slot]);
  }

  /**
   * codes[r, c] = columns[position[c], r] for columns: [inFeatures, out] (codes column by column,
   * in sweep order; position: the inverse of the sweep order, null for in order), and returns
   * W_c [out, inFeatures], bit for bit dequantize(this.state(gIdx)), computed tile by tile while
   * the tile's codes are in cache rather than in a second pass. `gIdx`: each column's group where
   * groups are not consecutive columns. Codes must be ≤ maxq (this grid's rounding made them).
   * `into`: where to write W_c (out·inFeatures floats, overwritten), e.g. a dead buffer of the
   * sweep's rather than fresh memory to first-touch.
   */
  placeColumns(columns: Uint8Array, position: Int32Array | null, gIdx?: Int32Array, into?: Float32Array): Float32Array {
    const { out, inFeatures, codes, nGroups, scales, zeros } = this;
    const { groupSize } = this.config;
    if (into && into.length !== out * inFeatures) throw new RangeError(`placeColumns: W_c needs ${out * inFeatures} floats, the buffer given has ${into.length}`);
    const wc = into ?? new Float32Array(out * inFeatures);
    const groupOf = columnGroups(groupSize, inFeatures, gIdx);
    // As in dequantize: each row's values per (group, code) looked up where that table is
    // smaller than the row, here for the tile's rows at once (w4g128: 16 × 512 floats).
    const levels = this.maxq + 1;
    const perRow = nGroups * levels;
    const table = perRow <= inFeatures / 2 ? new Float32Array(TILE * perRow) : null;
    const tableAt = table ? groupOf.map((g) => g * levels) : groupOf;
    for (let r0 = 0; r0 < out; r0 += TILE) {
      const r1 = Math.min(r0 + TILE, out);
      if (table) {
        for (let r = r0, t = 0; r < r1; r++) {
          for (let g = 0; g < nGroups; g++) for (let code = 0; code < levels; code++, t++) table[t] = dequantizeValue(code, scales[r * nGroups + g], zeros[r * nGroups + g]);
        }
      }
      // Columns in order: the rows' written lines stay in L1 until full, and the lines read are
      // reused by the next TILE rows from L2.
      for (let c = 0; c < inFeatures; c++) {
        for (let r = r0, at = (position ? position[c] : c) * out + r0; r < r1; r++, at++) codes[r * inFeatures + c] = columns[at];
      }
      // The tile's rows of codes are still in L2: their values row by row, contiguously.
      for (let r = r0, t = 0; r < r1; r++, t += perRow) {
        const row = r * inFeatures;
        if (table) for (let c = 0; c < inFeatures; c++) wc[row + c] = table[t + tableAt[c] + codes[row + c]];
        else for (let c = 0; c < inFeatures; c++) wc[row + c] = dequantizeValue(codes[row + c], scales[r * nGroups + tableAt[c]], zeros[r * nGroups + tableAt[c]]);
      }
    }
    return wc;
  }

  state(gIdx?: Int32Array): QuantState {
    const { bits, groupSize, sym } = this.config;
    const s: QuantState = { bits, groupSize, sym, codes: this.codes, scales: this.scales, zeros: this.zeros };
    if (gIdx) s.gIdx = gIdx;
    return s;
  }
}

/** W_c [out, in] from its exact representation. */
export function dequantize(q: QuantState, out: number, inFeatures: number): Float32Array {
  const nGroups = q.groupSize === -1 ? 1 : inFeatures / q.groupSize;
  if (q.codes.length !== out * inFeatures || q.scales.length !== out * nGroups || q.zeros.length !== out * nGroups) {
    throw new CompressError(`quantized state does not match [${out}, ${inFeatures}] with ${nGroups} groups per row`);
  }
  if (q.gIdx && q.gIdx.length !== inFeatures) throw new CompressError(`g_idx has ${q.gIdx.length} entries, expected ${inFeatures}`);
  const wc = new Float32Array(out * inFeatures);
  // Each column's group once, not per weight (g_idx, or consecutive groups).
  const groupOf = columnGroups(q.groupSize, inFeatures, q.gIdx);
  const { codes, scales, zeros } = q;
  // Each row's values per (group, code) looked up rather than recomputed, where the table is
  // smaller than the row (w4g128: 16 codes × 32 groups for 4096 weights); the same dequantizeValue.
  const levels = 2 ** q.bits;
  const table = nGroups * levels <= inFeatures / 2 ? new Float32Array(nGroups * levels) : null;
  const tableAt = table ? Int32Array.from(groupOf, (g) => g * levels) : groupOf;
  for (let r = 0; r < out; r++) {
    const row = r * inFeatures;
    const slots = r * nGroups;
    if (table) {
      for (let g = 0; g < nGroups; g++) for (let c = 0; c < levels; c++) table[g * levels + c] = dequantizeValue(c, scales[slots + g], zeros[slots + g]);
      let any = 0; // OR of the row's codes: one ≥ levels (a foreign checkpoint) would read another group's entry
      for (let c = 0; c < inFeatures; c++) {
        const code = codes[row + c];
        any |= code;
        wc[row + c] = table[tableAt[c] + code];
      }
      if (any < levels) continue;
    }
    for (let c = 0; c < inFeatures; c++) {
      const slot = slots + groupOf[c];
      wc[row + c] = dequantizeValue(codes[row + c], scales[slot], zeros[slot]);
    }
  }
  return wc;
}

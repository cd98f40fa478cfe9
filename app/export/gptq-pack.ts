// Packing a linear's exact quantized state into the GPTQ checkpoint layout that AutoGPTQ and
// GPTQModel write (their QuantLinear `pack`):
//   qweight  int32 [in·bits/32, out]   the transposed codes [in, out], each column a
//                                       little-endian bit stream: code k of a column sits at
//                                       bits [bits·k, bits·k + bits) of its words (4-bit: 8
//                                       codes per word; 3-bit: 32 codes per 3 words, codes 10
//                                       and 21 straddling a word boundary)
//   qzeros   int32 [groups, out·bits/32]  zero points z' packed the same way along `out`, with
//                                       z' = z − 1 in the classic `gptq` format (loaders add the
//                                       1 back) and z' = z in `gptq_v2`
//   scales   [groups, out]              (float16 in GPTQ checkpoints)
//   g_idx    int32 [in]                 group of each input column (c / group_size without act-order)
// Dequantized: W[o, c] = scales[g, o] · (codes[o, c] − z[g, o]), g = g_idx[c]; the reader is
// app/model/gptq.ts. The classic format cannot hold a zero point of 0 (z − 1 = −1 wraps into
// the neighbours' bits); such a checkpoint needs gptq_v2, which `chooseFormat` picks.
import type { QuantState } from '../compress/types.js';

export type GptqFormat = 'gptq' | 'gptq_v2';
export const PACKABLE_BITS: readonly number[] = [2, 3, 4, 8];

export interface PackedLinear {
  /** int32 [in/pack, out] */
  qweight: Int32Array;
  /** int32 [groups, out/pack] */
  qzeros: Int32Array;
  /** float32 [groups, out] (written as float16 or float32) */
  scales: Float32Array;
  /** int32 [in] */
  gIdx: Int32Array;
  groups: number;
}

export function canPack(bits: number, out: number, inDim: number): string | null {
  if (!PACKABLE_BITS.includes(bits)) return `${bits}-bit codes (GPTQ checkpoints hold 2, 3, 4 or 8 bits)`;
  if (inDim % 32 !== 0 || out % 32 !== 0) return `shape [${out}, ${inDim}] is not a multiple of 32`;
  return null;
}

/** Codes [n, cols] (values < 2^bits) → words [n·bits/32, cols], each column a little-endian bit stream. */
export function packBits(codes: ArrayLike<number>, n: number, cols: number, bits: number): Int32Array {
  if ((n * bits) % 32 !== 0) throw new Error(`${n} codes of ${bits} bits do not fill whole 32-bit words`);
  const words = new Int32Array(((n * bits) / 32) * cols);
  for (let k = 0; k < n; k++) {
    const bit = bits * k;
    const w = bit >>> 5;
    const shift = bit & 31;
    for (let col = 0; col < cols; col++) {
      const code = codes[k * cols + col];
      words[w * cols + col] |= code << shift;
      if (shift + bits > 32) words[(w + 1) * cols + col] |= code >>> (32 - shift); // the straddling high bits
    }
  }
  return words;
}
/** `gptq` unless some zero point is 0 (not representable as z − 1), then `gptq_v2`. */
export function chooseFormat(zeros: Iterable<ArrayLike<number>>): GptqFormat {
  for (const z of zeros) for (let i = 0; i < z.length; i++) if (z[i] === 0) return 'gptq_v2';
  return 'gptq';
}

/** The group of each input column: g_idx when act-order stored one, else c / group_size (0 per row). */
export function groupIndex(q: QuantState, inDim: number): Int32Array {
  if (q.gIdx) return Int32Array.from(q.gIdx);
  const g = new Int32Array(inDim);
  if (q.groupSize !== -1) for (let c = 0; c < inDim; c++) g[c] = Math.floor(c / q.groupSize);
  return g;
}

/** Packs one linear's state (codes [out, in], scales/zeros [out, groups]). */
export function packLinear(q: QuantState, out: number, inDim: number, format: GptqFormat): PackedLinear {
  const problem = canPack(q.bits, out, inDim);
  if (problem) throw new Error(`cannot pack into the GPTQ layout: ${problem}`);
  const { bits } = q;
  const groups = q.scales.length / out;
  const transposed = new Uint8Array(inDim * out); // [in, out]
  for (let o = 0; o < out; o++) for (let c = 0; c < inDim; c++) transposed[c * out + o] = q.codes[o * inDim + c];
  const maxq = 2 ** bits - 1;
  const shiftZero = format === 'gptq' ? 1 : 0;
  const zeros = new Uint8Array(groups * out); // [groups, out], stored form
  const scales = new Float32Array(groups * out);
  for (let g = 0; g < groups; g++) {
    for (let o = 0; o < out; o++) {
      scales[g * out + o] = q.scales[o * groups + g]; // [out, groups] → [groups, out]
      const z = q.zeros[o * groups + g] - shiftZero;
      if (z < 0 || z > maxq) throw new Error(`zero point ${z + shiftZero} does not fit the ${format} layout at ${bits} bits`);
      zeros[g * out + o] = z;
    }
  }
  return { qweight: packBits(transposed, inDim, out, bits), qzeros: packRows(zeros, groups, out, bits), scales, gIdx: groupIndex(q, inDim), groups };
}

/** Zero points [groups, out] packed along `out` (each row a bit stream): [groups, out·bits/32]. */
function packRows(values: Uint8Array, rows: number, cols: number, bits: number): Int32Array {
  const width = (cols * bits) / 32;
  const out = new Int32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(packBits(values.subarray(r * cols, (r + 1) * cols), cols, 1, bits), r * width);
  return out;
}

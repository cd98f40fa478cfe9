// Floating-point operations of the forward pass as the graphs execute it (a multiply-add = 2).
// Attention is counted over the full T×T score matrix, which the graph computes before masking.
import { kvWidth, qWidth, type BlockShape } from '../forward/shape.js';

/** FLOPs of one decoder block over a [B, T] batch. */
export function blockFlops(s: BlockShape, B: number, T: number): number {
  const N = B * T;
  const d = s.hidden;
  const linears = d * qWidth(s) + 2 * d * kvWidth(s) + qWidth(s) * d + 3 * d * s.intermediate;
  const attention = 2 * B * s.heads * T * T * s.headDim; // q kᵀ and p v
  return 2 * N * linears + 2 * attention;
}

/** FLOPs of the head (lm_head matmul) over N rows. */
export function headFlops(hidden: number, vocab: number, N: number): number {
  return 2 * N * hidden * vocab;
}

// The model's head on one row-chunk of the vocabulary: final RMSNorm + lm_head rows
// [v0, v0 + Vc) (the embedding matrix when tied; the caller feeds whichever tensor applies).
// The runner streams lm_head through this graph chunk by chunk, so no [V, d] float32 matrix
// is ever resident (2.1 GB at 8B shapes), and combines the chunks in float64:
//   logits: x [B, T, d] → logits [B, T, Vc]          (chunks concatenated along V)
//   last:   x [B, T, d] → logits [B, Vc] of the last position (generation)
//   nll:    x [B, T, d], targets int32 [B, T] (chunk-local, clamped into [0, Vc)) →
//           logp [B, T] = the target's log-softmax within the chunk, logit [B, T] = its logit,
//           so the chunk's log Σ_v exp(logit_v) is lse_c = logit − logp; the runner keeps a
//           running log-sum-exp LSE over the chunks and, from the chunk c that holds the
//           target, nll = (LSE − lse_c) − logp_c. With one chunk LSE − lse_c is exactly 0: the
//           one-matrix head's numbers, bit for bit. (A ReduceLogSumExp output would cost a
//           second pass of scalar exp over [N, Vc], as long as the LogSoftmax itself: at
//           V = 32,000 that pass was a third of the head's time.)
// Inputs always include norm [d] and lm_head [Vc, d] (Vc symbolic: one session for every chunk).
import { GraphBuilder, int } from '../../onnx/builder.js';
import type { HeadMode, HeadShape } from '../shape.js';
import { linear, reshape, rmsNorm, shapeWith } from './ops.js';

/** Identifies the session: the chunk width is symbolic, so V does not enter it. */
export const headChunkSignature = (s: HeadShape, mode: HeadMode) => `llama-head-chunk d=${s.hidden} eps=${s.eps} mode=${mode}`;

export function buildHeadGraph(s: HeadShape, mode: HeadMode): Uint8Array {
  const { hidden: d } = s;
  const g = new GraphBuilder(headChunkSignature(s, mode));
  const x = g.input('x', 'float32', ['B', 'T', d]);
  const norm = g.input('norm', 'float32', [d]);
  const lmHead = g.input('lm_head', 'float32', ['Vc', d]);
  const rows = g.constant('int64', [2], [-1, d], 'rows');

  if (mode === 'last') {
    // x[:, -1, :] → [B, d]; only B rows go through the norm and the [Vc, d] matmul.
    const lastIndex = g.constant('int64', [], [-1], 'last');
    const last = g.op('Gather', [x, lastIndex], { axis: int(1) }); // [B, d]
    g.output(linear(g, rmsNorm(g, last, norm, s.eps), lmHead), 'logits', 'float32', ['B', 'Vc']);
    return g.build();
  }

  const logits = linear(g, rmsNorm(g, reshape(g, x, rows), norm, s.eps), lmHead); // [N, Vc]
  if (mode === 'logits') {
    const vc = g.op('Shape', [lmHead], { start: int(0), end: int(1) }); // [1]
    g.output(reshape(g, logits, g.op('Concat', [shapeWith(g, x, 0, 2, []), vc], { axis: int(0) })), 'logits', 'float32', ['B', 'T', 'Vc']);
    return g.build();
  }

  const targets = g.input('targets', 'int32', ['B', 'T']);
  const column = reshape(g, targets, g.constant('int64', [2], [-1, 1], 'column')); // [N, 1]
  const logProbs = g.op('LogSoftmax', [logits], { axis: int(-1) }); // [N, Vc]
  const picked = g.op('GatherElements', [logProbs, column], { axis: int(1) }); // [N, 1]
  const pickedLogit = g.op('GatherElements', [logits, column], { axis: int(1) }); // [N, 1]
  const bt = g.op('Shape', [targets]);
  g.output(reshape(g, picked, bt), 'logp', 'float32', ['B', 'T']);
  g.output(reshape(g, pickedLogit, bt), 'logit', 'float32', ['B', 'T']);
  return g.build();
}

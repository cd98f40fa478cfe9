// The model's head: final RMSNorm + lm_head (the embedding matrix when tied; the caller
// feeds whichever tensor applies). Three variants, so [B, T, V] logits only cross into JS
// when someone needs them:
//   logits: x [B, T, d] → logits [B, T, V]
//   last:   x [B, T, d] → logits [B, V] of the last position (generation)
//   nll:    x [B, T, d], targets int32 [B, T] → nll [B, T] = −log softmax(logits)[target]
// Inputs always include norm [d] and lm_head [V, d].
import { GraphBuilder, int } from '../../onnx/builder.js';
import { headSignature, type HeadMode, type HeadShape } from '../shape.js';
import { linear, reshape, rmsNorm, shapeWith } from './ops.js';

export function buildHeadGraph(s: HeadShape, mode: HeadMode): Uint8Array {
  const { hidden: d, vocab: V } = s;
  const g = new GraphBuilder(headSignature(s, mode));
  const x = g.input('x', 'float32', ['B', 'T', d]);
  const norm = g.input('norm', 'float32', [d]);
  const lmHead = g.input('lm_head', 'float32', [V, d]);
  const rows = g.constant('int64', [2], [-1, d], 'rows');

  if (mode === 'last') {
    // x[:, -1, :] → [B, d]; only B rows go through the norm and the [V, d] matmul.
    const lastIndex = g.constant('int64', [], [-1], 'last');
    const last = g.op('Gather', [x, lastIndex], { axis: int(1) }); // [B, d]
    g.output(linear(g, rmsNorm(g, last, norm, s.eps), lmHead), 'logits', 'float32', ['B', V]);
    return g.build();
  }

  const logits = linear(g, rmsNorm(g, reshape(g, x, rows), norm, s.eps), lmHead); // [N, V]
  if (mode === 'logits') {
    g.output(reshape(g, logits, shapeWith(g, x, 0, 2, [V])), 'logits', 'float32', ['B', 'T', V]);
    return g.build();
  }

  const targets = g.input('targets', 'int32', ['B', 'T']);
  const logProbs = g.op('LogSoftmax', [logits], { axis: int(-1) }); // [N, V]
  const column = reshape(g, targets, g.constant('int64', [2], [-1, 1], 'column')); // [N, 1]
  const picked = g.op('GatherElements', [logProbs, column], { axis: int(1) }); // [N, 1]
  g.output(reshape(g, g.op('Neg', [picked]), g.op('Shape', [targets])), 'nll', 'float32', ['B', 'T']);
  return g.build();
}

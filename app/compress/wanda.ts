// Wanda (Sun et al., 2023, "A Simple and Effective Pruning Approach for Large Language Models";
// reference: locuslab/wanda lib/prune.py prune_wanda). Score S_ij = |W_ij| · ‖X_j‖₂, where
// ‖X_j‖₂² = C_jj is the input feature's energy over the calibration tokens; weights are compared
// within each output row (the paper's per-output comparison group), or within each N:M window.
// No weight update. (The reference uses the per-token mean of ‖X_j‖², a constant factor that
// does not change any comparison.)
import { applyMask, selectMask } from './masks.js';
import { checkLinear, checkMoment, type CompressResult, type LinearWeight, type SecondMoment, type Sparsity } from './types.js';

export function wanda(layer: LinearWeight, moment: SecondMoment, sparsity: Sparsity): CompressResult {
  checkLinear(layer);
  const { w, out } = layer;
  const n = layer.in;
  const { C } = checkMoment(moment, n, 'wanda');
  const xNorm = new Float64Array(n); // [in]: ‖X_j‖₂
  for (let j = 0; j < n; j++) xNorm[j] = Math.sqrt(Math.max(C[j * n + j], 0));
  const score = new Float64Array(out * n); // [out, in]
  for (let r = 0; r < out; r++) for (let j = 0; j < n; j++) score[r * n + j] = Math.abs(w[r * n + j]) * xNorm[j];
  const mask = selectMask(score, out, n, sparsity, 'row');
  return { wc: applyMask(w, mask), out, in: n, mask };
}

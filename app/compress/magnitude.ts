// Magnitude pruning: drop the weights of smallest |W_ij|. Unstructured sparsity compares the
// whole layer at once (as Wanda's `prune_magnitude` baseline); N:M compares within each window.
// Needs no calibration data.
import { applyMask, selectMask } from './masks.js';
import { checkLinear, type CompressResult, type LinearWeight, type Sparsity } from './types.js';

export function magnitude(layer: LinearWeight, sparsity: Sparsity): CompressResult {
  checkLinear(layer);
  const { w, out } = layer;
  const score = new Float64Array(w.length); // [out, in]: |W_ij|
  for (let i = 0; i < w.length; i++) score[i] = Math.abs(w[i]);
  const mask = selectMask(score, out, layer.in, sparsity, 'layer');
  return { wc: applyMask(w, mask), out, in: layer.in, mask };
}

// SparseGPT (Frantar & Alistarh, 2023, "SparseGPT: Massive Language Models Can Be Accurately
// Pruned in One-Shot"; reference: IST-DASLab/sparsegpt sparsegpt.py fasterprune). The OBS sweep
// of sweep.ts with a pruning rule: a pruned weight's q is 0 and its error w/Hinv_jj is spread onto
// the columns to its right, so the surviving weights absorb it.
//
// Mask selection by the OBS saliency w² / Hinv_jj² on the current (already updated) weights:
//   unstructured — adaptive per block: at each block start, the lowest p·out·(i2 − i1) scores of
//                  the block's [out, i2 − i1] weights (rows compete with each other within a block)
//   N:M          — at each window start j ≡ 0 (mod M), per row, the M − N lowest of [j, j + M)
// Joint mode (the paper's "4-bit + 2:4"): survivors are also quantized in the same pass, grids
// fitted like GPTQ's (per channel up front; per group on the current columns when entered, over
// all of them, to-be-pruned included, as the reference fits its grid on the unpruned W).
// The reference selects ⌊p·count⌋ + 1 weights per block (`<= thresh`); we select exactly ⌊p·count⌋.
import { prepareHessian, zeroDeadColumns, type PreparedHessian } from './hessian.js';
import { checkSparsity, lowestIndices, pruneWindow } from './masks.js';
import { GroupQuantizer, dequantize } from './quantizer.js';
import { DEFAULT_BLOCK_SIZE, obsSweep, runSweep, type Sweep } from './sweep.js';
import { CompressError, checkLinear, toFloat64, type CompressResult, type LinearWeight, type QuantConfig, type SecondMoment, type Sparsity } from './types.js';

export interface SparseGptOptions {
  sparsity: Sparsity;
  /** Joint mode: also quantize the surviving weights. */
  quant?: QuantConfig;
  percdamp?: number;
  blockSize?: number;
}

export interface SparseGptResult extends CompressResult {
  mask: Uint8Array;
  /** Σ (w − q)² / Hinv_jj² / 2: the OBS estimate of the added loss. */
  loss: number;
}

export function sparsegpt(layer: LinearWeight, moment: SecondMoment, options: SparseGptOptions): SparseGptResult {
  checkLinear(layer);
  return sparsegptWithHessian(layer, prepareHessian(moment, layer.in, { percdamp: options.percdamp }), options);
}

export function sparsegptWithHessian(layer: LinearWeight, prepared: PreparedHessian, options: SparseGptOptions): SparseGptResult {
  return runSweep(sparsegptSteps(layer, prepared, options));
}

/** SparseGPT as a sweep generator (sweep.ts): drive it with runSweep, or runSweepOrt for wide layers. */
export function* sparsegptSteps(layer: LinearWeight, prepared: PreparedHessian, options: SparseGptOptions): Sweep<SparseGptResult> {
  checkLinear(layer);
  const { out } = layer;
  const n = layer.in;
  const { sparsity } = options;
  checkSparsity(sparsity, n);
  if (prepared.n !== n) throw new CompressError(`Hessian is for ${prepared.n} input columns, the weight has ${n}`);
  if (prepared.perm) throw new CompressError('SparseGPT sweeps columns in order; prepare the Hessian without act-order');
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const Hinv = prepared.Hinv; // [n, n] upper: U

  const W = toFloat64(layer.w); // [out, n]
  zeroDeadColumns(W, out, prepared);
  const mask = new Uint8Array(out * n).fill(1);

  const quantizer = options.quant ? new GroupQuantizer(options.quant, out, n) : null;
  const grouped = quantizer !== null && quantizer.config.groupSize !== -1;
  const g = grouped ? quantizer.config.groupSize : n;
  if (quantizer && !grouped) quantizer.fit(0, W, n, 0, n);

  const p = sparsity.kind === 'unstructured' ? sparsity.p : 0;
  const blockScores = p > 0 ? new Float64Array(out * Math.min(blockSize, n)) : null; // [out, i2 − i1]
  const m = sparsity.kind === 'nm' ? sparsity.m : 0;
  const nmScores = new Float64Array(out * m); // [out, M]
  const groupBuffer = new Float64Array(grouped ? g * out : 0); // [g, out]

  // N:M windows and dynamic groups that start inside a block read past its end.
  const B = Math.min(blockSize, n);
  const lookahead = Math.max(m > 0 && B % m !== 0 ? m : 0, grouped && B % g !== 0 ? g : 0);
  const loss = yield* obsSweep(W, out, n, Hinv, blockSize, (j, w, q, view) => {
    if (blockScores && j === view.i1) {
      const { i1, i2 } = view;
      const count = i2 - i1;
      view.current(i1, i2, blockScores);
      for (let r = 0; r < out; r++) {
        for (let c = 0; c < count; c++) blockScores[r * count + c] = saliency(blockScores[r * count + c], Hinv[(i1 + c) * n + i1 + c]);
      }
      const k = Math.floor(out * count * p);
      for (const idx of lowestIndices(blockScores.subarray(0, out * count), k)) {
        mask[Math.floor(idx / count) * n + i1 + (idx % count)] = 0;
      }
    }
    if (sparsity.kind === 'nm' && j % m === 0) {
      view.current(j, j + m, nmScores);
      for (let r = 0; r < out; r++) {
        for (let t = 0; t < m; t++) nmScores[r * m + t] = saliency(nmScores[r * m + t], Hinv[(j + t) * n + j + t]);
        pruneWindow(nmScores, r * m, m, sparsity.n, mask, r * n + j);
      }
    }
    if (grouped && j % g === 0) {
      view.currentColumns(j, j + g, groupBuffer);
      quantizer.fitColumns(j / g, groupBuffer, g);
    }
    const group = grouped ? Math.floor(j / g) : 0;
    for (let r = 0; r < out; r++) q[r] = mask[r * n + j] ? w[r] : 0;
    if (quantizer) quantizer.quantizeColumn(j, group, q, q);
  }, { lookahead });

  if (quantizer) {
    const quant = quantizer.state();
    return { wc: dequantize(quant, out, n), out, in: n, quant, mask, loss };
  }
  return { wc: Float32Array.from(W), out, in: n, mask, loss }; // W now holds the pruned, updated weights
}

/** OBS saliency of removing w: w² / Hinv_jj² (the error it causes, up to a factor 1/2). */
function saliency(w: number, Ujj: number): number {
  return (w * w) / (Ujj * Ujj);
}

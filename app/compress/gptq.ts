// GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for Generative
// Pre-trained Transformers"; reference: IST-DASLab/gptq gptq.py fasterquant). Columns are
// quantized left to right (or by act-order); each one's rounding error is compensated on the
// columns not yet quantized through H⁻¹ (see sweep.ts), in blocks of 128 with lazy updates.
//
// Phases: prepareHessian(C) once per input (shared by q/k/v, gate/up) → gptqWithHessian per linear.
//
// Grids: per channel, fitted once on W before the sweep; grouped, fitted on the *current*
// (already error-compensated) columns of a group when the sweep enters it. The reference reads
// those columns from W, which misses the intra-block updates when a group starts inside a block
// (groupsize < blocksize); we read the up-to-date values, so blocking never changes the result.
// With act-order, groups follow sweep order (g_idx maps columns to them) unless `staticGroups`,
// where grids are fitted on the original W per consecutive columns, before any update.
import { prepareHessian, permuteColumns, zeroDeadColumns, type PreparedHessian } from './hessian.js';
import { GroupQuantizer, columnGroups, dequantize } from './quantizer.js';
import { DEFAULT_BLOCK_SIZE, obsSweep, runSweep, type ColumnRule, type GridRule, type Sweep, type SweepView, type W0Source } from './sweep.js';
import { CompressError, checkLinear, toFloat64, type CompressResult, type LinearWeight, type QuantConfig, type SecondMoment } from './types.js';

export interface GptqOptions extends QuantConfig {
  actOrder?: boolean;
  /** With groups: fit every group's grid on the original W up front (reference `static_groups`). */
  staticGroups?: boolean;
  percdamp?: number;
  blockSize?: number;
}

export interface GptqResult extends CompressResult {
  /** Σ (w − q)² / Hinv_jj² / 2: GPTQ's own estimate of the added loss. */
  loss: number;
}

export function gptq(layer: LinearWeight, moment: SecondMoment, options: GptqOptions): GptqResult {
  checkLinear(layer);
  const prepared = prepareHessian(moment, layer.in, { percdamp: options.percdamp, actOrder: options.actOrder });
  return gptqWithHessian(layer, prepared, options);
}

export function gptqWithHessian(layer: LinearWeight, prepared: PreparedHessian, options: GptqOptions): GptqResult {
  return runSweep(gptqSteps(layer, prepared, options));
}

/** GPTQ as a sweep generator (sweep.ts): drive it with runSweep, or runSweepOrt for wide layers. */
export function* gptqSteps(layer: LinearWeight, prepared: PreparedHessian, options: GptqOptions): Sweep<GptqResult> {
  checkLinear(layer);
  const { out } = layer;
  const n = layer.in;
  if (prepared.n !== n) throw new CompressError(`Hessian is for ${prepared.n} input columns, the weight has ${n}`);
  if (!!options.actOrder !== (prepared.perm !== null)) throw new CompressError(`Hessian was prepared ${prepared.perm ? 'with' : 'without'} act-order, GPTQ asked ${options.actOrder ? 'with' : 'without'}`);
  const grouped = options.groupSize !== -1;
  if (options.staticGroups && !grouped) throw new CompressError('static groups need a group size (e.g. w4g128)');
  const quantizer = new GroupQuantizer(options, out, n);
  const g = grouped ? options.groupSize : n; // columns per group
  const { perm, invPerm } = prepared;

  // A float32 driver with the grids fitted during the sweep needs only W₀ᵀ in float32, built
  // straight from layer.w: no float64 W (128 MB at 4096²), no permuted copy, no transposition.
  const reply = yield { kind: 'begin', out, n };
  let W0T: W0Source | undefined; // W₀, whose transpose the sweep gathers: [n, out], columns in sweep order
  let W: Float64Array; // [out, n], columns in sweep order
  if (reply?.precision === 'float32' && grouped && !options.staticGroups) {
    W0T = { w: layer.w, position: invPerm, dead: prepared.dead };
    W = new Float64Array(0);
  } else if (perm && !options.staticGroups) {
    // Widened and permuted in one pass (each copy of an LLM-sized W is 100+ MB); a per-channel
    // grid is a row's min and max, which the column order does not change.
    W = permuteColumns(layer.w, out, n, perm);
    zeroDeadColumns(W, out, { n, dead: Uint8Array.from(perm, (c) => prepared.dead[c]) });
    if (!grouped) quantizer.fit(0, W, n, 0, n);
  } else {
    W = toFloat64(layer.w);
    zeroDeadColumns(W, out, prepared);
    // Grids fixed before the sweep: per channel (one group spanning all of W), or static groups.
    if (!grouped || options.staticGroups) {
      for (let group = 0; group < quantizer.nGroups; group++) quantizer.fit(group, W, n, group * g, (group + 1) * g);
    }
    if (perm) W = permuteColumns(W, out, n, perm);
  }

  const lo = new Float64Array(out); // per row, the range of a group being entered
  const hi = new Float64Array(out);
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  // A dynamic group that starts inside a block reads up to g − 1 columns past its end.
  const lookahead = grouped && !options.staticGroups && Math.min(blockSize, n) % g !== 0 ? g : 0;
  /** The group that rounds column j (sweep order), its grid fitted when the sweep enters it. */
  const groupOf = (j: number, view: SweepView): number => {
    const col = perm ? perm[j] : j; // original column
    // Dynamic groups live in sweep order; static ones (and per channel) in original order.
    const group = !grouped ? 0 : options.staticGroups ? Math.floor(col / g) : Math.floor(j / g);
    if (grouped && !options.staticGroups && j % g === 0) {
      view.range(j, j + g, lo, hi);
      quantizer.fitRanges(group, lo, hi);
    }
    return group;
  };
  // A float32 sweep rounds in its SIMD kernel. Where it keeps E in its workspace it keeps the
  // codes there too and has them placed by its kernel (placed); otherwise it hands them over
  // column by column, in sweep order, kept here as [n, out] and placed once at the end.
  let columnCodes: Uint8Array | null = null;
  // g_idx only where groups are not consecutive columns: act-order with dynamic groups.
  const gIdx = invPerm && grouped && !options.staticGroups ? invPerm.map((j) => Math.floor(j / g)) : undefined;
  let placed: Float32Array | null = null; // W_c, where the sweep's kernel placed the codes
  const gridRule: GridRule = {
    maxq: quantizer.maxq,
    groups: quantizer.nGroups,
    group: groupOf,
    grid: (group, scales, zeros) => quantizer.groupGrid(group, scales, zeros),
    codes: (j, codes) => (columnCodes ??= new Uint8Array(n * out)).set(codes, j * out),
    placed: (kept) => {
      placed = kept.place(invPerm, columnGroups(options.groupSize, n, gIdx), quantizer.scales, quantizer.zeros, quantizer.codes);
    },
  };
  const rule: ColumnRule = (j, w, q, view) => quantizer.quantizeColumn(perm ? perm[j] : j, groupOf(j, view), w, q);
  let spare: Float32Array | undefined; // the sweep's dead error history, W_c's size: W_c is written there
  const sweepOptions = { lookahead, writeBack: false, gridRule, begun: { reply, W0T }, spare: (floats: Float32Array) => (spare = floats) };
  const loss = yield* obsSweep(W, out, n, prepared.Hinv, blockSize, rule, sweepOptions); // the result is the quantizer's codes, not W

  // A float32 sweep's codes are placed and dequantized in one pass: by its kernel where it kept
  // them, else here.
  const wc = placed ?? (columnCodes ? quantizer.placeColumns(columnCodes, invPerm, gIdx, spare) : null);
  const quant = quantizer.state(gIdx);
  return { wc: wc ?? dequantize(quant, out, n), out, in: n, quant, loss };
}

// Calibration statistics of a decoder block's linear inputs: XᵀX summed over tokens, one
// matrix per distinct input (q/k/v share one, gate/up share one).
//
// Precision: onnxruntime returns each batch's Gram in float32 (a sum over a few thousand
// tokens, where float32's 24-bit mantissa loses ~1e-7·N relative at most and MLAS
// accumulates in blocks); the running sum across batches, which may cover millions of tokens,
// is kept here in float64 so the total does not drift as batches pile up.
import type { LinearKind } from '../model/types.js';
import { gramNames, qWidth, type BlockShape, type GramName } from './shape.js';

export { gramNames, type GramName } from './shape.js';

/** Which Gram matrix is the input statistic of each linear. */
export const gramOf: Record<LinearKind, GramName> = {
  q_proj: 'attn_in',
  k_proj: 'attn_in',
  v_proj: 'attn_in',
  o_proj: 'o_in',
  gate_proj: 'mlp_in',
  up_proj: 'mlp_in',
  down_proj: 'down_in',
};

/** One batch's statistics from the block graph: row-major float32 [k, k] sums (those asked for), and the token count N = B·T. */
export type GramStats = Partial<Record<GramName, Float32Array>> & { tokens: number };

/** Width k of each Gram matrix: d, nH·hd, d, I. */
export function gramWidths(s: BlockShape): Record<GramName, number> {
  return { attn_in: s.hidden, o_in: qWidth(s), mlp_in: s.hidden, down_in: s.intermediate };
}

/**
 * Running float64 sums of XᵀX over batches, for one layer: of every Gram, or of `names` only
 * (the others stay empty; a sequential calibration pass needs one group's input).
 */
export class GramAccumulator {
  readonly sums: Record<GramName, Float64Array>;
  readonly widths: Record<GramName, number>;
  readonly names: readonly GramName[];
  tokens = 0;

  constructor(shape: BlockShape, names: readonly GramName[] = gramNames) {
    this.widths = gramWidths(shape);
    this.names = gramNames.filter((name) => names.includes(name));
    const sum = (name: GramName) => new Float64Array(this.names.includes(name) ? this.widths[name] ** 2 : 0);
    this.sums = { attn_in: sum('attn_in'), o_in: sum('o_in'), mlp_in: sum('mlp_in'), down_in: sum('down_in') };
  }

  add(stats: GramStats): void {
    for (const name of this.names) {
      const sum = this.sums[name];
      const batch = stats[name];
      if (!batch) throw new Error(`GramAccumulator: the batch has no ${name} statistics`);
      if (batch.length !== sum.length) throw new Error(`GramAccumulator: ${name} has ${batch.length} values, expected ${sum.length}`);
      for (let i = 0; i < sum.length; i++) sum[i] += batch[i];
    }
    this.tokens += stats.tokens;
  }

  /** E[x xᵀ] = XᵀX / N, float64 [k, k]. */
  mean(name: GramName): Float64Array {
    if (this.tokens === 0) throw new Error('GramAccumulator: no tokens were added');
    return this.sums[name].map((v) => v / this.tokens);
  }
}

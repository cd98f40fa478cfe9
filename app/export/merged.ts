// The variant as one plain checkpoint: W_c + B·A merged into every adapted linear (summed in
// float64, written in the chosen dtype). Loads in this workbench and in transformers like any
// Llama checkpoint; no adapter machinery needed.
import { writeHfCheckpoint } from './hf-checkpoint.js';
import { mergeAdapter } from './variant.js';
import { floatDtype, type FormatContext } from './types.js';

export async function exportMerged(ctx: FormatContext): Promise<void> {
  const { source } = ctx;
  const dtype = floatDtype(ctx.options.dtype);
  const byWeight = new Map(source.linears.map((l) => [`${l.name}.weight`, l]));
  const files = writeHfCheckpoint(ctx, ctx.dir, dtype, (name) => {
    const l = byWeight.get(name);
    return l ? mergeAdapter(source.compressed.get(name)!, source.adapters.get(l.name), l.out, l.in) : null;
  });
  Object.assign(ctx.notes, { dtype, files, merged_adapters: [...source.adapters.values()].filter((a) => a.rank > 0).length });
}

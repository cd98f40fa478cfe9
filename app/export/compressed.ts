// The compressed model itself, and with an adapter variant the adapter beside it:
//   <out>/          dequantized W_c as a plain checkpoint (any loader; --dtype f16/bf16/f32)
//   <out>/gptq/     for a quantized run with 2/3/4/8-bit codes: the packed GPTQ checkpoint
//                   (qweight, qzeros, scales, g_idx per linear; quantize_config.json and
//                   config.json's quantization_config) that AutoGPTQ / GPTQModel /
//                   transformers load; non-linear tensors in float16 like theirs. Scales are
//                   float16 as those loaders expect, float32 with --dtype f32 (then the codes,
//                   scales and zeros read back bit for bit; in float16 the scales round).
//   <out>/adapter/  for an adapter variant (eora-r16, svd-r8, …): its PEFT adapter with
//                   base_model_name_or_path = <out>, so AutoPeftModelForCausalLM puts B·A on
//                   W_c, the weights it was fitted to (peft.ts).
// A pruned-only or unquantized run, or a run made before the codes were stored, gets only
// the dequantized checkpoint; export.json says why there is no gptq/.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canPack, chooseFormat, packLinear, type GptqFormat, type PackedLinear } from './gptq-pack.js';
import { checkpointConfig, SIDE_FILES, writeHfCheckpoint } from './hf-checkpoint.js';
import { adapterTensors, writeAdapter } from './peft.js';
import { QuantStore } from '../run/files/quantized.js';
import { writeCheckpointWeights, writeJsonFile, type OutTensor } from './safetensors-out.js';
import { DEFAULT_SHARD_BYTES, floatDtype, type FormatContext } from './types.js';

export async function exportCompressed(ctx: FormatContext): Promise<void> {
  const withAdapter = ctx.source.adapters.size > 0;
  const adapterSteps = withAdapter ? adapterTensors(ctx).length + 1 : 0;
  Object.assign(ctx.notes, writeCompressed(ctx, ctx.dir, adapterSteps));
  if (!withAdapter) return;
  const adapterDir = join(ctx.dir, 'adapter');
  mkdirSync(adapterDir);
  ctx.notes.adapter = { folder: 'adapter', base_model_name_or_path: ctx.target, ...writeAdapter(ctx, adapterDir, ctx.target) };
}

/**
 * W_c as a checkpoint in `dir` (+ `dir/gptq/` when the codes pack); `extraSteps` are the
 * caller's steps after it (for one progress total). Returns the facts for export.json.
 */
export function writeCompressed(ctx: FormatContext, dir: string, extraSteps = 0): Record<string, unknown> {
  const { source, model } = ctx;
  const dtype = floatDtype(ctx.options.dtype);
  const store = QuantStore.open(source.run.dir);
  try {
    const gptqProblem = packProblem(store, ctx);
    const byWeight = new Set(source.linears.map((l) => `${l.name}.weight`));
    // What writeGptq queues: 4 tensors per linear plus every other tensor but a tied lm_head.
    const tiedHead = model.config.tie_word_embeddings && model.tensors.has('lm_head.weight') ? 1 : 0;
    const packedTensors = gptqProblem === null ? 4 * source.linears.length + (model.tensors.size - source.linears.length - tiedHead) : 0;
    const files = writeHfCheckpoint(ctx, dir, dtype, (name) => (byWeight.has(name) ? source.compressed.get(name) : null), packedTensors + 1 + extraSteps);
    if (gptqProblem !== null) return { dtype, files, gptq: { written: false, reason: gptqProblem } };
    const { format, config } = writeGptq(ctx, join(dir, 'gptq'), store!);
    const gptq = { written: true, folder: 'gptq', bits: config.bits, group_size: config.group_size, desc_act: config.desc_act, sym: config.sym, checkpoint_format: format, scales: ctx.options.dtype === 'f32' ? 'F32' : 'F16' };
    return { dtype, files, gptq };
  } finally {
    store?.close();
  }
}

function packProblem(store: QuantStore | null, ctx: FormatContext): string | null {
  if (!store) return 'the run stores no quantization codes (not quantized, or made before codes were kept; re-run `eora compress`)';
  const first = ctx.source.linears[0];
  if (!store.has(first.name)) return `${first.name} has no stored codes`;
  const c0 = store.config(first.name);
  for (const l of ctx.source.linears) {
    if (!store.has(l.name)) return `${l.name} has no stored codes`;
    const c = store.config(l.name);
    if (c.bits !== c0.bits || c.groupSize !== c0.groupSize || c.sym !== c0.sym) return 'linears differ in bits/group size (one quantize_config cannot describe them)';
    const problem = canPack(c.bits, l.out, l.in);
    if (problem) return `${l.name}: ${problem}`;
  }
  return null;
}

function writeGptq(ctx: FormatContext, dir: string, store: QuantStore): { format: GptqFormat; config: { bits: number; group_size: number; desc_act: boolean; sym: boolean } } {
  const { source, model } = ctx;
  mkdirSync(dir);
  const format = chooseFormat(source.linears.map((l) => store.zeros(l.name)));
  const first = store.config(source.linears[0].name);
  const scaleDtype = ctx.options.dtype === 'f32' ? 'F32' : 'F16';
  const quantizeConfig = {
    bits: first.bits,
    group_size: first.groupSize,
    desc_act: source.linears.some((l) => store.config(l.name).actOrder),
    sym: first.sym,
    static_groups: false,
    true_sequential: true,
    damp_percent: 0.01,
    quant_method: 'gptq',
    checkpoint_format: format,
    model_file_base_name: 'model',
  };
  const linearWeights = new Set(source.linears.map((l) => `${l.name}.weight`));
  const tensors: OutTensor[] = [];
  for (const name of model.tensors.keys()) {
    if (linearWeights.has(name) || (model.config.tie_word_embeddings && name === 'lm_head.weight')) continue;
    tensors.push({ name, dtype: 'F16', shape: model.tensors.get(name)!.shape, data: () => model.readTensor(name) });
  }
  for (const l of source.linears) {
    // Packed once per linear when its first tensor is due, dropped after its last (g_idx).
    let packed: PackedLinear | null = null;
    const get = () => (packed ??= packLinear(store.get(l.name), l.out, l.in, format));
    const groups = first.groupSize === -1 ? 1 : l.in / first.groupSize;
    tensors.push({ name: `${l.name}.qweight`, dtype: 'I32', shape: [(first.bits * l.in) / 32, l.out], data: () => get().qweight });
    tensors.push({ name: `${l.name}.qzeros`, dtype: 'I32', shape: [groups, (first.bits * l.out) / 32], data: () => get().qzeros });
    tensors.push({ name: `${l.name}.scales`, dtype: scaleDtype, shape: [groups, l.out], data: () => get().scales });
    tensors.push({
      name: `${l.name}.g_idx`,
      dtype: 'I32',
      shape: [l.in],
      data: () => {
        const gIdx = get().gIdx;
        packed = null;
        return gIdx;
      },
    });
  }
  writeCheckpointWeights(dir, tensors, ctx.options.shardBytes ?? DEFAULT_SHARD_BYTES, (name) => ctx.step(`gptq/${name}`));
  const config = checkpointConfig(model, 'F16');
  config.quantization_config = quantizeConfig;
  writeJsonFile(join(dir, 'config.json'), config);
  writeJsonFile(join(dir, 'quantize_config.json'), quantizeConfig);
  for (const file of SIDE_FILES) if (existsSync(join(model.path, file))) copyFileSync(join(model.path, file), join(dir, file));
  ctx.step('gptq/config');
  return { format, config: quantizeConfig };
}

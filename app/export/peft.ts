// A LoRA adapter in PEFT's on-disk layout (what `PeftModel.from_pretrained` reads):
//   adapter_config.json        LoraConfig fields; scaling = lora_alpha / r = 1, so the stored
//                              factors apply as they are: y = W_c·x + B·(A·x)
//   adapter_model.safetensors  `base_model.model.<linear>.lora_A.weight` [r, in],
//                              `base_model.model.<linear>.lora_B.weight` [out, r]
// (PeftModel wraps the model as `base_model.model`; the adapter name is dropped on save.)
// Uniform ranks: r, lora_alpha = r, target_modules by kind. Per-linear ranks (budget variants):
// r and lora_alpha are the most common rank, rank_pattern / alpha_pattern give every other
// linear its own (keys are full module names, which PEFT matches as a suffix), and linears
// with rank 0 are left out of target_modules (listed by full name then).
// The adapter corrects the COMPRESSED model, so the export carries that model with it:
//   <out>/        the adapter (the two files above)
//   <out>/base/   W_c, exactly what `--format compressed` writes (+ base/gptq/ when it packs)
// and base_model_name_or_path names <out>/base (absolute), so AutoPeftModelForCausalLM loads
// W_c + B·A and never the original W, which the adapter would make worse.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peftRanks } from '../contract/modules.js';
import { writeCompressed } from './compressed.js';
import { writeJsonFile, writeSafetensorsFile, type OutTensor } from './safetensors-out.js';
import type { FormatContext } from './types.js';

export const PEFT_PREFIX = 'base_model.model.';

export interface PeftConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  base_model_name_or_path: string;
  r: number;
  lora_alpha: number;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  target_modules: string[];
  bias: 'none';
  fan_in_fan_out: false;
  lora_dropout: 0;
  inference_mode: true;
  init_lora_weights: true;
  use_rslora: false;
  use_dora: false;
  modules_to_save: null;
  layers_to_transform: null;
  layers_pattern: null;
  revision: null;
}

/** adapter_config.json for per-linear ranks (0 = no adapter on that linear). */
export function peftConfig(ranks: ReadonlyMap<string, number>, kindOf: (linear: string) => string, baseModel: string): PeftConfig {
  if (![...ranks.values()].some((r) => r > 0)) throw new Error('the variant has no adapter on any linear (all ranks 0)');
  // The same rule as the rank explorer's rank_pattern export (app/contract/modules.ts).
  const { r, rank_pattern: rankPattern, target_modules: targetModules } = peftRanks(ranks, kindOf);
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r,
    lora_alpha: r,
    rank_pattern: rankPattern,
    alpha_pattern: { ...rankPattern }, // alpha = r per linear: scaling 1 everywhere
    target_modules: targetModules,
    bias: 'none',
    fan_in_fan_out: false,
    lora_dropout: 0,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    revision: null,
  };
}

export async function exportPeft(ctx: FormatContext): Promise<void> {
  const { source, dir } = ctx;
  if (source.adapters.size === 0) throw new Error(`variant "${source.variant}" has no adapters; PEFT export needs an adapter variant (e.g. eora-r16)`);
  const baseDir = join(dir, 'base');
  mkdirSync(baseDir);
  const base = writeCompressed(ctx, baseDir, adapterTensors(ctx).length + 1);
  const basePath = join(ctx.target, 'base');
  Object.assign(ctx.notes, writeAdapter(ctx, dir, basePath), {
    base: { folder: 'base', base_model_name_or_path: basePath, what: 'the compressed model W_c of this run; the adapter corrects W_c, not the original weights', ...base },
  });
}

/** The adapter's tensors in PEFT's names (rank-0 linears have none). */
export function adapterTensors(ctx: FormatContext): OutTensor[] {
  const dtype = ctx.options.dtype === 'f16' ? 'F16' : ctx.options.dtype === 'bf16' ? 'BF16' : 'F32';
  const tensors: OutTensor[] = [];
  for (const l of ctx.source.linears) {
    const a = ctx.source.adapters.get(l.name)!;
    if (a.rank === 0) continue;
    tensors.push({ name: `${PEFT_PREFIX}${l.name}.lora_A.weight`, dtype, shape: [a.rank, l.in], data: () => a.A });
    tensors.push({ name: `${PEFT_PREFIX}${l.name}.lora_B.weight`, dtype, shape: [l.out, a.rank], data: () => a.B });
  }
  return tensors;
}

/** adapter_config.json + adapter_model.safetensors into `dir`, naming `basePath` as the base model. Returns export.json facts. */
export function writeAdapter(ctx: FormatContext, dir: string, basePath: string): Record<string, unknown> {
  const { source } = ctx;
  const ranks = new Map(source.linears.map((l) => [l.name, source.adapters.get(l.name)!.rank]));
  const kindOf = new Map(source.linears.map((l) => [l.name, l.kind as string]));
  const config = peftConfig(ranks, (name) => kindOf.get(name)!, basePath);
  const tensors = adapterTensors(ctx);
  writeSafetensorsFile(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' }, (name) => ctx.step(name));
  writeJsonFile(join(dir, 'adapter_config.json'), config);
  ctx.step('adapter_config.json');
  return { r: config.r, per_linear_ranks: Object.keys(config.rank_pattern).length > 0, adapted_linears: tensors.length / 2, adapter_dtype: tensors[0]?.dtype };
}

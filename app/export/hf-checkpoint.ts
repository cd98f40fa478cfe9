// A Hugging Face checkpoint folder built from the run's source model with some linears
// replaced: config.json (torch_dtype set to the written dtype), generation_config.json and the
// tokenizer files copied as they are, the weights as model.safetensors or shards + index.
// Tied embeddings stay tied: only model.embed_tokens.weight is written, as the source does.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../model/types.js';
import { writeCheckpointWeights, writeJsonFile, type OutTensor } from './safetensors-out.js';
import { DEFAULT_SHARD_BYTES, type FloatDtype, type FormatContext } from './types.js';

/** Copied when present (tokenizer and generation settings; the weights and config are rewritten). */
export const SIDE_FILES = ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt', 'added_tokens.json'];

const TORCH_DTYPE: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

/** The source's config.json with the written dtype (and no quantization_config: these weights are plain). */
export function checkpointConfig(model: Model, dtype: FloatDtype): Record<string, unknown> {
  if (model.format !== 'huggingface') throw new Error(`${model.path}: checkpoint exports need a Hugging Face source model (this run used a ${model.format} checkpoint)`);
  const config = JSON.parse(readFileSync(join(model.path, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete config.quantization_config;
  config.torch_dtype = TORCH_DTYPE[dtype];
  if ('dtype' in config) config.dtype = TORCH_DTYPE[dtype];
  return config;
}

/**
 * Writes the checkpoint: every source tensor (minus lm_head when tied), `replace(name)` giving
 * the new float32 data for the replaced ones (null: keep the source's). Returns the weight files.
 */
export function writeHfCheckpoint(ctx: FormatContext, dir: string, dtype: FloatDtype, replace: (name: string) => Float32Array | null, extraSteps = 0): string[] {
  const { model } = ctx;
  const config = checkpointConfig(model, dtype);
  const names = [...model.tensors.keys()].filter((n) => !(model.config.tie_word_embeddings && n === 'lm_head.weight'));
  const tensors: OutTensor[] = names.map((name) => ({
    name,
    dtype,
    shape: model.tensors.get(name)!.shape,
    data: () => replace(name) ?? model.readTensor(name),
  }));
  ctx.begin(tensors.length + 1 + extraSteps);
  const files = writeCheckpointWeights(dir, tensors, ctx.options.shardBytes ?? DEFAULT_SHARD_BYTES, (name) => ctx.step(name));
  writeJsonFile(join(dir, 'config.json'), config);
  for (const file of SIDE_FILES) if (existsSync(join(model.path, file))) copyFileSync(join(model.path, file), join(dir, file));
  ctx.step('config and tokenizer');
  return files;
}

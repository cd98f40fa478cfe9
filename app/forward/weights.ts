// Which checkpoint tensor feeds which graph input, with the sizes the config implies.
// A tensor whose length disagrees with the config is a ModelError naming the tensor, so a
// bad checkpoint fails here instead of inside onnxruntime with a shape error.
import { ModelError, type Model } from '../model/types.js';
import { kvWidth, qWidth, type BlockShape, type HeadShape } from './shape.js';

/** Block graph input name → HF tensor name (without the `model.layers.N.` prefix) and dims. */
export function blockTensorSpecs(s: BlockShape): { input: string; tensor: string; dims: number[] }[] {
  const { hidden: d, intermediate: I } = s;
  const specs = [
    { input: 'attn_norm', tensor: 'input_layernorm.weight', dims: [d] },
    { input: 'q_proj', tensor: 'self_attn.q_proj.weight', dims: [qWidth(s), d] },
    { input: 'k_proj', tensor: 'self_attn.k_proj.weight', dims: [kvWidth(s), d] },
    { input: 'v_proj', tensor: 'self_attn.v_proj.weight', dims: [kvWidth(s), d] },
    { input: 'o_proj', tensor: 'self_attn.o_proj.weight', dims: [d, qWidth(s)] },
    { input: 'mlp_norm', tensor: 'post_attention_layernorm.weight', dims: [d] },
    { input: 'gate_proj', tensor: 'mlp.gate_proj.weight', dims: [I, d] },
    { input: 'up_proj', tensor: 'mlp.up_proj.weight', dims: [I, d] },
    { input: 'down_proj', tensor: 'mlp.down_proj.weight', dims: [d, I] },
  ];
  if (s.bias) {
    specs.push(
      { input: 'q_bias', tensor: 'self_attn.q_proj.bias', dims: [qWidth(s)] },
      { input: 'k_bias', tensor: 'self_attn.k_proj.bias', dims: [kvWidth(s)] },
      { input: 'v_bias', tensor: 'self_attn.v_proj.bias', dims: [kvWidth(s)] },
    );
  }
  if (s.qkNorm) {
    specs.push(
      { input: 'q_norm', tensor: 'self_attn.q_norm.weight', dims: [s.headDim] },
      { input: 'k_norm', tensor: 'self_attn.k_norm.weight', dims: [s.headDim] },
    );
  }
  return specs;
}

export const layerPrefix = (layer: number) => `model.layers.${layer}.`;

/** Head graph inputs: the final norm and lm_head (the embedding matrix when tied). */
export function headTensorSpecs(s: HeadShape, tied: boolean): { input: string; tensor: string; dims: number[] }[] {
  return [
    { input: 'norm', tensor: 'model.norm.weight', dims: [s.hidden] },
    { input: 'lm_head', tensor: tied ? 'model.embed_tokens.weight' : 'lm_head.weight', dims: [s.vocab, s.hidden] },
  ];
}

/** Reads a tensor (into `into` where the reader can: Model.readTensor) and checks its length against the dims the config implies. */
export function readChecked(model: Model, name: string, dims: readonly number[], into?: Float32Array): Float32Array {
  const info = model.tensors.get(name);
  if (!info) throw new ModelError(model.path, `the tensor ${name} is missing (the config needs it, shape [${dims.join(', ')}])`);
  const data = model.readTensor(name, into);
  checkLength(model.path, name, data, dims);
  return data;
}

export function checkLength(file: string, name: string, data: Float32Array, dims: readonly number[]): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new ModelError(file, `${name} has ${data.length} values, but the config implies [${dims.join(', ')}] = ${expected}`);
  }
}

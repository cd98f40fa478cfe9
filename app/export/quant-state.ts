// The exact quantized state of a compressed linear (integer codes, scales, zero points,
// act-order g_idx) as the tensors a compress checkpoint and the run's quantized.safetensors
// hold (F32 here; app/run/files/quantized.ts writes codes as U8 and g_idx as I32 and reads
// them back one linear at a time for the exports).
import type { CompressResult } from '../compress/types.js';
import type { TensorToWrite } from '../run/safetensors-writer.js';

const SUFFIXES = ['.qcodes', '.qscales', '.qzeros', '.g_idx', '.qconfig'] as const;

/** Whether a checkpoint tensor name belongs to the quantized state (and not to W_c or C). */
export function isQuantTensor(name: string): boolean {
  return SUFFIXES.some((s) => name.endsWith(s));
}

/** The tensors storing `result.quant` for linear `name` (`model.layers.0.self_attn.q_proj`), as F32; none when not quantized. */
export function quantTensors(name: string, result: CompressResult): TensorToWrite[] {
  const q = result.quant;
  if (!q) return [];
  const groups = q.scales.length / result.out;
  const tensors: TensorToWrite[] = [
    { name: `${name}.qcodes`, dtype: 'F32', shape: [result.out, result.in], data: Float32Array.from(q.codes) },
    { name: `${name}.qscales`, dtype: 'F32', shape: [result.out, groups], data: q.scales },
    { name: `${name}.qzeros`, dtype: 'F32', shape: [result.out, groups], data: q.zeros },
    { name: `${name}.qconfig`, dtype: 'F32', shape: [3], data: Float32Array.of(q.bits, q.groupSize, q.sym ? 1 : 0) },
  ];
  if (q.gIdx) tensors.push({ name: `${name}.g_idx`, dtype: 'F32', shape: [result.in], data: Float32Array.from(q.gIdx) });
  return tensors;
}

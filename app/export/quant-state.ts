// The exact quantized representation of each linear (integer codes, scales, zero points,
// act-order g_idx), kept in the run next to W_c so exports can write the codes the solver
// chose instead of guessing a grid from W_c (GPTQ fits a group's grid before the group's own
// updates, so its extremes are not recoverable from the dequantized values).
//
//   quantized.safetensors   per linear `<linear>.qcodes` [out, in], `<linear>.qscales` and
//                           `<linear>.qzeros` [out, groups], `<linear>.g_idx` [in] (act-order only),
//                           `<linear>.qconfig` [3] = [bits, group_size (−1: per row), sym 0/1]
//
// Everything is F32 (the run's writer knows F32/F64; codes < 256, g_idx < 2^24 are exact),
// so the file is a plain safetensors file numpy can open. Written by pipeline/compress.ts
// (runs made before it have no such file: formats needing codes then say so).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CompressResult, QuantState } from '../compress/types.js';
import { TensorFile, type TensorToWrite } from '../run/safetensors-writer.js';

export const QUANT_FILE = 'quantized.safetensors';

const SUFFIXES = ['.qcodes', '.qscales', '.qzeros', '.g_idx', '.qconfig'] as const;

/** Whether a checkpoint tensor name belongs to the quantized state (and not to W_c or C). */
export function isQuantTensor(name: string): boolean {
  return SUFFIXES.some((s) => name.endsWith(s));
}

/** The tensors storing `result.quant` for linear `name` (`model.layers.0.self_attn.q_proj`); none when not quantized. */
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

/** The run's stored quantized state per linear name, or null when the run has none (not quantized, or made before codes were kept). */
export function readQuantStates(runDir: string): Map<string, QuantState> | null {
  const path = join(runDir, QUANT_FILE);
  if (!existsSync(path)) return null;
  const file = TensorFile.open(path);
  try {
    const states = new Map<string, QuantState>();
    for (const key of file.file.tensors.keys()) {
      if (!key.endsWith('.qconfig')) continue;
      const name = key.slice(0, -'.qconfig'.length);
      const [bits, groupSize, sym] = file.f32(key);
      const state: QuantState = {
        bits,
        groupSize,
        sym: sym === 1,
        codes: Uint8Array.from(file.f32(`${name}.qcodes`)),
        scales: file.f32(`${name}.qscales`),
        zeros: file.f32(`${name}.qzeros`),
      };
      if (file.has(`${name}.g_idx`)) state.gIdx = Int32Array.from(file.f32(`${name}.g_idx`));
      states.set(name, state);
    }
    return states;
  } finally {
    file.close();
  }
}

// A GPTQ checkpoint of the bundled model for reader tests, made without a run: every linear
// RTN-quantized, packed with gptq-pack.ts, the rest copied; `edit` may drop or replace tensors
// and config fields to make broken checkpoints.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rtn } from '../../compress/rtn.js';
import type { CompressResult } from '../../compress/types.js';
import { linears } from '../../model/inspect.js';
import { bundledModelPath, openModel } from '../../model/open.js';
import { chooseFormat, packLinear } from '../gptq-pack.js';
import { SIDE_FILES } from '../hf-checkpoint.js';
import { writeSafetensorsFile, type OutTensor } from '../safetensors-out.js';

export interface GptqFixtureOptions {
  bits?: number;
  groupSize?: number;
  quantizeConfig?: Record<string, unknown>;
  edit?: (tensors: OutTensor[]) => OutTensor[];
}

/** Writes the checkpoint into `dir`; returns each linear's RTN result (the expected codes and W_c). */
export async function writeGptqFixture(dir: string, options: GptqFixtureOptions = {}): Promise<Map<string, CompressResult>> {
  const bits = options.bits ?? 4;
  const groupSize = options.groupSize ?? 32;
  const model = await openModel();
  try {
    const results = new Map<string, CompressResult>();
    for (const l of linears(model)) results.set(l.name, rtn({ w: model.readTensor(`${l.name}.weight`), out: l.out, in: l.in }, { bits, groupSize, sym: false }));
    const format = chooseFormat([...results.values()].map((r) => r.quant!.zeros));
    let tensors: OutTensor[] = [];
    const linearWeights = new Set([...results.keys()].map((n) => `${n}.weight`));
    for (const name of model.tensors.keys()) {
      if (linearWeights.has(name) || name === 'lm_head.weight') continue;
      tensors.push({ name, dtype: 'F16', shape: model.tensors.get(name)!.shape, data: () => model.readTensor(name) });
    }
    for (const l of linears(model)) {
      const p = packLinear(results.get(l.name)!.quant!, l.out, l.in, format);
      tensors.push({ name: `${l.name}.qweight`, dtype: 'I32', shape: [(l.in * bits) / 32, l.out], data: () => p.qweight });
      tensors.push({ name: `${l.name}.qzeros`, dtype: 'I32', shape: [p.groups, (l.out * bits) / 32], data: () => p.qzeros });
      tensors.push({ name: `${l.name}.scales`, dtype: 'F32', shape: [p.groups, l.out], data: () => p.scales });
      tensors.push({ name: `${l.name}.g_idx`, dtype: 'I32', shape: [l.in], data: () => p.gIdx });
    }
    if (options.edit) tensors = options.edit(tensors);
    writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
    for (const f of SIDE_FILES) {
      try {
        copyFileSync(join(bundledModelPath(), f), join(dir, f));
      } catch {
        // not every side file exists
      }
    }
    copyFileSync(join(bundledModelPath(), 'config.json'), join(dir, 'config.json'));
    const qc = { bits, group_size: groupSize, desc_act: false, sym: false, quant_method: 'gptq', checkpoint_format: format, ...options.quantizeConfig };
    writeFileSync(join(dir, 'quantize_config.json'), JSON.stringify(qc));
    return results;
  } finally {
    model.close();
  }
}

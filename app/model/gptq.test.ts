// The GPTQ checkpoint reader on checkpoints generated from the bundled model
// (app/export/testing/gptq-checkpoint.ts): opened through openModel, linears read back as the
// exact RTN codes and W_c; broken checkpoints give errors naming the file and the problem.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeGptqFixture } from '../export/testing/gptq-checkpoint.js';
import { isGptqCheckpoint, type GptqModel } from './gptq.js';
import { linears } from './inspect.js';
import { openModel } from './open.js';

const root = mkdtempSync(join(tmpdir(), 'eora-gptq-reader-'));
let n = 0;
const fresh = () => {
  const dir = join(root, String(n++));
  mkdirSync(dir);
  return dir;
};

describe('GPTQ checkpoint reader', () => {
  for (const bits of [4, 3]) {
    it(`${bits}-bit: openModel recognises it; codes and W_c are the quantizer's`, async () => {
      const dir = fresh();
      const expected = await writeGptqFixture(dir, { bits });
      expect(isGptqCheckpoint(dir)).toBe(true);
      const model = (await openModel(dir)) as GptqModel;
      try {
        expect(model.gptq).toMatchObject({ bits, group_size: 32, desc_act: false, sym: false });
        expect(model.tensors.get('model.layers.0.mlp.down_proj.weight')).toMatchObject({ shape: [128, 384] });
        for (const l of linears(model)) {
          const r = expected.get(l.name)!;
          expect(Array.from(model.quantized(l.name).codes)).toEqual(Array.from(r.quant!.codes));
          expect(Array.from(model.readTensor(`${l.name}.weight`))).toEqual(Array.from(r.wc));
        }
        expect(model.readTensor('lm_head.weight').length).toBe(2048 * 128); // tied: the embedding
      } finally {
        model.close();
      }
    });
  }

  it('a missing packed tensor names the tensor and why', async () => {
    const dir = fresh();
    await writeGptqFixture(dir, { edit: (ts) => ts.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.qzeros') });
    await expect(openModel(dir)).rejects.toThrow(/model\.layers\.1\.mlp\.up_proj\.qzeros is missing \(a GPTQ checkpoint stores every linear packed\)/);
  });

  it('a wrong shape or dtype names the file, the tensor and what was expected', async () => {
    const dir = fresh();
    await writeGptqFixture(dir, { edit: (ts) => ts.map((t) => (t.name === 'model.layers.0.self_attn.q_proj.qweight' ? { ...t, dtype: 'F32' as const, data: () => new Float32Array(16 * 128) } : t)) });
    await expect(openModel(dir)).rejects.toThrow(/model\.safetensors: tensor model\.layers\.0\.self_attn\.q_proj\.qweight has dtype F32, expected I32/);
    const dir2 = fresh();
    await writeGptqFixture(dir2, { quantizeConfig: { group_size: 64 } });
    await expect(openModel(dir2)).rejects.toThrow(/qzeros has shape \[4,16\], expected \[2,16\] for 4-bit \[128, 128\] with group size 64/);
  });

  it('a g_idx entry outside [0, groups) names the tensor and the entry (instead of reading the scale of another row)', async () => {
    const dir = fresh();
    const name = 'model.layers.0.self_attn.q_proj.g_idx';
    await writeGptqFixture(dir, {
      edit: (ts) =>
        ts.map((t) => {
          if (t.name !== name) return t;
          const gIdx = Int32Array.from(t.data() as Int32Array);
          gIdx[9] = 7; // 128 columns in groups of 32: valid indices are 0..3
          return { ...t, data: () => gIdx };
        }),
    });
    const model = (await openModel(dir)) as GptqModel;
    try {
      expect(() => model.quantized('model.layers.0.self_attn.q_proj')).toThrow(/model\.safetensors: tensor model\.layers\.0\.self_attn\.q_proj\.g_idx\[9\] = 7 is not a group index in \[0, 4\)/);
    } finally {
      model.close();
    }
  });

  it('unsupported settings in quantize_config.json are named', async () => {
    const dir = fresh();
    await writeGptqFixture(dir, { quantizeConfig: { bits: 5 } });
    await expect(openModel(dir)).rejects.toThrow(/quantize_config\.json: bits must be 2, 3, 4 or 8, got 5/);
    const dir2 = fresh();
    await writeGptqFixture(dir2, { quantizeConfig: { checkpoint_format: 'marlin' } });
    await expect(openModel(dir2)).rejects.toThrow(/checkpoint_format "marlin" is not supported/);
  });
});

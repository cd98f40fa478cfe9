import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '../linalg/random.js';
import { SafetensorsFile } from '../model/safetensors.js';
import { TensorFile, writeSafetensors } from './safetensors-writer.js';

describe('safetensors writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eora-st-'));

  it('round-trips F32 and F64 tensors and metadata through SafetensorsFile', () => {
    const random = rng(42);
    const w = Float32Array.from({ length: 3 * 5 }, () => random.normal()); // [3, 5]
    const c = Float64Array.from({ length: 4 * 4 }, () => random.normal() * 1e-3 + 1e12); // needs float64
    const path = join(dir, 'a.safetensors');
    writeSafetensors(path, [
      { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'F32', shape: [3, 5], data: w },
      { name: 'model.layers.0.attn_in', dtype: 'F64', shape: [4, 4], data: c },
      { name: 'empty', dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
    ], { 'model.layers.0.attn_in.tokens': '1024' });

    const file = SafetensorsFile.open(path);
    expect(file.metadata).toEqual({ 'model.layers.0.attn_in.tokens': '1024' });
    expect(file.tensors.get('model.layers.0.self_attn.q_proj.weight')).toMatchObject({ dtype: 'F32', shape: [3, 5] });
    expect(file.read('model.layers.0.self_attn.q_proj.weight')).toEqual(w);
    expect(file.tensors.get('model.layers.0.attn_in')).toMatchObject({ dtype: 'F64', shape: [4, 4], byteLength: 128 });
    expect(() => file.read('model.layers.0.attn_in')).toThrow(/only F32, F16 and BF16/); // the model reader refuses F64 …
    file.close();
    const run = TensorFile.open(path); // … so the run's reader reads F64 from the validated header offsets
    expect(run.f64('model.layers.0.attn_in')).toEqual(c);
    expect(run.f64('model.layers.0.self_attn.q_proj.weight')).toEqual(Float64Array.from(w));
    expect(run.shape('empty')).toEqual([0, 5]);
    run.close();

    // Header length is a multiple of 8 (aligned data); no temp files left behind.
    const bytes = readFileSync(path);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses mismatched shapes and duplicate names', () => {
    expect(() => writeSafetensors(join(dir, 'b.safetensors'), [{ name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }])).toThrow('x has 3 values, shape [2, 2] needs 4');
    const t = { name: 'x', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    expect(() => writeSafetensors(join(dir, 'c.safetensors'), [t, t])).toThrow('duplicate');
  });
});

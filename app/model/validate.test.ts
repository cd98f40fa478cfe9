// Hostile checkpoints written by the test: NaN/Inf weights and an absurd layer count fail
// with an error naming the tensor or the config field, before any result is reported.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/testing/run.js';
import { openModel } from './open.js';
import { copyModel, tempDir, TINY_DIR } from './testing/fixtures.js';
import { countNonFinite } from './validate.js';

const temp = tempDir('eora-validate-');
afterAll(() => temp.cleanup());

/** Overwrites `values` at the start of tensor `name` in dir/model.safetensors (F32 only). */
function poison(dir: string, name: string, values: number[]): void {
  const file = join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const start = 8 + headerLength + header[name]!.data_offsets[0];
  values.forEach((v, i) => bytes.writeFloatLE(v, start + 4 * i));
  writeFileSync(file, bytes);
}

describe('countNonFinite', () => {
  it('equals the count by Number.isFinite on random arrays with NaN and ±Inf planted', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const values = new Float32Array(1 + Math.floor(random() * 300)).map(() => (random() - 0.5) * 1e38 * 6);
      for (let k = Math.floor(random() * 5); k > 0; k--) values[Math.floor(random() * values.length)] = [NaN, Infinity, -Infinity][k % 3]!;
      const reference = Array.from(values).filter((v) => !Number.isFinite(v)).length;
      expect(countNonFinite(values)).toBe(reference);
    }
    expect(countNonFinite(new Float32Array([3.4e38, -3.4e38, 0, -0, 1e-45]))).toBe(0);
  });
});

describe('non-finite weights', () => {
  const norm = 'model.layers.1.post_attention_layernorm.weight'; // outside the linears
  const linear = 'model.layers.0.self_attn.k_proj.weight';

  it('eora ppl fails (exit 1) naming the tensor and the count, never prints a NaN perplexity', async () => {
    const model = copyModel(TINY_DIR, temp.dir, 'nan-norm');
    poison(model, norm, [NaN, NaN, Infinity]);
    const { code, stdout, stderr } = await runCli(['ppl', model, '--seq-len', '32', '--max-tokens', '64']);
    expect(code).toBe(1);
    expect(stdout).not.toMatch(/perplexity NaN/);
    expect(stderr).toContain(`tensor ${norm} has 3 non-finite values`);
    expect(stderr).toContain(model);
  });

  it('eora compress fails naming the tensor inside a linear, and outside the linears', async () => {
    for (const [name, tensor] of [['nan-linear', linear], ['nan-norm2', norm]] as const) {
      const model = copyModel(TINY_DIR, temp.dir, name);
      poison(model, tensor, [-Infinity]);
      const out = join(temp.dir, `${name}-run`);
      const { code, stderr } = await runCli(['compress', model, '--quant', 'rtn:w4g32', '--samples', '2', '--seq-len', '32', '--eval-tokens', '0', '--out', out]);
      expect(code, name).toBe(1);
      expect(stderr, name).toContain(`tensor ${tensor} has 1 non-finite value`);
    }
  });
});

describe('unbounded text inputs', () => {
  it('eora ppl --text /dev/zero fails at once naming the file (exit 1)', async () => {
    const { code, stderr } = await runCli(['ppl', '--text', '/dev/zero']);
    expect(code).toBe(1);
    expect(stderr).toContain('/dev/zero: is a device, not a regular text file');
  });
});

describe('absurd config sizes', () => {
  for (const layers of [1e9, 3e6, 3]) {
    it(`num_hidden_layers ${layers} is refused against the tensor index before anything is built`, async () => {
      const model = copyModel(TINY_DIR, temp.dir, `layers-${layers}`);
      const configFile = join(model, 'config.json');
      writeFileSync(configFile, JSON.stringify({ ...JSON.parse(readFileSync(configFile, 'utf8')), num_hidden_layers: layers }));
      await expect(openModel(model)).rejects.toThrow(`config.json sets num_hidden_layers ${layers} but the weights hold tensors for 2 layers`);
    });
  }
});

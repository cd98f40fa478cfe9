import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { linears, linearStats, summarizeModel, weightHistogram } from './inspect.js';
import { bundledModelPath, openModel, resourcesPath } from './open.js';
import { asyncErrorOf, errorOf, f32At, STORIES260K_BIN, STORIES260K_DIR, tempDir, TINY_DIR, TOK512 } from './testing/fixtures.js';

const tmp = tempDir('eora-open-');
afterAll(tmp.cleanup);
const NOT_A_MODEL = 'not a model: expected a Hugging Face directory with config.json or a llama2.c .bin file';

describe('openModel', () => {
  test('bundled paths resolve to the package resources', () => {
    expect(bundledModelPath()).toBe(TINY_DIR);
    expect(bundledModelPath().endsWith(join('resources', 'models', 'tinystories-656k'))).toBe(true);
    expect(existsSync(join(bundledModelPath(), 'config.json'))).toBe(true);
    expect(existsSync(resourcesPath('data', 'tinystories', 'validation.txt'))).toBe(true);
    expect(existsSync(resourcesPath('models', 'stories260k', 'SOURCE.md'))).toBe(true);
  });

  test('dispatches on what is on disk', async () => {
    const bundled = await openModel();
    expect([bundled.format, bundled.path]).toEqual(['huggingface', TINY_DIR]);
    bundled.close();
    const bin = await openModel(STORIES260K_BIN);
    expect([bin.format, bin.path]).toEqual(['llama2c', STORIES260K_BIN]);
    bin.close();
    const folder = await openModel(STORIES260K_DIR);
    expect([folder.format, folder.path]).toEqual(['llama2c', STORIES260K_BIN]);
    folder.close();
  });

  test('refuses what is not a model', async () => {
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect((await asyncErrorOf(() => openModel(empty))).message).toBe(`${empty}: ${NOT_A_MODEL}`);
    writeFileSync(join(tmp.dir, 'notes.txt'), 'hello');
    expect((await asyncErrorOf(() => openModel(join(tmp.dir, 'notes.txt')))).message).toBe(`${join(tmp.dir, 'notes.txt')}: ${NOT_A_MODEL}`);
    expect((await asyncErrorOf(() => openModel(join(tmp.dir, 'absent')))).message).toBe(`${join(tmp.dir, 'absent')}: no such file or directory`);
    const two = join(tmp.dir, 'two');
    mkdirSync(two);
    for (const name of ['a.bin', 'b.bin']) copyFileSync(STORIES260K_BIN, join(two, name));
    copyFileSync(TOK512, join(two, 'tok512.bin'));
    expect((await asyncErrorOf(() => openModel(two))).message).toBe(`${two}: ${NOT_A_MODEL} (found several .bin files: a.bin, b.bin; open one of them)`);
  });
});

describe('inspect', () => {
  test('linears: 7 per layer in q, k, v, o, gate, up, down order with [out, in]', async () => {
    const model = await openModel();
    const all = linears(model);
    expect(all).toHaveLength(14);
    expect(all.slice(0, 7).map((l) => [l.name, l.kind, l.out, l.in])).toEqual([
      ['model.layers.0.self_attn.q_proj', 'q_proj', 128, 128],
      ['model.layers.0.self_attn.k_proj', 'k_proj', 64, 128],
      ['model.layers.0.self_attn.v_proj', 'v_proj', 64, 128],
      ['model.layers.0.self_attn.o_proj', 'o_proj', 128, 128],
      ['model.layers.0.mlp.gate_proj', 'gate_proj', 384, 128],
      ['model.layers.0.mlp.up_proj', 'up_proj', 384, 128],
      ['model.layers.0.mlp.down_proj', 'down_proj', 128, 384],
    ]);
    expect(all.map((l) => l.layer)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    const summary = summarizeModel(model);
    expect(summary).toMatchObject({ format: 'huggingface', architecture: 'LlamaForCausalLM', num_layers: 2, head_dim: 16, dtype: 'F32', parameters: 656_000, tokenizer_vocab_size: 2048 });
    expect(summary.linears[6]).toEqual({ ...all[6], params: 128 * 384 });
    model.close();
  });

  test('linearStats match a float64 computation from the raw bytes', async () => {
    const model = await openModel();
    const raw = new Uint8Array(readFileSync(join(TINY_DIR, 'model.safetensors')));
    const headerLength = Number(new DataView(raw.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + headerLength)));
    const begin = 8 + headerLength + header['model.layers.1.self_attn.v_proj.weight'].data_offsets[0];
    const w = Array.from({ length: 64 * 128 }, (_, i) => f32At(raw, begin + 4 * i));
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const stats = linearStats(model, 'model.layers.1.self_attn.v_proj');
    expect(stats).toMatchObject({ name: 'model.layers.1.self_attn.v_proj', out: 64, in: 128, params: 8192 });
    expect(stats.frobenius).toBeCloseTo(Math.sqrt(w.reduce((a, b) => a + b * b, 0)), 9);
    expect(stats.max_abs).toBe(Math.max(...w.map(Math.abs)));
    expect(stats.mean).toBeCloseTo(mean, 12);
    expect(stats.std).toBeCloseTo(Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length), 12);
    expect(linearStats(model, 'model.layers.1.self_attn.v_proj.weight').frobenius).toBe(stats.frobenius);
    model.close();
  });

  test('weightHistogram: edges span [min, max], counts cover every weight', async () => {
    const model = await openModel(STORIES260K_BIN);
    const name = 'model.layers.2.mlp.up_proj';
    const w = model.readTensor(`${name}.weight`);
    const h = weightHistogram(model, name, 7);
    expect(h.bins).toBe(7);
    expect(h.edges).toHaveLength(8);
    expect([h.edges[0], h.edges[7]]).toEqual([h.min, h.max]);
    expect(h.min).toBe(w.reduce((a, b) => Math.min(a, b)));
    expect(h.max).toBe(w.reduce((a, b) => Math.max(a, b)));
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(172 * 64);
    const inFirst = w.filter((x) => x < h.edges[1]).length;
    expect(h.counts[0]).toBe(inFirst);
    expect(weightHistogram(model, name, 1).counts).toEqual([172 * 64]);
    model.close();
  });

  test('bad names and bin counts are refused clearly', async () => {
    const model = await openModel();
    expect(errorOf(() => linearStats(model, 'model.layers.9.mlp.up_proj')).message).toBe(
      'tinystories-656k: has no linear module named "model.layers.9.mlp.up_proj"; names look like model.layers.0.self_attn.q_proj (this model has 14)',
    );
    expect(() => weightHistogram(model, 'model.layers.0.mlp.up_proj', 0)).toThrow(new RangeError('bins must be an integer from 1 to 1000, got 0'));
    expect(() => weightHistogram(model, 'model.layers.0.mlp.up_proj', 1001)).toThrow(RangeError);
    expect(() => weightHistogram(model, 'model.layers.0.mlp.up_proj', 2.5)).toThrow('bins must be an integer from 1 to 1000, got 2.5');
    expect(errorOf(() => weightHistogram(model, 'lm_head', 10)).message).toMatch(/^tinystories-656k: has no linear module named "lm_head"/);
    model.close();
  });
});

describe('a llama2.c folder with only its tokenizer (stories15m before provisioning)', () => {
  test('names the command that provisions the weights', async () => {
    const { dir, cleanup } = tempDir();
    try {
      copyFileSync(resourcesPath('models', 'stories15m', 'tokenizer.bin'), join(dir, 'tokenizer.bin'));
      const error = await asyncErrorOf(() => openModel(dir));
      expect(error.message).toBe(`${dir}: has tokenizer.bin but no checkpoint .bin; for the bundled stories15m run \`node scripts/stories15m.mjs\` (\`npm ci\` runs it), see SOURCE.md`);
    } finally {
      cleanup();
    }
  });
});

// --modules on `eora compensate` and `eora run`: the spec parses to the experiment file's
// compensation.modules, and the adapters then sit on exactly the chosen linears at their ranks.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODULE_PRESETS, ranksFor, type ModuleSelection } from '../contract/modules.js';
import { modulesOption } from './args.js';
import { runCli } from './testing/run.js';

const parse = (spec: string) => modulesOption({ values: { modules: spec }, positionals: [] });

describe('--modules SPEC', () => {
  it('reads presets and include / exclude / rank_pattern parts', () => {
    expect(parse('mlp')).toEqual(MODULE_PRESETS.mlp);
    expect(parse(' include=*.mlp.*, *.self_attn.q_proj ; exclude=model.layers.0.*;rank_pattern=down_proj:16,model.layers.1.*:0 ')).toEqual({
      include: ['*.mlp.*', '*.self_attn.q_proj'],
      exclude: ['model.layers.0.*'],
      rank_pattern: { down_proj: 16, 'model.layers.1.*': 0 },
    });
    expect(modulesOption({ values: {}, positionals: [] })).toBeUndefined();
  });

  it('round-trips any selection written back as a spec (property, random selections)', () => {
    const pool = ['*.mlp.*', 'q_proj', 'model.layers.?.self_attn.*', 'down_proj', 'model.layers.1.*'];
    let seed = 7;
    const pick = () => pool.filter(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) & 4) !== 0);
    for (let trial = 0; trial < 40; trial++) {
      const selection: ModuleSelection = {};
      const [include, exclude, ranked] = [pick(), pick(), pick()];
      if (include.length) selection.include = include;
      if (exclude.length) selection.exclude = exclude;
      if (ranked.length) selection.rank_pattern = Object.fromEntries(ranked.map((p, i) => [p, (trial + i) % 5]));
      if (!Object.keys(selection).length) continue;
      const spec = [
        selection.include && `include=${selection.include.join(',')}`,
        selection.exclude && `exclude=${selection.exclude.join(',')}`,
        selection.rank_pattern && `rank_pattern=${Object.entries(selection.rank_pattern).map(([p, r]) => `${p}:${r}`).join(',')}`,
      ].filter(Boolean).join(';');
      expect(parse(spec), spec).toEqual(selection);
    }
  });

  it('names what is wrong', () => {
    const wrong = (spec: string) => () => parse(spec);
    expect(wrong('layers=0-3')).toThrow('--modules: "layers=0-3" is not include=…, exclude=… or rank_pattern=… (nor a preset: all, attention, mlp)');
    expect(wrong('include=')).toThrow('--modules: include needs a comma-separated list without empty entries, got "include="');
    expect(wrong('include=a,,b')).toThrow('without empty entries');
    expect(wrong('exclude')).toThrow('exclude needs a comma-separated list');
    expect(wrong('include=a;include=b')).toThrow('--modules: include is given twice');
    expect(wrong('rank_pattern=down_proj')).toThrow('rank_pattern entry "down_proj" is not GLOB:RANK');
    expect(wrong('rank_pattern=down_proj:-1')).toThrow('rank_pattern entry "down_proj:-1" is not GLOB:RANK');
    expect(wrong(' ; ')).toThrow('--modules: empty selection');
  });
});

describe('--modules end to end on the bundled model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eora-cli-modules-'));
  const spec = 'include=*.mlp.*;exclude=model.layers.0.*;rank_pattern=down_proj:2';
  const selection = parse(spec)!;
  /** Σ r_l·(in_l + out_l) over the linears, with the ranks the selection gives at uniform rank r. */
  async function expectedParams(r: number): Promise<number> {
    const linears: { name: string; in: number; out: number }[] = JSON.parse((await runCli(['inspect', '--json'])).stdout).linears;
    const ranks = ranksFor(linears.map((l) => l.name), selection, r);
    return linears.reduce((sum, l) => sum + ranks[l.name]! * (l.in + l.out), 0);
  }

  it('eora compensate --modules puts adapters only on the chosen linears, at rank_pattern’s ranks', async () => {
    const out = join(dir, 'run');
    expect((await runCli(['compress', '--quant', 'rtn:w4g32', '--samples', '4', '--seq-len', '32', '--eval-tokens', '0', '--out', out, '--json'])).code).toBe(0);
    const e = await runCli(['compensate', out, '--method', 'eora', '--ranks', '4', '--eval-tokens', '0', '--modules', spec, '--json']);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const params = await expectedParams(4);
    expect(params).toBe(10 * (128 + 384)); // by hand: layer 1's gate and up at rank 4, down at 2; each in + out = 128 + 384
    expect(JSON.parse(e.stdout).ranks[0].adapter_params).toBe(params);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).records.compensate.modules).toEqual(selection);

    const typo = await runCli(['compensate', out, '--method', 'eora', '--ranks', '4', '--eval-tokens', '0', '--modules', 'include=*.mlpx.*']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('compensation.modules.include: "*.mlpx.*" matches no linear of the model');
    expect((await runCli(['compensate', out, '--modules', 'layers=0'])).code).toBe(2);
  });

  it('eora run --modules overrides the file’s compensation.modules', async () => {
    const file = join(dir, 'tiny.json');
    const experiment = {
      name: 'modules override',
      calibration: { samples: 4, seq_len: 32, seed: 0 },
      compression: { quant: 'rtn:w4g32' },
      compensation: { methods: ['eora'], ranks: [4], modules: { include: ['*.self_attn.*'] } },
      evaluation: { perplexity: [{ name: 'tinystories', tokens: 256 }], tasks: [], generation: { prompts: [] } },
    };
    writeFileSync(file, JSON.stringify(experiment));
    const out = join(dir, 'run-override');
    const r = await runCli(['run', file, '--out', out, '--modules', spec, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const variant = JSON.parse(r.stdout).variants.find((v: { name: string }) => v.name === 'eora-r4');
    expect(variant.adapter_params).toBe(await expectedParams(4));
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).records.compensate.modules).toEqual(selection);

    writeFileSync(file, JSON.stringify({ ...experiment, compensation: undefined }));
    const none = await runCli(['run', file, '--out', join(dir, 'none'), '--modules', 'mlp']);
    expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining(`--modules: ${file} has no compensation section to apply it to`) });
  });
});

// Experiment files: every mistake names the file, the field path, what was expected and what
// was given; unknown keys are errors; the shipped examples parse.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resourcesPath } from '../model/open.js';
import { issuesOf, parseExperiment, parseExperimentFile } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-experiment-config-'));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};
const minimal = { compression: { quant: 'gptq:w3g32' } };
const message = (value: unknown) => {
  try {
    parseExperiment(value, 'exp.json', dir);
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
};

describe('experiment config', () => {
  it('fills defaults', () => {
    const c = parseExperiment(minimal, 'exp.json', dir);
    expect(c).toMatchObject({
      device: 'cpu',
      calibration: { samples: 128, seq_len: 128, seed: 0, activations: 'sequential' },
      compression: { quant: 'gptq:w3g32', prune: 'none' },
      evaluation: { perplexity: [{ tokens: 20_000 }], tasks: [], generation: { prompts: [], max_new_tokens: 32 } },
    });
    expect(c.compensation).toBeUndefined();
    expect(parseExperiment({ ...minimal, compensation: {} }, 'exp.json').compensation).toEqual({ methods: ['svd', 'eora'], ranks: [8, 16, 32] });
  });

  it('wrong types name the field path, the expectation and the value', () => {
    expect(message({ ...minimal, compensation: { ranks: [8, '8'] } })).toBe('exp.json: compensation.ranks[1]: expected a positive integer, got "8"');
    expect(message({ ...minimal, compensation: { ranks: [0] } })).toBe('exp.json: compensation.ranks[0]: expected a positive integer, got 0');
    expect(message({ ...minimal, compensation: { methods: ['lora'] } })).toBe('exp.json: compensation.methods[0]: expected one of "svd", "eora", "scaled-svd", got "lora"');
    expect(message({ ...minimal, calibration: { samples: 12.5 } })).toBe('exp.json: calibration.samples: expected a positive integer, got 12.5');
    expect(message({ ...minimal, calibration: { activations: 'parallel' } })).toBe('exp.json: calibration.activations: expected "sequential" or "original", got "parallel"');
    expect(message({ ...minimal, compensation: { adapter_bits: 3 } })).toBe('exp.json: compensation.adapter_bits: expected 4 or 8, got 3');
    expect(message({ ...minimal, evaluation: { tasks: [{ limit: 5 }] } })).toBe('exp.json: evaluation.tasks[0]: expected "name" (a bundled task) or "path" (a task file)');
    expect(message({ ...minimal, evaluation: { generation: { prompts: 'Once' } } })).toBe('exp.json: evaluation.generation.prompts: expected a list of prompts, got "Once"');
    expect(message({})).toMatch(/^exp\.json: compression: .* \(missing\)$/);
    expect(message([1])).toBe('exp.json: expected an object with "compression" and other sections, got a list');
  });

  it('unknown keys are errors, at any depth', () => {
    expect(message({ ...minimal, compensation: { rank: [8] } })).toBe('exp.json: compensation: unknown key "rank"');
    expect(message({ ...minimal, evalution: {} })).toBe('exp.json: unknown key "evalution"');
    expect(message({ ...minimal, evaluation: { tasks: [{ name: 'arc_easy', limt: 3 }] } })).toBe('exp.json: evaluation.tasks[0]: unknown key "limt"');
  });

  it('cross-field rules and the method grammar', () => {
    expect(message({ ...minimal, compensation: { methods: ['svd'], budgets: [1000] } })).toBe('exp.json: compensation.budgets: budgets allocate ranks over EoRA curves: add "eora" to compensation.methods');
    expect(message({ ...minimal, compensation: { ranks: [8, 8] } })).toBe('exp.json: compensation.ranks: expected ranks without repeats');
    expect(message({ compression: { quant: 'gptq:w9' } })).toMatch(/^exp\.json: compression\.quant: /);
    // Texts are keyed by name, default their file's base name: the default text and another validation.txt collide.
    const otherValidation = resourcesPath('data', 'tinystories', 'validation.txt');
    expect(message({ ...minimal, evaluation: { perplexity: [{ tokens: 100 }, { file: otherValidation, tokens: 300 }] } })).toBe('exp.json: evaluation.perplexity: two texts with the same name: give each a distinct "name"');
    expect(message({ ...minimal, evaluation: { perplexity: [{ tokens: 100 }, { name: 'long', file: otherValidation, tokens: 300 }] } })).toBe('no error');
    expect(message({ compression: { quant: 'rtn:w4', prune: 'magnitude:0.5' } })).toMatch(/^exp\.json: compression\.prune: pruning and quantizing together needs prune sparsegpt/);
  });

  it('every problem at once for the UI form, one per field', () => {
    expect(issuesOf({ compression: { quant: 5 }, calibration: { seq_len: -1, seed: 'x' } })).toEqual([
      { path: 'calibration.seq_len', message: 'expected a positive integer, got -1' },
      { path: 'calibration.seed', message: 'expected an integer ≥ 0, got "x"' },
      { path: 'compression.quant', message: 'expected a quantization spec such as "gptq:w3g32" or "none", got 5' },
    ]);
    expect(issuesOf(minimal)).toEqual([]);
  });

  it('files: not found, not parseable, wrong extension — each names the file', () => {
    expect(() => parseExperimentFile(join(dir, 'missing.json'))).toThrow(`${join(dir, 'missing.json')}: `);
    expect(() => parseExperimentFile(write('broken.json', '{"compression": '))).toThrow(/^broken\.json: not valid JSON: /);
    expect(() => parseExperimentFile(write('broken.yaml', 'compression: [a\n'))).toThrow(/^broken\.yaml: not valid YAML: /);
    expect(() => parseExperimentFile(write('exp.txt', '{}'))).toThrow(/exp\.txt: expected a \.json, \.yaml or \.yml experiment file/);
    expect(() => parseExperimentFile(write('bad.yaml', 'compression:\n  quant: gptq:w3g32\ncompensation:\n  ranks: [8, "8"]\n'))).toThrow('bad.yaml: compensation.ranks[1]: expected a positive integer, got "8"');
  });

  it('relative paths resolve against the file’s folder and must exist', () => {
    write('calib.txt', 'Once upon a time.\n\nThe end.\n');
    const c = parseExperimentFile(write('rel.json', JSON.stringify({ ...minimal, calibration: { file: 'calib.txt' } })));
    expect(c.calibration.file).toBe(join(dir, 'calib.txt'));
    expect(() => parseExperimentFile(write('gone.json', JSON.stringify({ ...minimal, evaluation: { perplexity: [{ file: 'nope.txt' }] } })))).toThrow(`gone.json: evaluation.perplexity[0].file: ${join(dir, 'nope.txt')} does not exist`);
  });

  it('the shipped experiments parse', () => {
    for (const name of ['default.json', 'e2e-small.json', 'sparsegpt-2of4.yaml']) {
      const c = parseExperimentFile(resourcesPath('experiments', name));
      expect(c.compensation?.methods, name).toContain('eora');
      expect(c.evaluation.tasks.length, name).toBeGreaterThan(0);
    }
  });
});

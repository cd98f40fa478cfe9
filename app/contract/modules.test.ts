import { describe, expect, it } from 'vitest';
import { layerPatterns, matchesPattern, MODULE_PRESETS, ranksFor, selectModules, targetModules, unmatchedPatterns } from './modules.js';

const kinds = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];
const names = [0, 1, 2].flatMap((l) => kinds.map((k) => `model.layers.${l}.${k}`));

/** Reference: a character-by-character glob matcher by recursion (slow, obviously right). */
function slowGlob(name: string, pattern: string): boolean {
  if (pattern === '') return name === '';
  if (pattern[0] === '*') return [...Array(name.length + 1).keys()].some((i) => slowGlob(name.slice(i), pattern.slice(1)));
  if (name === '') return false;
  return (pattern[0] === '?' || pattern[0] === name[0]) && slowGlob(name.slice(1), pattern.slice(1));
}

describe('module selection', () => {
  it('globs: * spans dots, ? one character, regex characters are literal', () => {
    expect(matchesPattern('model.layers.0.mlp.up_proj', '*.mlp.*')).toBe(true);
    expect(matchesPattern('model.layers.0.self_attn.q_proj', '*.mlp.*')).toBe(false);
    expect(matchesPattern('model.layers.1.mlp.up_proj', 'model.layers.?.mlp.*')).toBe(true);
    expect(matchesPattern('model.layers.10.mlp.up_proj', 'model.layers.?.mlp.*')).toBe(false);
    expect(matchesPattern('modelXlayers.0.q', 'model.layers.*')).toBe(false); // '.' is literal
  });

  it('a pattern without wildcards matches as a dotted suffix, like PEFT target_modules', () => {
    expect(matchesPattern('model.layers.3.self_attn.q_proj', 'q_proj')).toBe(true);
    expect(matchesPattern('model.layers.3.mlp.down_proj', 'mlp.down_proj')).toBe(true);
    expect(matchesPattern('model.layers.3.self_attn.xq_proj', 'q_proj')).toBe(false);
  });

  it('property: agrees with a recursive reference matcher on random patterns', () => {
    let seed = 3;
    const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const alphabet = ['*', '?', '.', 'm', 'l', 'p', '_', '0', '1', 'q'];
    for (let t = 0; t < 500; t++) {
      const pattern = Array.from({ length: 1 + Math.floor(next() * 8) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      if (!/[*?]/.test(pattern)) continue;
      for (const n of ['model.layers.0.mlp.up_proj', 'm.l.p', 'mlp_q', 'q', '']) expect(matchesPattern(n, pattern)).toBe(slowGlob(n, pattern));
    }
  });

  it('include, then exclude; presets for attention only and MLP only; layer ranges', () => {
    expect(selectModules(names, undefined)).toEqual(names);
    expect(selectModules(names, MODULE_PRESETS.mlp)).toHaveLength(9);
    expect(selectModules(names, MODULE_PRESETS.attention).every((n) => n.includes('.self_attn.'))).toBe(true);
    expect(selectModules(names, { include: ['*.mlp.*'], exclude: ['down_proj'] })).toEqual(names.filter((n) => n.includes('.mlp.') && !n.endsWith('down_proj')));
    expect(selectModules(names, { include: layerPatterns('0, 2') }).map((n) => n.split('.')[2])).toEqual([...Array(7).fill('0'), ...Array(7).fill('2')]);
    expect(() => layerPatterns('1-x')).toThrow(/"1-x" is not a layer number or range/);
    expect(unmatchedPatterns(names, ['*.mlp.*', 'qproj'])).toEqual(['qproj']);
  });

  it('rank_pattern: the first matching pattern wins, unselected linears get 0', () => {
    const ranks = ranksFor(names, { include: ['*.mlp.*', 'q_proj'], rank_pattern: { 'model.layers.0.*': 16, down_proj: 4 } }, 8);
    expect(ranks['model.layers.0.mlp.down_proj']).toBe(16);
    expect(ranks['model.layers.1.mlp.down_proj']).toBe(4);
    expect(ranks['model.layers.1.mlp.up_proj']).toBe(8);
    expect(ranks['model.layers.1.self_attn.q_proj']).toBe(8);
    expect(ranks['model.layers.1.self_attn.k_proj']).toBe(0);
    expect(targetModules(selectModules(names, MODULE_PRESETS.mlp))).toEqual(['gate_proj', 'up_proj', 'down_proj']);
  });
});

import { describe, expect, it } from 'vitest';
import { buildHash, pageTitle, parseHash } from './url.js';

describe('URL place', () => {
  it('round-trips view, run and linear, with any characters in the run folder', () => {
    const place = { view: 'spectra', run: '/tmp/runs/a b&c=d?#e', linear: 'model.layers.1.mlp.down_proj' };
    expect(parseHash(buildHash(place))).toEqual(place);
    expect(parseHash(buildHash({ view: 'benchmarks', run: 'C:\\runs\\x', linear: null }))).toEqual({ view: 'benchmarks', run: 'C:\\runs\\x', linear: null });
  });

  it('reads a plain view hash and an empty one', () => {
    expect(parseHash('#/runs')).toEqual({ view: 'runs', run: null, linear: null });
    expect(parseHash('')).toEqual({ view: '', run: null, linear: null });
  });

  it('keeps the linear only for Spectra', () => {
    expect(buildHash({ view: 'layer-errors', run: '/r', linear: 'x' })).toBe('#/layer-errors?run=%2Fr');
    expect(buildHash({ view: 'runs', run: null, linear: null })).toBe('#/runs');
  });

  it('titles a page by its view first', () => {
    expect(pageTitle('Spectra', 'run-1', ['tinystories-656k', 'cpu'])).toBe('Spectra · run-1 — EoRA Workbench — tinystories-656k — cpu');
    expect(pageTitle('Runs', null, [null])).toBe('Runs — EoRA Workbench');
  });
});

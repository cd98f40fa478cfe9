// compensate reuses the two traces compress recorded in layers.json, only where that is exact and
// leaves the bundled model's numbers alone: layers from ORT_METRICS_MIN_IN wide, same shape, both present.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORT_METRICS_MIN_IN } from '../../compress/ort-metrics.js';
import type { LinearInfo } from '../../model/types.js';
import { writeLayersJson, type LinearRecord } from '../../run/files/layers-json.js';
import { compressTraces } from './compensate.js';

const dir = mkdtempSync(join(tmpdir(), 'eora-traces-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wide = ORT_METRICS_MIN_IN;
const info = (name: string, out: number, n: number): LinearInfo => ({ name, layer: 0, kind: 'down_proj', out, in: n });
const record = (l: LinearInfo, traces: Partial<LinearRecord> = { output_energy: 8, error_output_energy: 0.5 }): LinearRecord => ({
  ...l,
  rel_weight_error: 0.1,
  rel_output_error: 0.5 / 8,
  sparsity: 0,
  bits_per_weight: 4.25,
  ...traces,
});

describe('compressTraces', () => {
  const a = info('a', 64, wide);
  const narrow = info('narrow', 64, wide - 1);
  const old = info('old', 64, wide);
  const nulls = info('nulls', 64, wide);
  const reshaped = info('reshaped', 64, wide);
  writeLayersJson(dir, [record(a), record(narrow), record(old, {}), record(nulls, { output_energy: null, error_output_energy: null }), record({ ...reshaped, out: 32 })]);
  const traces = compressTraces(dir);

  it('gives a wide layer its recorded tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ)', () => {
    expect(traces(a)).toEqual({ output: 8, errorOutput: 0.5 });
  });

  it('leaves them to the decomposition below the ORT width, in older runs, when null, on a shape mismatch, or for an unknown linear', () => {
    expect(traces(narrow)).toBeUndefined();
    expect(traces(old)).toBeUndefined();
    expect(traces(nulls)).toBeUndefined();
    expect(traces(reshaped)).toBeUndefined();
    expect(traces(info('missing', 64, wide))).toBeUndefined();
  });

  it('a run without layers.json computes them', () => {
    const empty = mkdtempSync(join(tmpdir(), 'eora-traces-empty-'));
    try {
      expect(compressTraces(empty)(a)).toBeUndefined();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

// The run folder's disk check: the estimate by hand for a small shape, and the refusal's words.
import { describe, expect, it } from 'vitest';
import type { LinearInfo, LinearKind } from '../../model/types.js';
import { checkRunDisk, freeBytes, runDiskNeed } from './disk.js';

// One block of a d = 8, inter = 16 model: q/k/v/o [8, 8], gate/up [16, 8], down [8, 16].
const shapes: [LinearKind, number, number][] = [
  ['q_proj', 8, 8],
  ['k_proj', 8, 8],
  ['v_proj', 8, 8],
  ['o_proj', 8, 8],
  ['gate_proj', 16, 8],
  ['up_proj', 16, 8],
  ['down_proj', 8, 16],
];
const block = (layer: number): LinearInfo[] => shapes.map(([kind, out, n]) => ({ name: `model.layers.${layer}.${kind}`, layer, kind, out, in: n }));

describe('runDiskNeed', () => {
  const weights = 4 * 64 + 2 * 128 + 128; // out·in per block: 896
  const grams = 8 * (3 * 8 * 8 + 16 * 16); // attn_in, o_in, mlp_in [8, 8]; down_in [16, 16]
  // w4g4: groups = in / 4; scales + zeros 2·4·out·groups, g_idx 4·in.
  const quantBytes = shapes.reduce((sum, [, out, n]) => sum + 8 * out * (n / 4) + 4 * n, 0);

  it('counts W_c, codes and C per block, and the assembled files once', () => {
    const need = runDiskNeed([...block(0), ...block(1)], 0, { groupSize: 4 }, 100);
    expect(need.checkpoints).toBe(100 + 2 * (4 * weights + 4 * weights + quantBytes + grams));
    expect(need.assembled).toBe(2 * (4 * weights + weights + quantBytes + grams));
  });

  it('skips the blocks already checkpointed, and codes when nothing is quantized', () => {
    const need = runDiskNeed([...block(0), ...block(1)], 1, null, 0);
    expect(need.checkpoints).toBe(4 * weights + grams);
    expect(need.assembled).toBe(2 * (4 * weights + grams));
  });
});

describe('checkRunDisk', () => {
  it('refuses a run that will not fit, naming the folder, the need and the free space', () => {
    expect(() => checkRunDisk('/runs/llama8b', { checkpoints: 122e9, assembled: 94e9 }, 50e9)).toThrow(
      /^\/runs\/llama8b: this compression writes about 216\.0 GB \(per-block checkpoints 122\.0 GB, then the assembled .* 94\.0 GB .*\), but its disk has 50\.0 GB free\. Free space, or choose --out on a larger disk\.$/,
    );
    expect(() => checkRunDisk('/runs/small', { checkpoints: 1e6, assembled: 1e6 }, 5e6)).not.toThrow();
  });

  it('measures the free space of the nearest existing folder', () => {
    expect(freeBytes('/tmp/does/not/exist/yet')).toBe(freeBytes('/tmp'));
    expect(freeBytes('/tmp')).toBeGreaterThan(0);
  });
});

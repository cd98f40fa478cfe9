import { describe, expect, it } from 'vitest';
import { blockFlops, headFlops } from './flops.js';

describe('FLOP counts', () => {
  it('a 7B Llama block on 512 tokens: 2·N·params of the linears plus the full T×T attention', () => {
    const shape = { hidden: 4096, heads: 32, kvHeads: 32, headDim: 128, intermediate: 11008, eps: 1e-5, bias: false };
    const linearParams = 4 * 4096 * 4096 + 3 * 4096 * 11008; // 202,375,168
    const attention = 2 * 2 * 32 * 512 * 512 * 128; // q kᵀ and p v
    expect(blockFlops(shape, 1, 512)).toBe(2 * 512 * linearParams + attention);
    expect(blockFlops(shape, 1, 512) / 1e9).toBeCloseTo(211.5, 0);
    // GQA shrinks k/v projections: 4 KV heads of 128 → k, v are [512, 4096].
    expect(blockFlops({ ...shape, kvHeads: 4 }, 1, 1) - 2 * 2 * 32 * 128).toBe(2 * (2 * 4096 * 4096 + 2 * 4096 * 512 + 3 * 4096 * 11008));
    expect(headFlops(128, 2048, 10)).toBe(2 * 10 * 128 * 2048);
  });
});

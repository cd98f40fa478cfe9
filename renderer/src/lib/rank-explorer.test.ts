import { describe, expect, it } from 'vitest';
import { allocateRanks, type BudgetLayer } from '../../../app/contract/rank-budget.js';
import { allocatedCurve, allocationFile, budgetSamples, restrict, uniformCurve, withEdits } from './rank-explorer.js';

const curve = (scale: number) => [1, 0.5, 0.3, 0.2, 0.1].map((e) => e * scale);
const layers: BudgetLayer[] = [
  { name: 'model.layers.0.self_attn.q_proj', out: 4, in: 4, error: curve(1) },
  { name: 'model.layers.0.mlp.up_proj', out: 8, in: 4, error: curve(2) },
  { name: 'model.layers.0.mlp.down_proj', out: 4, in: 8, error: curve(0.5) },
];

describe('rank explorer numbers', () => {
  it('uniform curve: rMax + 1 points, Σ r·(in + out) against Σ err(r), computed by hand', () => {
    const points = uniformCurve(layers, 4);
    expect(points).toHaveLength(5);
    expect(points[2]).toEqual({ x: 2 * (8 + 12 + 12), y: 0.3 + 0.6 + 0.15 });
  });

  it('restricting to the MLP: attention stays at rank 0 and costs nothing, its err(0) counts', () => {
    const mlp = restrict(layers, new Set(layers.filter((l) => l.name.includes('.mlp.')).map((l) => l.name)));
    const points = uniformCurve(mlp, 4);
    expect(points[1]).toEqual({ x: 24, y: 1 + 1 + 0.25 });
    const a = allocateRanks(mlp, 1000);
    expect(a.ranks[0]).toBe(0);
  });

  it('allocated never worse than uniform at the same budget', () => {
    const uniform = uniformCurve(layers, 4);
    const allocated = allocatedCurve(layers, uniform.map((p) => p.x));
    allocated.forEach((p, i) => {
      expect(p.x).toBeLessThanOrEqual(uniform[i].x);
      expect(p.y).toBeLessThanOrEqual(uniform[i].y + 1e-12);
    });
  });

  it('budget samples: all sizes when few, else `max` spread from first to last', () => {
    expect(budgetSamples([0, 10, 20], 12)).toEqual([0, 10, 20]);
    const sizes = Array.from({ length: 129 }, (_, r) => r * 100);
    const picked = budgetSamples(sizes, 12);
    expect(picked).toHaveLength(12);
    expect(picked[0]).toBe(0);
    expect(picked.at(-1)).toBe(12800);
  });

  it('edits override ranks, capped to the curve; the file lists every rank and PEFT fields', () => {
    const base = allocateRanks(layers, 40);
    const edited = withEdits(layers, base, { 'model.layers.0.self_attn.q_proj': 9 });
    expect(edited.ranks[0]).toBe(4);
    expect(edited.objective).toBeCloseTo(0.1 + curve(2)[edited.ranks[1]] + curve(0.5)[edited.ranks[2]], 12);
    const file = allocationFile('run', 'eora', { include: ['*'] }, 40, layers, withEdits(layers, base, { 'model.layers.0.self_attn.q_proj': 0, 'model.layers.0.mlp.up_proj': 2, 'model.layers.0.mlp.down_proj': 3 }));
    expect(file.ranks).toEqual({ 'model.layers.0.self_attn.q_proj': 0, 'model.layers.0.mlp.up_proj': 2, 'model.layers.0.mlp.down_proj': 3 });
    expect(file.peft).toEqual({ r: 3, lora_alpha: 3, rank_pattern: { 'model.layers.0.mlp.up_proj': 2 }, alpha_pattern: { 'model.layers.0.mlp.up_proj': 2 }, target_modules: ['up_proj', 'down_proj'] });
  });
});

import { describe, expect, it } from 'vitest';
import { headerRows, starIf, type Column } from './table.js';

const col = (id: string, group?: string): Column<unknown> => ({ id, header: id.toUpperCase(), group });

describe('table header rows', () => {
  it('one row when no column has a group', () => {
    const columns = [col('a'), col('b')];
    expect(headerRows(columns)).toEqual({ top: columns.map((column) => ({ kind: 'column', column })), below: [] });
  });

  it('groups consecutive columns of the same group; ungrouped columns stand over both rows', () => {
    const columns = [col('variant'), col('v1', 'ppl'), col('d1', 'ppl'), col('v2', 'acc'), col('d2', 'acc'), col('note')];
    const { top, below } = headerRows(columns);
    expect(top.map((t) => (t.kind === 'column' ? t.column.id : `${t.label}×${t.span}`))).toEqual(['variant', 'ppl×2', 'acc×2', 'note']);
    expect(below.map((c) => c.id)).toEqual(['v1', 'd1', 'v2', 'd2']);
  });

  it('a group interrupted by another column starts again', () => {
    const { top } = headerRows([col('x', 'g'), col('y'), col('z', 'g')]);
    expect(top.map((t) => (t.kind === 'column' ? t.column.id : `${t.label}×${t.span}`))).toEqual(['g×1', 'y', 'g×1']);
  });

  it('the header cells span every column exactly once', () => {
    // Property: over random groupings, Σ spans of the top row (a column counts 1) equals the column count.
    for (let trial = 0; trial < 50; trial++) {
      const columns = Array.from({ length: 1 + (trial % 9) }, (_, i) => col(`c${i}`, [undefined, 'g', 'h'][(i * 7 + trial) % 3]));
      const { top, below } = headerRows(columns);
      expect(top.reduce((n, t) => n + (t.kind === 'column' ? 1 : t.span), 0)).toBe(columns.length);
      expect(below.length + top.filter((t) => t.kind === 'column').length).toBe(columns.length);
    }
  });

  it('starIf marks significant deltas only, with words for screen readers', () => {
    expect(starIf(true)).toEqual({ symbol: '*', words: 'significant at 95 %' });
    expect([starIf(false), starIf(null), starIf(undefined)]).toEqual([null, null, null]);
  });
});

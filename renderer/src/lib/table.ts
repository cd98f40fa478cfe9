// The column model behind components/DataTable.svelte: what each column shows for a row and how,
// and the two-row header that grouped columns (one metric's value and deltas) need.
import type { Snippet } from 'svelte';

/** A marker after a cell's text: a symbol for the eye, words for screen readers. */
export interface Mark {
  symbol: string;
  /** Read instead of the symbol, e.g. "significant at 95 %". */
  words: string;
  title?: string;
}

export type Attributes = Record<string, string | number | boolean | null | undefined>;

export interface Column<T> {
  /** Unique among the columns; also the cells' data-column. */
  id: string;
  header: string;
  /** Header said to screen readers only (a checkbox column). */
  hideHeader?: boolean;
  /** Consecutive columns with the same group share a header above theirs. */
  group?: string;
  /** The row's name: a <th scope="row">. */
  rowHeader?: boolean;
  /** num: right-aligned monospace digits; mono: monospace text; text: as is. */
  align?: 'num' | 'mono' | 'text';
  /** What the cell says (formatted); `cell` instead for controls. */
  text?: (row: T) => string;
  cell?: Snippet<[T]>;
  /** A muted suffix, e.g. " ± 0.03" after a value. */
  detail?: (row: T) => string | undefined;
  /** Marker slots after the text; a null slot keeps the column aligned where there is none. */
  marks?: (row: T) => (Mark | null)[];
  tone?: (row: T) => 'better' | 'worse' | 'strong' | undefined;
  /** data-* and title of the cell. */
  attrs?: (row: T) => Attributes;
  /** Sorting is the caller's (DataTable's `sort` prop); this column offers it. */
  sortable?: boolean;
}

/** One cell of the top header row: a column standing over both rows, or a group over its columns. */
export type TopHeader<T> = { kind: 'column'; column: Column<T> } | { kind: 'group'; label: string; span: number };

/** The header rows: one when no column has a group, else groups on top and their columns below. */
export function headerRows<T>(columns: Column<T>[]): { top: TopHeader<T>[]; below: Column<T>[] } {
  if (!columns.some((c) => c.group !== undefined)) return { top: columns.map((column) => ({ kind: 'column', column })), below: [] };
  const top: TopHeader<T>[] = [];
  for (const column of columns) {
    const last = top.at(-1);
    if (column.group === undefined) top.push({ kind: 'column', column });
    else if (last?.kind === 'group' && last.label === column.group) last.span++;
    else top.push({ kind: 'group', label: column.group, span: 1 });
  }
  return { top, below: columns.filter((c) => c.group !== undefined) };
}

export const significanceMark: Mark = { symbol: '*', words: 'significant at 95 %' };

/** The star slot of a delta cell: a mark when significant, an empty slot otherwise. */
export const starIf = (significant: boolean | null | undefined): Mark | null => (significant ? significanceMark : null);

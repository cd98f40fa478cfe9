// Which linears get an adapter, and at which rank: glob patterns over linear names, as in
// PEFT's target_modules / rank_pattern. Pure (no imports) because the engine's compensation
// and the renderer's rank explorer must choose exactly the same linears.
//
//   pattern      `*` any run of characters (dots included), `?` one character, else literal;
//                a pattern without a wildcard also matches as a dotted suffix, the way PEFT
//                reads "q_proj" or "mlp.down_proj" ("q_proj" ⇒ "model.layers.3.self_attn.q_proj").
//   include      linears matching any include pattern (default: all);
//   exclude      then minus those matching any exclude pattern;
//   rank_pattern {pattern: rank}: the first matching pattern, in the object's order, sets the
//                rank (0 drops the linear); others keep the default rank.

export interface ModuleSelection {
  include?: string[];
  exclude?: string[];
  rank_pattern?: Record<string, number>;
}

function globToRegExp(pattern: string): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

/** Whether a linear's full name matches one pattern (see the header for suffix matching). */
export function matchesPattern(name: string, pattern: string): boolean {
  if (!/[*?]/.test(pattern)) return name === pattern || name.endsWith(`.${pattern}`);
  return globToRegExp(pattern).test(name);
}

/** A pattern that matches none of the names: a likely typo, reported instead of ignored. */
export function unmatchedPatterns(names: readonly string[], patterns: readonly string[]): string[] {
  return patterns.filter((p) => !names.some((n) => matchesPattern(n, p)));
}

/** The names chosen by include/exclude, in their given order. */
export function selectModules(names: readonly string[], selection: ModuleSelection | undefined): string[] {
  const include = selection?.include?.length ? selection.include : ['*'];
  const exclude = selection?.exclude ?? [];
  return names.filter((n) => include.some((p) => matchesPattern(n, p)) && !exclude.some((p) => matchesPattern(n, p)));
}

/** Per-linear ranks: 0 for linears not selected, rank_pattern's rank where one matches, else `rank`. */
export function ranksFor(names: readonly string[], selection: ModuleSelection | undefined, rank: number): Record<string, number> {
  const chosen = new Set(selectModules(names, selection));
  const patterns = Object.entries(selection?.rank_pattern ?? {});
  return Object.fromEntries(names.map((n) => [n, chosen.has(n) ? (patterns.find(([p]) => matchesPattern(n, p))?.[1] ?? rank) : 0]));
}

/** The selection presets researchers ask for most. */
export const MODULE_PRESETS: Record<string, ModuleSelection> = {
  all: {},
  attention: { include: ['*.self_attn.*'] },
  mlp: { include: ['*.mlp.*'] },
};

/** "0-3,7" → [0, 1, 2, 3, 7] layer indices as include patterns over "model.layers.{i}.*"; throws on nonsense. */
export function layerPatterns(spec: string): string[] {
  const out: string[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a layer number or range (e.g. 0-3,7)`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`"${part}": the range ends before it starts`);
    for (let i = a; i <= b; i++) out.push(`model.layers.${i}.*`);
  }
  return out;
}

/** PEFT's short target_modules for a set of linears: the last name component ("q_proj"). */
export function targetModules(names: readonly string[]): string[] {
  return [...new Set(names.map((n) => n.slice(n.lastIndexOf('.') + 1)))];
}

/** The rank fields of a PEFT LoraConfig for per-linear ranks (0 = no adapter on that linear). */
export interface PeftRanks {
  r: number;
  lora_alpha: number;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  target_modules: string[];
}

/**
 * r and lora_alpha are the most common rank (ties: the larger), rank_pattern/alpha_pattern give
 * every other adapted linear its own (full names, which PEFT matches as a suffix; alpha = r, so
 * the scaling is 1 everywhere); target_modules lists kinds ("q_proj") when every linear of those
 * kinds is adapted, else the adapted linears by full name, so PEFT touches exactly those.
 */
export function peftRanks(ranks: Iterable<readonly [string, number]>, kindOf: (linear: string) => string = (n) => n.slice(n.lastIndexOf('.') + 1)): PeftRanks {
  const all = [...ranks];
  const used = all.filter(([, r]) => r > 0);
  if (used.length === 0) throw new Error('no adapter on any linear (all ranks 0)');
  const counts = new Map<number, number>();
  for (const [, r] of used) counts.set(r, (counts.get(r) ?? 0) + 1);
  const r = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0][0];
  const rankPattern: Record<string, number> = {};
  for (const [name, rank] of used) if (rank !== r) rankPattern[name] = rank;
  const kinds = [...new Set(used.map(([name]) => kindOf(name)))];
  const everyLinearOfKinds = all.every(([name, rank]) => rank > 0 || !kinds.includes(kindOf(name)));
  return { r, lora_alpha: r, rank_pattern: rankPattern, alpha_pattern: { ...rankPattern }, target_modules: everyLinearOfKinds ? kinds : used.map(([name]) => name) };
}

/**
 * The rank of each linear for a variant asked at uniform rank r, under a selection: 0 outside
 * it, rank_pattern's where one matches, else r. Checked once up front, each problem named as
 * in the experiment config: a pattern that matches no linear (a typo would otherwise silently
 * change the experiment), a rank_pattern rank above a linear's decomposition rank.
 */
export function moduleRanks(all: readonly { name: string; maxRank: number }[], selection: ModuleSelection | undefined): (name: string, r: number) => number {
  const names = all.map((l) => l.name);
  for (const key of ['include', 'exclude'] as const) {
    const bad = unmatchedPatterns(names, selection?.[key] ?? []);
    if (bad.length) throw new Error(`compensation.modules.${key}: ${bad.map((p) => `"${p}"`).join(', ')} matches no linear of the model (e.g. ${names[0]})`);
  }
  const badRank = unmatchedPatterns(names, Object.keys(selection?.rank_pattern ?? {}));
  if (badRank.length) throw new Error(`compensation.modules.rank_pattern: "${badRank[0]}" matches no linear of the model (e.g. ${names[0]})`);
  const chosen = new Set(selectModules(names, selection));
  if (chosen.size === 0) throw new Error('compensation.modules: the selection leaves no linear with an adapter');
  const patterns = Object.entries(selection?.rank_pattern ?? {});
  const fixed = new Map<string, number>();
  for (const l of all) {
    const hit = chosen.has(l.name) ? patterns.find(([p]) => matchesPattern(l.name, p)) : undefined;
    if (!hit) continue;
    if (hit[1] > l.maxRank) throw new Error(`compensation.modules.rank_pattern: "${hit[0]}" gives ${l.name} rank ${hit[1]}, above its decomposition's rank ${l.maxRank} (raise compensation.r_max)`);
    fixed.set(l.name, hit[1]);
  }
  return (name, r) => (!chosen.has(name) ? 0 : (fixed.get(name) ?? r));
}

// Text fields of the New run form ↔ the experiment config's lists. A token that is not a
// number is kept as the string it is, so the engine's validation names it ("expected a
// positive integer, got "x"") instead of the form silently dropping it.

/** "8, 16 32" → [8, 16, 32]; "" → []. */
export function parseNumberList(text: string): (number | string)[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((token) => (/^-?\d+(\.\d+)?(e\d+)?$/i.test(token) ? Number(token) : token));
}

export function formatList(values: readonly unknown[] | undefined): string {
  return (values ?? []).join(', ');
}

export interface TaskChoice {
  name: string;
  limit?: number | string;
}

/** "arc_easy:50, mathqa" → [{name: arc_easy, limit: 50}, {name: mathqa}]. */
export function parseTasks(text: string): TaskChoice[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((token) => {
      const [name, limit] = token.split(':');
      if (limit === undefined) return { name };
      return { name, limit: /^\d+$/.test(limit) ? Number(limit) : limit };
    });
}

export function formatTasks(tasks: readonly { name?: string; path?: string; limit?: number }[] | undefined): string {
  return (tasks ?? []).map((t) => `${t.name ?? t.path ?? ''}${t.limit === undefined ? '' : `:${t.limit}`}`).join(', ');
}

/** A folder name for a new run: "<slug>-YYYYMMDD-HHMMSS". */
export function runFolderName(name: string, now = new Date()): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'run';
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${slug}-${stamp}`;
}

/** Joins a folder and a name with the folder's own separator (Windows paths keep "\"). */
export function joinPath(root: string, name: string): string {
  const separator = root.includes('\\') && !root.includes('/') ? '\\' : '/';
  return root.endsWith(separator) ? `${root}${name}` : `${root}${separator}${name}`;
}

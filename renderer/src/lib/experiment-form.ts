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

// The engine's validation issues ({path, message}, path in config terms: "compensation.ranks[1]")
// → the form's fields: each message is shown under the field its path names, worded with the
// field's label, never a config path or a CLI flag.

/** Form fields by config path, with the label the form shows. */
export const FORM_FIELDS: Record<string, string> = {
  name: 'Name',
  model: 'Model',
  device: 'Device',
  'calibration.file': 'Text file',
  'calibration.samples': 'Samples',
  'calibration.seq_len': 'Tokens per sample',
  'calibration.seed': 'Seed',
  'compression.quant': 'Quantization',
  'compression.prune': 'Pruning',
  'compensation.methods': 'Methods',
  'compensation.ranks': 'Ranks',
  'compensation.budgets': 'Parameter budgets',
  'evaluation.perplexity': 'Perplexity tokens',
  'evaluation.tasks': 'Tasks',
  'evaluation.generation': 'Sample prompts',
};

/** CLI flags an engine message may quote → the form's label. */
const FLAG_LABELS: Record<string, string> = {
  quant: 'Quantization',
  prune: 'Pruning',
  'seq-len': 'Tokens per sample',
  samples: 'Samples',
  seed: 'Seed',
  calib: 'Text file',
  ranks: 'Ranks',
  rank: 'Ranks',
  budget: 'Parameter budgets',
  budgets: 'Parameter budgets',
  method: 'Methods',
  'eval-tokens': 'Perplexity tokens',
  tasks: 'Tasks',
  model: 'Model',
  device: 'Device',
};

export interface FieldMessage {
  /** The FORM_FIELDS key it belongs under, or "" (the form as a whole). */
  field: string;
  text: string;
}

/** Which field a config path belongs to: the longest FORM_FIELDS key it starts with. */
export function fieldOf(path: string): string {
  let best = '';
  for (const key of Object.keys(FORM_FIELDS)) {
    if ((path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) && key.length > best.length) best = key;
  }
  return best;
}

/** A path's words for a path no field shows: "evaluation.generation.max_new_tokens" → "evaluation › generation › max new tokens". */
function readablePath(path: string): string {
  return path.replace(/\[(\d+)\]/g, (_, i) => ` #${Number(i) + 1}`).split('.').map((part) => part.replace(/_/g, ' ')).join(' › ');
}

/** An engine message in the form's words: flags and config paths become labels. */
export function formWording(message: string): string {
  let text = message.replace(/--([a-z][a-z-]*)/g, (whole, flag: string) => (FLAG_LABELS[flag] ? `"${FLAG_LABELS[flag]}"` : `"${flag.replace(/-/g, ' ')}"`));
  // Longest paths first, so "calibration.seq_len" is not read as "calibration" + ".seq_len".
  // Only dotted paths: a bare "model" is also an ordinary word (and part of file paths).
  for (const key of Object.keys(FORM_FIELDS).filter((k) => k.includes('.')).sort((a, b) => b.length - a.length)) text = text.split(key).join(`"${FORM_FIELDS[key]}"`);
  return text;
}

/** One issue as the form shows it: under its field, "entry 2: …" for a list item, in the form's words. */
export function fieldMessage(issue: { path: string; message: string }): FieldMessage {
  const field = fieldOf(issue.path);
  const rest = issue.path.slice(field.length);
  const entry = /^\[(\d+)\]/.exec(rest);
  const where = field === '' ? (issue.path ? `${readablePath(issue.path)}: ` : '') : entry && !['evaluation.perplexity'].includes(field) ? `entry ${Number(entry[1]) + 1}: ` : '';
  return { field, text: `${where}${formWording(issue.message)}` };
}

/** Issues grouped by field (duplicates dropped: the engine may say one thing twice). */
export function messagesByField(issues: readonly { path: string; message: string }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of issues) {
    const { field, text } = fieldMessage(issue);
    const list = (out[field] ??= []);
    if (!list.includes(text)) list.push(text);
  }
  return out;
}

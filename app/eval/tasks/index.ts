// loadTask: one entry point for every task file format, and the task sets the workbench ships.
import { readFileSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { describeFsError } from '../../model/binary.js';
import { resourcesPath } from '../../model/open.js';
import { parseArcRecord, type Parsed } from './arc.js';
import { parseJsonlTask } from './jsonl.js';
import { parseMathqaRecord } from './mathqa.js';
import { TaskFileError, type ChoiceItem, type SkippedItem, type TaskFormat, type TaskSet, type TaskSpec } from './types.js';

export { TaskFileError, type ChoiceItem, type SkippedItem, type TaskFormat, type TaskSet, type TaskSpec } from './types.js';

/** Reads, checks and converts a task file; throws TaskFileError naming the file. */
export function loadTask(spec: TaskSpec): TaskSet {
  const file = spec.path;
  const name = spec.name ?? defaultName(file);
  if (spec.limit !== undefined && (!Number.isSafeInteger(spec.limit) || spec.limit < 1)) {
    throw new TaskFileError(file, `limit must be a positive integer, got ${spec.limit}`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TaskFileError(file, describeFsError(error));
  }
  return parseTask(text, { ...spec, name });
}

/** loadTask on text already in memory (`spec.path` only names it in messages). */
export function parseTask(text: string, spec: TaskSpec): TaskSet {
  const file = spec.path;
  const name = spec.name ?? defaultName(file);
  let format = spec.format;
  let records: unknown[] | null = null;
  if (format !== 'jsonl' && (format !== undefined || extname(file).toLowerCase() !== '.jsonl')) {
    records = parseJsonArray(text, file);
    format ??= sniffFormat(records, file);
  }
  format ??= 'jsonl';
  const limit = spec.limit ?? Number.POSITIVE_INFINITY;
  let items: ChoiceItem[];
  const skipped: SkippedItem[] = [];
  if (format === 'jsonl') {
    items = parseJsonlTask(text, file, name).slice(0, limit);
  } else {
    // Records after the limit'th item are not parsed at all, so `skipped` covers exactly the records read.
    const parse = format === 'arc' ? parseArcRecord : parseMathqaRecord;
    const all = records ?? parseJsonArray(text, file);
    items = [];
    for (let index = 0; index < all.length && items.length < limit; index++) {
      const result: Parsed = parse(all[index], `${name}/${index}`);
      if ('item' in result) items.push(result.item);
      else skipped.push({ index, reason: result.reason });
    }
    if (items.length === 0) throw new TaskFileError(file, `no record could be read as ${format} (${skipped.length === 0 ? 'the array is empty' : `record 0: ${skipped[0].reason}`})`);
  }
  checkUniqueIds(items, file);
  return { name, file, format, items, skipped };
}

/** The task sets in resources/data/tasks: the TinyStories cloze task and the EoRA paper's three. */
export function bundledTasks(): TaskSpec[] {
  return [
    { name: 'tinystories_cloze', path: resourcesPath('data', 'tasks', 'tinystories_cloze', 'test.jsonl'), format: 'jsonl' },
    { name: 'arc_easy', path: resourcesPath('data', 'tasks', 'arc_easy', 'test.json'), format: 'arc' },
    { name: 'arc_challenge', path: resourcesPath('data', 'tasks', 'arc_challenge', 'test.json'), format: 'arc' },
    { name: 'mathqa', path: resourcesPath('data', 'tasks', 'mathqa', 'test.json'), format: 'mathqa' },
  ];
}

/** `…/arc_easy/test.json` → `arc_easy`; `…/mine.jsonl` → `mine`. */
function defaultName(file: string): string {
  const stem = basename(file, extname(file));
  return stem === 'test' || stem === 'validation' || stem === 'train' ? basename(dirname(file)) : stem;
}

function parseJsonArray(text: string, file: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TaskFileError(file, `not valid JSON (${error instanceof Error ? error.message : String(error)}); a .jsonl task file needs format "jsonl"`);
  }
  if (!Array.isArray(value)) throw new TaskFileError(file, 'expected a JSON array of records (ARC / MathQA in the LLM-Adapters layout)');
  return value;
}

/** ARC's instruction starts "Please choose the correct answer"; MathQA's carries ", The options:". */
function sniffFormat(records: unknown[], file: string): TaskFormat {
  const first = records[0] as { instruction?: unknown } | undefined;
  const instruction = typeof first === 'object' && first !== null ? first.instruction : undefined;
  if (typeof instruction === 'string') {
    if (instruction.startsWith('Please choose the correct answer to the question:')) return 'arc';
    if (instruction.includes(', The options:')) return 'mathqa';
  }
  throw new TaskFileError(file, 'cannot tell the format from the first record (expected an ARC or MathQA "instruction"); give the format explicitly');
}

function checkUniqueIds(items: ChoiceItem[], file: string): void {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw new TaskFileError(file, `item id "${item.id}" appears twice`);
    seen.add(item.id);
  }
}

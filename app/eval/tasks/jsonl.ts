// The simple task format: one JSON object per line,
//   {"context": string, "choices": string[], "gold": int, "id"?: string}
// Choices are continuations appended to the context verbatim (give them their leading space).
// Blank lines are ignored. A malformed line is an error naming file:line and the field: a
// user's own file should be fixed, not silently shortened.
import { TaskFileError, type ChoiceItem } from './types.js';

export function parseJsonlTask(text: string, file: string, name: string): ChoiceItem[] {
  const items: ChoiceItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new TaskFileError(file, `${where}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    items.push(checkRecord(record, file, where, `${name}/${items.length}`));
  }
  if (items.length === 0) throw new TaskFileError(file, 'has no items (expected one JSON object per line)');
  return items;
}

function checkRecord(record: unknown, file: string, where: string, defaultId: string): ChoiceItem {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new TaskFileError(file, `${where}: expected an object {"context", "choices", "gold"}, got ${describe(record)}`);
  }
  const { context, choices, gold, id } = record as Record<string, unknown>;
  if (typeof context !== 'string') throw new TaskFileError(file, `${where}: "context" must be a string, got ${describe(context)}`);
  if (!Array.isArray(choices) || choices.length < 2) {
    throw new TaskFileError(file, `${where}: "choices" must be an array of at least 2 strings, got ${describe(choices)}`);
  }
  choices.forEach((choice, j) => {
    if (typeof choice !== 'string' || choice.length === 0) {
      throw new TaskFileError(file, `${where}: "choices"[${j}] must be a non-empty string, got ${describe(choice)}`);
    }
  });
  if (typeof gold !== 'number' || !Number.isInteger(gold) || gold < 0 || gold >= choices.length) {
    throw new TaskFileError(file, `${where}: "gold" must be an integer index into "choices" (0..${choices.length - 1}), got ${describe(gold)}`);
  }
  if (id !== undefined && typeof id !== 'string') throw new TaskFileError(file, `${where}: "id" must be a string when given, got ${describe(id)}`);
  return { id: id ?? defaultId, context, choices: choices as string[], gold };
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const json = JSON.stringify(value);
  return json.length > 40 ? `${typeof value} ${json.slice(0, 37)}…` : json;
}

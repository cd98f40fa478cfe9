// The one JSON reader and writer of run files. Reads distrust their input: a missing file is
// `undefined`, unreadable, unparsable or mis-shaped JSON is a RunError naming the file and the
// field. The schema checks; the value returned is the file's own (nothing stripped or
// defaulted), so a file read and written back keeps every key, also ones a newer version added.
// Writes are atomic (temp sibling + rename).
import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';
import { writeJsonAtomic } from '../atomic.js';
import { RunError } from '../errors.js';

export function readJsonFile<S extends z.ZodType>(file: string, schema: S): z.output<S> | undefined {
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RunError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const checked = schema.safeParse(value);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const at = issue.path.length ? `${issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('')}: ` : '';
    throw new RunError(`${file}: ${at}${issue.message}`);
  }
  return value as z.output<S>;
}

export function writeJsonFile(file: string, value: unknown): void {
  writeJsonAtomic(file, value);
}

// The `__metadata__` of the run's tensor files (safetensors keeps it as str → str): each file
// kind declares one zod schema next to its read/write pair, and this is the one check that
// applies it, on write (a bug never stores a bad header) and on read (a damaged or foreign file
// is a RunError naming the file and the field). Like json-file.ts, the checked object is the
// file's own: keys a newer version added are kept.
import { z } from 'zod';
import { RunError } from '../errors.js';
import type { TensorFile } from '../safetensors-writer.js';

/** A non-negative whole number, as metadata stores numbers. */
export const wholeNumber = z.string({ error: 'expected a whole number' }).regex(/^\d+$/, 'expected a whole number');

/** Where Σ sits in a pair of factors (files written before it was recorded: B). */
export const sigmaSplit = z.enum(['B', 'A', 'sqrt'], { error: (issue) => `expected B, A or sqrt, got ${JSON.stringify(issue.input)}` });

/** `<gram key>.tokens` → token count, besides any other key (calibration and block checkpoints). */
export const tokenCounts = z.record(z.string(), z.string()).superRefine((metadata, ctx) => {
  for (const [key, value] of Object.entries(metadata)) {
    if (key.endsWith('.tokens') && !/^\d+$/.test(value)) ctx.addIssue({ code: 'custom', path: [key], message: `expected a token count, got ${JSON.stringify(value)}` });
  }
});

/** `metadata` of the file at `path` against its kind's schema; a mismatch is a RunError naming the file and the field. */
export function checkMetadata<S extends z.ZodType>(path: string, metadata: Record<string, string>, schema: S): z.output<S> {
  const parsed = schema.safeParse(metadata);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new RunError(`${path}: __metadata__${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
}

/** A tensor file's metadata, checked against its kind's schema. */
export const readMetadata = <S extends z.ZodType>(file: TensorFile, schema: S): z.output<S> => checkMetadata(file.path, file.metadata, schema);

/** The metadata about to be written to `path`, checked against its kind's schema (returned as given). */
export function metadataToWrite<S extends z.ZodType>(path: string, metadata: Record<string, string>, schema: S): Record<string, string> {
  checkMetadata(path, metadata, schema);
  return metadata;
}

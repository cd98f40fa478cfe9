import { ModelError } from '../model/types.js';

/** A run folder problem (missing or malformed files, config mismatch); the message names the file or folder. */
export class RunError extends Error {
  override name = 'RunError';
}

/**
 * Whether `error` says a file is damaged (cut, misshapen, foreign): a RunError, or the ModelError
 * the safetensors reader throws, unless that one only wraps a failed open (its cause has an errno
 * code). An I/O failure (EMFILE, EACCES, EIO) is no reason to discard a file that may be whole.
 */
export function isDamage(error: unknown): boolean {
  if (error instanceof RunError) return true;
  return error instanceof ModelError && (error.cause as NodeJS.ErrnoException | undefined)?.code === undefined;
}

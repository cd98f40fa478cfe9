/** A run folder problem (missing or malformed files, config mismatch); the message names the file or folder. */
export class RunError extends Error {
  override name = 'RunError';
}

// Atomic file writes: write a temporary sibling, fsync it, rename over the target. A crash or
// Ctrl-C leaves either the old file or the new one, never a torn one (rename is atomic within
// one file system on POSIX and NTFS).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

let counter = 0;

/** Writes `chunks` in order to `path` atomically. */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[] | Uint8Array | string): void {
  const temp = `${path}.tmp-${process.pid}-${counter++}`;
  const parts = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks instanceof Uint8Array ? [chunks] : chunks;
  const fd = openSync(temp, 'w');
  try {
    for (const part of parts) {
      let written = 0;
      while (written < part.byteLength) written += writeSync(fd, part, written, part.byteLength - written);
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

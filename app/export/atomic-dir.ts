// An export folder appears whole or not at all: everything is written into a temp sibling
// (`.<name>.partial-<pid>-<n>`, same file system, so the final rename is atomic) and renamed
// onto the target at the end. A failure (full disk, a write error, cancel) removes the temp
// folder and leaves the target as it was. An existing non-empty target is replaced only with
// `force`; it is moved aside first and removed after the new folder is in place.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export class ExportError extends Error {
  override name = 'ExportError';
}

let counter = 0;

/** Refuses a non-empty target without `force` (before any work is done). */
export function checkTarget(outDir: string, force: boolean): void {
  const target = resolve(outDir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new ExportError(`${target} exists and is not a folder`);
  if (readdirSync(target).length > 0 && !force) throw new ExportError(`${target} is not empty; use --force to replace it`);
}

/** Runs `fill(tempDir)`, then renames the temp folder to `outDir`. Returns the final path. */
export async function writeFolderAtomically(outDir: string, force: boolean, fill: (dir: string) => Promise<void> | void): Promise<string> {
  const target = resolve(outDir);
  checkTarget(target, force);
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${counter++}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  try {
    await fill(temp);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  let aside: string | null = null;
  if (existsSync(target)) {
    aside = join(dirname(target), `.${basename(target)}.old-${process.pid}-${counter++}`);
    renameSync(target, aside);
  }
  try {
    renameSync(temp, target);
  } catch (error) {
    if (aside) renameSync(aside, target);
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  if (aside) rmSync(aside, { recursive: true, force: true });
  return target;
}

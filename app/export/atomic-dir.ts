// An export folder appears whole or not at all: everything is written into a temp sibling
// (`.<name>.partial-<pid>-<n>`, same file system, so the final rename is atomic) and renamed
// onto the target at the end. A failure (full disk, a write error, cancel) removes the temp
// folder and leaves the target as it was. An existing non-empty target is replaced only with
// `force`, and only when it is an earlier export (it holds `export.json`): `--force` must never
// delete a run folder, a runs root or anything else a user pointed at by mistake. It is moved
// aside first and removed after the new folder is in place.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export class ExportError extends Error {
  override name = 'ExportError';
}

let counter = 0;

/** The marker every export folder carries (index.ts writes it). */
export const EXPORT_MARKER = 'export.json';

/** Refuses a non-empty target without `force`, and any non-empty target that is not an earlier export (before any work is done). */
export function checkTarget(outDir: string, force: boolean): void {
  const target = resolve(outDir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new ExportError(`${target} exists and is not a folder`);
  if (readdirSync(target).length === 0) return;
  if (!existsSync(join(target, EXPORT_MARKER))) {
    throw new ExportError(`${target} is not empty and is not an earlier export (no ${EXPORT_MARKER}); choose an empty or new folder`);
  }
  if (!force) throw new ExportError(`${target} holds an earlier export; use --force to replace it`);
}

/** Runs `fill(tempDir)`, then renames the temp folder to `outDir`. Returns the final path. */
export async function writeFolderAtomically(outDir: string, force: boolean, fill: (dir: string) => Promise<void> | void): Promise<string> {
  const target = resolve(outDir);
  checkTarget(target, force);
  mkdirSync(dirname(target), { recursive: true });
  removeStaleSiblings(target);
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

/** Whether process `pid` is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `.partial-PID-N` / `.old-PID-N` siblings of `target` left by a killed export (their
 * PID is gone): the next export to the same place cleans up after it (issue #16 item 9).
 */
export function removeStaleSiblings(target: string): void {
  const pattern = new RegExp(`^\\.${basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(partial|old)-(\\d+)-\\d+$`);
  for (const name of readdirSync(dirname(target))) {
    const pid = Number(pattern.exec(name)?.[2]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(dirname(target), name), { recursive: true, force: true });
  }
}

// Where the workbench's own files are. The engine runs from app/ (tests, through Vitest) and
// from out/app/ (compiled), so paths are found by walking up to our package.json, not by depth.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'eora-workbench') {
      return (root = dir);
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the eora-workbench package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** The built renderer (electron-vite's output), served by the headless server. */
export function rendererDir(): string {
  return join(packageRoot(), 'out', 'renderer');
}

let version: string | undefined;

/** The workbench version from package.json. */
export function engineVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

// Export folders left half-written by a killed export are removed by the next export to the
// same place; a live process's temp folder and unrelated folders are left alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFolderAtomically } from './atomic-dir.js';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('writeFolderAtomically', () => {
  it('removes .partial/.old siblings of a killed export, keeps live and foreign ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'eora-partial-'));
    const dead = deadPid();
    for (const name of [`.out.partial-${dead}-0`, `.out.old-${dead}-3`, `.out.partial-${process.ppid}-1`, `.other.partial-${dead}-0`, 'mine']) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'weights.bin'), 'x');
    }
    const out = await writeFolderAtomically(join(root, 'out'), false, (dir) => writeFileSync(join(dir, 'export.json'), '{}'));
    expect(existsSync(join(out, 'export.json'))).toBe(true);
    expect(readdirSync(root).sort()).toEqual([`.other.partial-${dead}-0`, `.out.partial-${process.ppid}-1`, 'mine', 'out'].sort());
  });
});

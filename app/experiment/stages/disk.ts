// What a compression writes to its run folder, checked against the free space before the first
// block: a Llama-3-8B run needs ~120 GB of per-block checkpoints and as much again while they are
// assembled, and finding that out from ENOSPC forty minutes in loses the time, not the data.
//
// Per block, partial/ holds W_c (float32), the quantized state (codes as float32 there, U8 once
// assembled), and C of each input group (float64 [k, k]: at 8B 2.0 GB of the block's 3.8 GB).
// assemble() writes compressed / calibration / quantized .safetensors from them before it
// removes partial/, so the peak is the checkpoints plus the assembled files.
import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { gramOf } from '../../forward/calibration.js';
import type { LinearInfo } from '../../model/types.js';
import { RunError } from '../../run/run.js';

export interface RunDiskNeed {
  /** partial/ for the blocks still to run. */
  checkpoints: number;
  /** compressed + calibration + quantized .safetensors of every block. */
  assembled: number;
}

/** Bytes a compression of `linears` writes, blocks `firstLayer…` still to run; groupSize ≤ 0: one group per row. */
export function runDiskNeed(linears: readonly LinearInfo[], firstLayer: number, quant: { groupSize: number } | null, hiddenBytes: number): RunDiskNeed {
  let checkpoints = hiddenBytes; // the next block's input, one file overwritten each block
  let assembled = 0;
  const grams = new Map<string, { layer: number; k: number }>(); // one C [k, k] per block and input group
  for (const l of linears) {
    grams.set(`${l.layer}/${gramOf[l.kind]}`, { layer: l.layer, k: l.in });
    const weights = l.out * l.in;
    const groups = quant ? (quant.groupSize > 0 ? Math.ceil(l.in / quant.groupSize) : 1) : 0;
    const quantBytes = quant ? 2 * 4 * l.out * groups + 4 * l.in : 0; // scales, zeros; g_idx
    const block = 4 * weights + (quant ? 4 * weights + quantBytes : 0);
    if (l.layer >= firstLayer) checkpoints += block;
    assembled += 4 * weights + (quant ? weights + quantBytes : 0);
  }
  for (const { layer, k } of grams.values()) {
    const bytes = 8 * k * k;
    if (layer >= firstLayer) checkpoints += bytes;
    assembled += bytes;
  }
  return { checkpoints, assembled };
}

/** Free bytes on the file system holding `path` (or its nearest existing parent). */
export function freeBytes(path: string): number {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const s = statfsSync(at);
  return s.bavail * s.bsize;
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(1);

/** Refuses, before any block runs, a compression whose run folder will not fit on its disk. */
export function checkRunDisk(dir: string, need: RunDiskNeed, free = freeBytes(dir)): void {
  const total = need.checkpoints + need.assembled;
  if (total <= free) return;
  throw new RunError(
    `${dir}: this compression writes about ${gb(total)} GB (per-block checkpoints ${gb(need.checkpoints)} GB, then the assembled compressed, calibration and quantized files ${gb(need.assembled)} GB before the checkpoints are removed; C alone is float64 [k, k] per input group and block), but its disk has ${gb(free)} GB free. Free space, or choose --out on a larger disk.`,
  );
}

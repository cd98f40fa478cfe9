// A one-line progress bar on stderr: fraction, rate, ETA. Drawn only on a terminal and
// without --quiet, so pipes and CI logs stay clean.
import type { CliIO } from './args.js';

export interface ProgressBar {
  update(done: number, total: number): void;
  finish(): void;
}

const silent: ProgressBar = { update() {}, finish() {} };

export function progressBar(io: CliIO, label: string, unit: string, quiet: boolean): ProgressBar {
  if (quiet || !io.stderrIsTTY) return silent;
  const start = performance.now();
  let lastDraw = 0;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - lastDraw < 100 && done < total) return;
      lastDraw = now;
      const seconds = (now - start) / 1000;
      const rate = done / Math.max(seconds, 1e-9);
      const fraction = total > 0 ? Math.min(done / total, 1) : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
      const eta = rate > 0 && total > done ? `ETA ${formatSeconds((total - done) / rate)}` : '';
      io.stderr(`\r${label} [${bar}] ${done}/${total} ${unit} ${rate.toFixed(1)} ${unit}/s ${eta}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) io.stderr('\n');
    },
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)
    .toString()
    .padStart(2, '0')}s`;
}

/**
 * Prints what the user should know happened (a dead writer's lock taken over, damaged files
 * redone) on its own line, also under --quiet and --json (stderr): work was redone.
 */
export function noticePrinter(io: CliIO): (message: string) => void {
  return (message) => io.stderr(`${io.stderrIsTTY ? '\r\x1b[K' : ''}note: ${message}\n`);
}

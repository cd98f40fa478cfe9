// Ctrl-C for long commands: the first press aborts the job's signal (the pipeline stops at its
// next checkpoint and leaves a consistent run folder); a second press kills the process.
import type { CliIO } from './args.js';

export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

export function onInterrupt(io: CliIO, what: string): Interrupt {
  const controller = new AbortController();
  const onSigint = () => {
    io.stderr(`\nstopping ${what} (Ctrl-C again to kill)…\n`);
    controller.abort(new Error('stopped by Ctrl-C'));
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

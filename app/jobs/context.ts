// What an engine handler gets besides its params: a way to report progress and to learn that
// the caller gave up. Handlers call `checkpoint()` between units of work (a layer, a window):
// it yields to the event loop so a cancel message can arrive, then throws if it did.
import { ContractError, type Progress } from '../contract/index.js';

export interface JobContext {
  progress(progress: Progress): void;
  readonly signal: AbortSignal;
  checkpoint(): Promise<void>;
}

export function createJobContext(report: (p: Progress) => void, signal: AbortSignal): JobContext {
  return {
    progress: report,
    signal,
    async checkpoint() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal.aborted) throw signal.reason instanceof ContractError ? signal.reason : new ContractError('cancelled', 'cancelled');
    },
  };
}

/** A context for direct (CLI, test) use: no progress sink, never cancelled unless given a signal. */
export function directContext(onProgress?: (p: Progress) => void, signal?: AbortSignal): JobContext {
  return createJobContext(onProgress ?? (() => {}), signal ?? new AbortController().signal);
}

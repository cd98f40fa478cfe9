// What Electron's preload exposes to the renderer as `window.eora` (and nothing more).
// The headless server offers the same operations over HTTP; see renderer/src/lib/engine.ts.
import type { CallRequest, CallResponse, ProgressEvent } from './wire.js';

export interface EoraBridge {
  call(request: CallRequest): Promise<CallResponse>;
  /** Stops a call by id: this window's, or one found with `jobs.active` (a reload keeps the engine's jobs). */
  cancel(id: string): Promise<void>;
  /**
   * Subscribes to progress of this window's calls; returns the unsubscribe function. A job
   * started before a reload is followed with a `jobs.attach` call, whose progress comes here too.
   */
  onProgress(listener: (event: ProgressEvent) => void): () => void;
  /** Native file dialog for a model (directory or .bin); null when dismissed. */
  pickModel(): Promise<string | null>;
  /** Native folder dialog (export target, run folder); null when dismissed. */
  pickFolder(): Promise<string | null>;
}

/** IPC channel names; main rejects anything else. */
export const ipcChannels = {
  call: 'eora:call',
  cancel: 'eora:cancel',
  progress: 'eora:progress',
  pickModel: 'eora:pick-model',
  pickFolder: 'eora:pick-folder',
} as const;

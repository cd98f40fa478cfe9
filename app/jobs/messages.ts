// Messages between EngineHost (any thread that must stay responsive) and the engine worker.
import type { Method } from '../contract/index.js';
import type { CallResponse, ProgressEvent } from '../contract/wire.js';

export type ToWorker =
  | { type: 'call'; id: string; method: Method; params: unknown }
  | { type: 'cancel'; id: string };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'progress' } & ProgressEvent)
  | { type: 'response'; id: string; response: CallResponse };

/** Data the host hands the worker at start (worker_threads `workerData`). */
export interface WorkerConfig {
  host: 'electron' | 'server' | 'cli';
  device: string;
}

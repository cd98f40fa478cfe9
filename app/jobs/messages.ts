// Messages between EngineHost (any thread that must stay responsive) and the engine worker.
import type { Method } from '../contract/index.js';
import type { Device } from '../onnx/runtime.js';
import type { CallResponse, ProgressEvent } from '../contract/wire.js';

export type ToWorker =
  /**
   * `cancelFlag` is a shared Int32Array(1) the host sets to 1 on cancel. The worker reads it
   * synchronously at every progress report, because a busy worker (onnxruntime runs are
   * synchronous) does not get to see a posted message until its handler returns.
   */
  | { type: 'call'; id: string; method: Method; params: unknown; cancelFlag: Int32Array }
  | { type: 'cancel'; id: string };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'progress' } & ProgressEvent)
  | { type: 'response'; id: string; response: CallResponse };

/** Data the host hands the worker at start (worker_threads `workerData`). */
export interface WorkerConfig {
  host: 'electron' | 'server' | 'cli';
  device: Device;
}

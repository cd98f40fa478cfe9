// Messages between EngineHost (any process that must stay responsive) and the engine child
// process (app/jobs/worker.ts), over the fork IPC channel with 'advanced' serialization.
import type { Method } from '../contract/index.js';
import type { Device } from '../onnx/runtime.js';
import type { CallResponse, ProgressEvent } from '../contract/wire.js';

export type ToWorker =
  | { type: 'call'; id: string; method: Method; params: unknown }
  /** Shared memory does not cross processes: cancel is a message, SIGKILL the guarantee. */
  | { type: 'cancel'; id: string };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'progress' } & ProgressEvent)
  | { type: 'response'; id: string; response: CallResponse };

/** Data the host hands the engine process at start (as JSON in argv[2]). */
export interface WorkerConfig {
  host: 'electron' | 'server' | 'cli';
  device: Device;
}

/**
 * Test-only: when this variable names a method in the engine process's environment, a call of
 * that method blocks the process in a synchronous loop (a stand-in for a long onnxruntime run).
 */
export const TEST_HANG_ENV = 'EORA_TEST_HANG_METHOD';

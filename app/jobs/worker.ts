// The engine thread. onnxruntime-node's run() blocks its thread, so all engine work happens
// here and the host (server event loop, Electron main) only passes messages.
import { parentPort, workerData } from 'node:worker_threads';
import { ContractError, parseParams, toWireError, type Progress } from '../contract/index.js';
import { createJobContext } from './context.js';
import { createHandlers } from '../engine/handlers.js';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';

const port = parentPort;
if (!port) throw new Error('app/jobs/worker.js must run as a worker thread');

const config = workerData as WorkerConfig;
const handlers = createHandlers(config);
const inFlight = new Map<string, AbortController>();
const post = (message: FromWorker) => port.postMessage(message);

/**
 * Progress reports double as cancellation points: the shared flag is read here, synchronously,
 * and aborts the call's signal, which the handler's loop checks before its next unit of work.
 * At most one progress message per call every 50 ms, plus the last one.
 */
function progressReporter(id: string, cancelFlag: Int32Array, controller: AbortController) {
  let last = 0;
  return (progress: Progress) => {
    if (Atomics.load(cancelFlag, 0) === 1) controller.abort(new ContractError('cancelled', 'cancelled'));
    const now = Date.now();
    if (now - last < 50 && progress.done < progress.total) return;
    last = now;
    post({ type: 'progress', id, progress });
  };
}

async function handle(message: Extract<ToWorker, { type: 'call' }>) {
  const controller = new AbortController();
  inFlight.set(message.id, controller);
  try {
    const parsed = parseParams(message.method, message.params);
    const context = createJobContext(progressReporter(message.id, message.cancelFlag, controller), controller.signal);
    // jobs.* are the host's own and never arrive here; anything else without a handler is a bug.
    const handler = (handlers as Partial<Record<string, (p: unknown, c: typeof context) => Promise<unknown>>>)[message.method];
    if (!handler) throw new ContractError('unknown_method', `the engine worker has no handler for "${message.method}"`);
    const result = await handler(parsed, context);
    post({ type: 'response', id: message.id, response: { ok: true, result } });
  } catch (error) {
    // Whatever a cancelled handler threw on its way out, the caller asked to cancel.
    const wire = controller.signal.aborted ? { code: 'cancelled' as const, message: 'cancelled' } : toWireError(error);
    post({ type: 'response', id: message.id, response: { ok: false, error: wire } });
  } finally {
    inFlight.delete(message.id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'call') void handle(message);
  else inFlight.get(message.id)?.abort(new ContractError('cancelled', 'cancelled'));
});
post({ type: 'ready' });

// The engine process. onnxruntime-node's run() blocks its thread, so all engine work happens
// here, in a child process of the host (forked with `serialization: 'advanced'`, so typed
// arrays cross as structured clones), and the host (server event loop, Electron main) only
// passes messages. A child process, not a worker thread: terminating a thread that holds
// onnxruntime sessions aborts the whole process, while SIGKILL of a child reclaims its CPU
// and harms nothing else (issue #16, issue #15 item 8).
import { ContractError, parseParams, toWireError, type Progress } from '../contract/index.js';
import { createJobContext } from './context.js';
import { createHandlers } from '../engine/handlers.js';
import { TEST_HANG_ENV, type FromWorker, type ToWorker, type WorkerConfig } from './messages.js';

const send = process.send?.bind(process);
if (!send) throw new Error('app/jobs/worker.js must run as a child process with an IPC channel (child_process.fork)');
// The host is gone (closed, crashed or killed): no one is left to answer, so stop at once.
process.on('disconnect', () => process.exit(0));
// Ctrl+C reaches the whole process group: the host decides (it fails the calls, then kills us).
process.on('SIGINT', () => {});

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const handlers = createHandlers(config);
const inFlight = new Map<string, AbortController>();
// A host gone mid-send (EPIPE) must not crash us with an unhandled 'error': with a callback the
// error goes there, and 'disconnect' ends this process anyway.
const post = (message: FromWorker) => {
  if (process.connected) send(message, undefined, {}, () => {});
};
/** Test-only: a method that blocks this process synchronously, like a long onnxruntime run. */
const hangOn = process.env[TEST_HANG_ENV];

/** At most one progress message per call every 50 ms, plus the last one. */
function progressReporter(id: string) {
  let last = 0;
  return (progress: Progress) => {
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
    if (hangOn && message.method === hangOn) for (;;); // only SIGKILL ends this
    const context = createJobContext(progressReporter(message.id), controller.signal);
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

// Cancel arrives as a message: handlers await `checkpoint()` between units of work, which lets
// this handler run and abort the call's signal. A call stuck in native code never gets there;
// the host then kills this process.
process.on('message', (message: ToWorker) => {
  if (message.type === 'call') void handle(message);
  else inFlight.get(message.id)?.abort(new ContractError('cancelled', 'cancelled'));
});
post({ type: 'ready' });

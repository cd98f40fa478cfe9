// EngineHost: the one way a host (headless server, Electron main, tests) talks to the engine.
// Requests are validated here, before they cross to the engine, which runs in a child process
// per lane (app/jobs/worker.ts). Cancel asks the engine to stop at its next checkpoint; if it
// has not answered within `hardCancelMs` (it may be inside a long onnxruntime run), the process
// is SIGKILLed and a fresh one started: the CPU comes back at once and nothing else dies
// (terminating a worker thread that held onnxruntime sessions aborted the whole host, #16).
// Quick reads (list/open runs, inspect, validate) run in a second process of their own, so they
// never queue behind a long job (issue #15 item 8).
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ContractError,
  isMethod,
  parseParams,
  type Method,
  type Params,
  type Progress,
  type Result,
  type WireError,
} from '../contract/index.js';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';
import { JobRegistry } from './registry.js';

export interface CallOptions {
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** Caller's id (transports use theirs so progress events can be routed); default generated. */
  id?: string;
}

/** Reads that must answer while a job runs: they go to the `reads` worker, everything else to `jobs`. */
export const QUICK_READS: ReadonlySet<string> = new Set([
  'engine.info', 'defaults', 'runs.list', 'runs.open', 'run.spectrum', 'run.curves',
  'model.inspect', 'model.histogram', 'experiment.validate',
]);
type Lane = 'jobs' | 'reads';

interface Pending {
  lane: Lane;
  resolve(value: unknown): void;
  reject(error: ContractError): void;
  onProgress?: (progress: Progress) => void;
}

export interface EngineHostOptions {
  config: WorkerConfig;
  /** The compiled engine entry (out/app/jobs/worker.js). Default: next to this file. */
  workerFile?: string;
  hardCancelMs?: number;
  /** Extra environment for the engine processes (tests: TEST_HANG_ENV). */
  env?: Record<string, string>;
}

export class EngineHost {
  private readonly workers = new Map<Lane, ChildProcess>();
  private readonly pending = new Map<string, Pending>();
  /** Calls following another one (jobs.attach), by their own id: cancel stops the following. */
  private readonly attached = new Map<string, AbortController>();
  private nextId = 0;
  private closed = false;
  /** Every call in flight, for pages that did not start it (jobs.active, jobs.attach). */
  readonly jobs = new JobRegistry();

  constructor(private readonly options: EngineHostOptions) {
    this.start('jobs');
  }

  /** The engine process of `lane`, started on first use (the reads one only when a read comes). */
  private worker(lane: Lane): ChildProcess {
    return this.workers.get(lane) ?? this.start(lane);
  }

  /** The pid of `lane`'s engine process, if one runs (tests check a killed one is gone). */
  pid(lane: Lane): number | undefined {
    return this.workers.get(lane)?.pid;
  }

  private start(lane: Lane): ChildProcess {
    const file = this.options.workerFile ?? join(dirname(fileURLToPath(import.meta.url)), 'worker.js');
    // Under Electron, process.execPath is the Electron binary: it must run the child as Node.
    const electron = process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {};
    const child = fork(file, [JSON.stringify(this.options.config)], {
      serialization: 'advanced',
      env: { ...process.env, ...electron, ...this.options.env },
      execArgv: [],
    });
    this.workers.set(lane, child);
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    child.on('message', (message: FromWorker) => this.onMessage(message));
    child.on('error', (error) => {
      // Spawn failed or the channel broke: a dead child also emits 'exit', which replaces it.
      if (this.workers.get(lane) === child) this.failAll(lane, { code: 'engine', message: `engine process failed: ${error.message}` });
    });
    child.on('exit', (code, signal) => {
      if (this.closed || this.workers.get(lane) !== child) return;
      this.workers.delete(lane);
      this.failAll(lane, { code: 'engine', message: `the engine process died (${signal ?? `exit code ${code}`}); it has been restarted` });
      this.start(lane);
    });
    return child;
  }

  private onMessage(message: FromWorker) {
    if (message.type === 'progress') this.pending.get(message.id)?.onProgress?.(message.progress);
    if (message.type !== 'response') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    const { response } = message;
    if (response.ok) pending.resolve(response.result);
    else pending.reject(new ContractError(response.error.code, response.error.message));
  }

  /** Fails every call in flight on `lane` (all lanes when none is given). */
  private failAll(lane: Lane | undefined, error: WireError) {
    for (const [id, pending] of this.pending) {
      if (lane && pending.lane !== lane) continue;
      this.pending.delete(id);
      pending.reject(new ContractError(error.code, error.message));
    }
  }

  /** Validates and runs one call in the worker. Rejects with ContractError. */
  call<M extends Method>(method: M, params: Params<M>, options?: CallOptions): Promise<Result<M>>;
  call(method: string, params: unknown, options?: CallOptions): Promise<unknown>;
  call(method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new ContractError('engine', 'the engine is closed'));
    if (!isMethod(method)) return Promise.reject(new ContractError('unknown_method', `unknown method "${String(method)}"`));
    try {
      parseParams(method, params);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = options.id ?? `h${++this.nextId}`;
    if (this.pending.has(id) || this.attached.has(id)) return Promise.reject(new ContractError('invalid_params', `call id ${id} is already in flight`));
    if (method === 'jobs.active') return Promise.resolve({ jobs: this.jobs.list() });
    if (method === 'jobs.attach') return this.attach(id, parseParams('jobs.attach', params).id, options);
    this.jobs.start(id, method, params);
    const onProgress = (progress: Progress) => {
      this.jobs.progress(id, progress);
      options.onProgress?.(progress);
    };
    const call = new Promise((resolve, reject) => {
      const lane: Lane = QUICK_READS.has(method) ? 'reads' : 'jobs';
      this.pending.set(id, { lane, resolve, reject, onProgress });
      this.send(lane, { type: 'call', id, method, params });
      options.signal?.addEventListener('abort', () => this.cancel(id), { once: true });
    });
    call.then(
      (result) => this.jobs.end(id, { ok: true, result }),
      (error: ContractError) => this.jobs.end(id, { ok: false, error }),
    );
    return call;
  }

  /** jobs.attach: follows job `jobId` under this call's own `id` until it ends or this call is cancelled. */
  private attach(id: string, jobId: string, options: CallOptions): Promise<unknown> {
    const controller = new AbortController();
    this.attached.set(id, controller);
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    return this.jobs.watch(jobId, options.onProgress, controller.signal).finally(() => this.attached.delete(id));
  }

  /** Cancels a call in flight; its promise rejects with code 'cancelled'. */
  cancel(id: string) {
    this.attached.get(id)?.abort();
    const pending = this.pending.get(id);
    if (!pending) return;
    this.send(pending.lane, { type: 'cancel', id });
    const timer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      // The engine is stuck in native code or a long loop: kill it. Other calls on its lane fail too.
      this.pending.delete(id);
      pending.reject(new ContractError('cancelled', 'cancelled'));
      this.replaceWorker(pending.lane);
    }, this.options.hardCancelMs ?? 2000);
    timer.unref();
  }

  /** Posts to `lane`'s engine; a channel already closed is left to the child's 'exit' handler. */
  private send(lane: Lane, message: ToWorker) {
    const child = this.worker(lane);
    // The callback swallows a send racing a dying child (its exit fails the call instead).
    if (child.connected) child.send(message, () => {});
  }

  /**
   * Swaps in a fresh engine process at once (calls made from now on go to it) and SIGKILLs the
   * old one, failing the calls it still had: waiting for its 'exit' would let a call posted in
   * between go to the dying process and be lost.
   */
  private replaceWorker(lane: Lane) {
    const old = this.worker(lane);
    old.removeAllListeners('message');
    this.workers.delete(lane);
    this.failAll(lane, { code: 'engine', message: 'the engine was restarted to stop a cancelled call' });
    this.start(lane);
    old.kill('SIGKILL');
    this.replaced.push(old);
  }

  /** Engine processes killed by a hard cancel (kept so tests can check they are gone). */
  readonly replaced: ChildProcess[] = [];

  /** Fails every call, then kills the engine processes and waits until they are gone. */
  async close() {
    this.closed = true;
    this.failAll(undefined, { code: 'engine', message: 'the engine is closing' });
    await Promise.all([...this.workers.values()].map((child) => exited(child, true)));
    this.workers.clear();
  }
}

/**
 * Engine processes of every host in this process. A child notices its parent's exit through its
 * IPC channel, but not while it is blocked in native code: on process.exit (serve's shutdown
 * deadline, the CLI's end) they are killed here, synchronously, so none is left spinning.
 */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Resolves once `child` has exited (and been reaped), killing it first when asked. */
export function exited(child: ChildProcess, kill = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (kill) child.kill('SIGKILL');
  return gone;
}

// EngineHost: the one way a host (headless server, Electron main, tests) talks to the engine.
// Requests are validated here, before they cross to the worker. Cancel asks the worker to stop
// at its next checkpoint; if it has not answered within `hardCancelMs` (it may be inside a long
// onnxruntime run), the worker is terminated and a fresh one started, so cancel always works.
// Quick reads (list/open runs, inspect, validate) run in a second worker of their own, so they
// never queue behind a long job (issue #15 item 8).
import { Worker } from 'node:worker_threads';
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
  cancelFlag: Int32Array;
  resolve(value: unknown): void;
  reject(error: ContractError): void;
  onProgress?: (progress: Progress) => void;
}

export interface EngineHostOptions {
  config: WorkerConfig;
  /** The compiled worker (out/app/jobs/worker.js). Default: next to this file. */
  workerFile?: string;
  hardCancelMs?: number;
}

export class EngineHost {
  private readonly workers = new Map<Lane, Worker>();
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

  /** The worker of `lane`, started on first use (the reads worker only when a read comes). */
  private worker(lane: Lane): Worker {
    return this.workers.get(lane) ?? this.start(lane);
  }

  private start(lane: Lane): Worker {
    const file = this.options.workerFile ?? join(dirname(fileURLToPath(import.meta.url)), 'worker.js');
    const worker = new Worker(file, { workerData: this.options.config });
    this.workers.set(lane, worker);
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.failAll(lane, { code: 'engine', message: `engine worker crashed: ${error.message}` }));
    worker.on('exit', (code) => {
      if (this.closed) return;
      this.failAll(lane, { code: 'engine', message: `engine worker exited (code ${code})` });
      this.start(lane);
    });
    return worker;
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
      const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
      const lane: Lane = QUICK_READS.has(method) ? 'reads' : 'jobs';
      this.pending.set(id, { lane, cancelFlag, resolve, reject, onProgress });
      this.worker(lane).postMessage({ type: 'call', id, method, params, cancelFlag } satisfies ToWorker);
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
    Atomics.store(pending.cancelFlag, 0, 1);
    this.worker(pending.lane).postMessage({ type: 'cancel', id } satisfies ToWorker);
    const timer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      // The worker is stuck in native code: replace it. Other calls in flight fail too.
      this.pending.delete(id);
      pending.reject(new ContractError('cancelled', 'cancelled'));
      this.replaceWorker(pending.lane);
    }, this.options.hardCancelMs ?? 2000);
    timer.unref();
  }

  /**
   * Swaps in a fresh worker at once (calls made from now on go to it) and terminates the old
   * one, failing the calls it still had: waiting for its 'exit' would let a call posted in
   * between go to the dying worker and be lost.
   */
  private replaceWorker(lane: Lane) {
    const old = this.worker(lane);
    old.removeAllListeners();
    this.failAll(lane, { code: 'engine', message: 'the engine was restarted to stop a cancelled call' });
    this.start(lane);
    void old.terminate();
    this.replaced.push(old);
  }

  /** Workers terminated by a hard cancel (kept so tests can check their threads are gone). */
  readonly replaced: Worker[] = [];

  async close() {
    this.closed = true;
    this.failAll(undefined, { code: 'engine', message: 'the engine is closing' });
    await Promise.all([...this.workers.values()].map((worker) => worker.terminate()));
  }
}

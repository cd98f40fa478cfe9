// Reads and widens the next decoder block on a worker thread while onnxruntime computes this
// one — when that pays. A streamed pass over a BF16 checkpoint spends a quarter of its time
// on the main thread in `read` and the BF16 → float32 widening, with onnxruntime idle.
//
// When it pays: a read that waits on the disk costs no CPU, so overlapping it with compute is
// free. A read served from the page cache is a memcpy plus the widening: CPU work, bound by
// memory bandwidth, that takes a core from onnxruntime's two threads; its statically split
// Gemms then wait for the slower thread, so the block slows by about the worker's whole time.
// Measured on the 2-core machine (Llama-3.2-1B shape, 512 tokens, quiet, three runs each):
// checkpoint in the page cache, 5.1–5.3 s without read-ahead vs 5.6–6.1 s with it (onnxruntime's
// block time 3.0 → 4.3 s); page cache dropped before each run, 7.4–8.5 s vs 7.1–7.9 s. So the
// store times its synchronous reads (`readsWaitOnDisk`) and reads ahead only while they wait.
//
// Buffers travel, they are not shared: onnxruntime-node refuses SharedArrayBuffer-backed
// inputs, so the main thread transfers the dropped block's ArrayBuffers to the worker (no
// copy, and their pages are already touched), the worker fills them and transfers them back.
// The main thread waits synchronously (Atomics.wait, then receiveMessageOnPort), so the weight
// store keeps its synchronous API; by the time the next block is needed the read is usually done.
//
// The worker is a string of JavaScript (eval), not a module file, so it runs the same under
// Vitest (TypeScript sources) and from out/; its widening is widenBf16InPlace's own source.
import { readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { widenBf16InPlace } from '../model/safetensors.js';
import type { TensorLocation } from '../model/types.js';
import { countNonFinite } from '../model/validate.js';

/** One tensor to read: its bytes on disk and, if there is one to reuse, an ArrayBuffer of 4·count bytes. */
export interface ReadJob {
  name: string; // for error messages
  location: TensorLocation;
  count: number; // float32 elements
  buffer?: ArrayBuffer;
}

/** A filled job: the float32 data and its NaN/±Inf count. */
export interface ReadResult {
  data: Float32Array;
  nonFinite: number;
}

// status: [0] 1 once a read's results are posted, [1] 1 once the worker runs, [2] 1 once it exits.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const widenBf16InPlace = ${widenBf16InPlace.toString()};
const countNonFinite = ${countNonFinite.toString()};
const { port, status } = workerData;
const fds = new Map(); // file → fd, closed when the store lets go of the worker
function readFully(fd, bytes, offset) {
  for (let done = 0; done < bytes.byteLength; ) {
    const n = readSync(fd, bytes, done, bytes.byteLength - done, offset + done);
    if (n === 0) throw new Error('unexpected end of file at byte ' + (offset + done) + '; the file may be truncated');
    done += n;
  }
}
process.on('exit', () => { Atomics.store(status, 2, 1); Atomics.notify(status, 0); });
port.on('message', (jobs) => {
  const results = [];
  let error = null;
  let where = '';
  try {
    for (const { name, location, count, buffer } of jobs) {
      where = location.file + ': tensor ' + name;
      const out = buffer ?? new ArrayBuffer(4 * count);
      let fd = fds.get(location.file);
      if (fd === undefined) fds.set(location.file, (fd = openSync(location.file, 'r')));
      let nonFinite = 0;
      if (location.dtype === 'BF16') {
        readFully(fd, new Uint8Array(out, 2 * count, 2 * count), location.offset);
        nonFinite = widenBf16InPlace(out, 0, count);
      } else {
        readFully(fd, new Uint8Array(out, 0, 4 * count), location.offset);
        nonFinite = countNonFinite(new Float32Array(out, 0, count));
      }
      results.push({ buffer: out, nonFinite });
    }
  } catch (e) {
    error = where + ': ' + String(e && e.message || e);
  }
  try {
    port.postMessage({ results, error }, results.map((r) => r.buffer));
  } catch (e) {
    port.postMessage({ results: [], error: String(e && e.message || e) });
  } finally {
    Atomics.store(status, 0, 1); // the main thread waits on this; always set
    Atomics.notify(status, 0);
  }
});
port.on('close', () => { for (const fd of fds.values()) closeSync(fd); fds.clear(); });
Atomics.store(status, 1, 1);
Atomics.notify(status, 1);
`;

/**
 * Whether synchronous reads that took `wallMs` with `cpuMs` on a CPU waited on the disk: less
 * than half the wall time on a CPU. Reads under 5 ms say nothing either way.
 */
export function readsWaitOnDisk(wallMs: number, cpuMs: number): boolean | undefined {
  if (wallMs < 5) return undefined;
  return cpuMs < 0.5 * wallMs;
}

/**
 * CPU milliseconds of the calling thread: Linux's /proc/thread-self/schedstat (its first field
 * is the nanoseconds run), ~8 µs a call. Elsewhere the process's CPU time, which also counts
 * onnxruntime's threads spinning down after a run: that errs towards "no read-ahead", the
 * cheaper mistake on a warm cache.
 */
function threadCpuMs(): number {
  if (schedstat !== null) {
    try {
      return Number(readFileSync(schedstat, 'latin1').split(' ', 1)[0]) / 1e6;
    } catch {
      schedstat = null;
    }
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
let schedstat: string | null = process.platform === 'linux' ? '/proc/thread-self/schedstat' : null;

/** Times synchronous reads (wall and this thread's CPU) so the store can ask `readsWaitOnDisk` about them. */
export class ReadTimer {
  private wallMs = 0;
  private cpuMs = 0;

  time<T>(read: () => T): T {
    const wall0 = performance.now();
    const cpu0 = threadCpuMs();
    try {
      return read();
    } finally {
      this.cpuMs += threadCpuMs() - cpu0;
      this.wallMs += performance.now() - wall0;
    }
  }

  /** The verdict on the reads timed since the last call (undefined: too little to tell), and a fresh start. */
  verdict(): boolean | undefined {
    const verdict = readsWaitOnDisk(this.wallMs, this.cpuMs);
    this.wallMs = this.cpuMs = 0;
    return verdict;
  }
}

/** How long a new worker may take to start before the store reads on the main thread instead. */
const START_TIMEOUT_MS = 10_000;

/** Formats the worker reads itself; F16 (and anything else) goes through the model's reader. */
export const prefetchable = (location: TensorLocation | undefined, count: number): location is TensorLocation =>
  !!location && ((location.dtype === 'BF16' && location.byteLength === 2 * count) || (location.dtype === 'F32' && location.byteLength === 4 * count));

export class Prefetcher {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly status = new Int32Array(new SharedArrayBuffer(12)); // see WORKER_SOURCE
  private inFlight = false;

  /** Starts the worker and waits until it runs; throws if it does not (the caller then reads on the main thread). */
  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // execArgv []: the parent's flags are not the worker's (`--input-type=module` would make this
    // CommonJS source a module without `require`; a `--require` hook would run twice).
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { port: port2, status: this.status }, transferList: [port2] });
    this.worker.unref(); // never keeps the process alive
    // A worker that dies must not take the process with it (an 'error' event without a
    // listener would); the flag tells a waiting `finish`.
    this.worker.on('error', () => Atomics.store(this.status, 2, 1));
    Atomics.wait(this.status, 1, 0, START_TIMEOUT_MS);
    if (Atomics.load(this.status, 1) !== 1) {
      void this.worker.terminate();
      throw new Error(`the prefetch worker did not start within ${START_TIMEOUT_MS / 1000} s`);
    }
  }

  get busy(): boolean {
    return this.inFlight;
  }

  /** Starts reading `jobs`; their buffers are transferred (detached here) until `finish`. */
  start(jobs: readonly ReadJob[]): void {
    if (this.inFlight) throw new Error('Prefetcher.start: a read is already in flight');
    Atomics.store(this.status, 0, 0);
    this.port.postMessage(jobs, jobs.flatMap((j) => (j.buffer ? [j.buffer] : [])));
    this.inFlight = true;
  }

  /** Waits for the read started last and returns its arrays in job order; an Error ("file: problem") if the worker failed. */
  finish(): ReadResult[] | Error {
    if (!this.inFlight) throw new Error('Prefetcher.finish: no read in flight');
    // In slices: a worker that died (out of memory, terminated) never sets the flag, and its
    // 'exit' event cannot be delivered to a thread blocked here; its exit hook sets status[2].
    while (Atomics.load(this.status, 0) === 0) {
      if (Atomics.load(this.status, 2) === 1) {
        this.inFlight = false;
        return new Error('the prefetch worker exited during a read');
      }
      Atomics.wait(this.status, 0, 0, 1000);
    }
    this.inFlight = false;
    const message = receiveMessageOnPort(this.port)?.message as { results: { buffer: ArrayBuffer; nonFinite: number }[]; error: string | null } | undefined;
    if (!message) return new Error('the prefetch worker signalled completion without a result');
    if (message.error !== null) return new Error(message.error);
    return message.results.map(({ buffer, nonFinite }) => ({ data: new Float32Array(buffer), nonFinite }));
  }

  /** Waits for a read in flight (its buffers are dropped) and stops the worker. */
  async close(): Promise<void> {
    if (this.inFlight) this.finish();
    this.port.close();
    await this.worker.terminate();
  }
}

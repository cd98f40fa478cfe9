// lm_head streamed in row chunks: the head graph multiplies [count, d] rows at a time with a
// running log-sum-exp (graphs/headGraph.ts), so no [V, d] float32 matrix is resident. Chunks
// are read into two buffers in turn (a short last chunk into a front part): when the store's
// reads wait on the disk, the worker reads chunk k + 1 into one while the head multiplies chunk
// k from the other (the policy and the worker are the store's: weight-store.ts, prefetch.ts).
import { ModelError, type Model } from '../model/types.js';
import { knownNonFinite, requireFinite } from '../model/validate.js';
import type { WeightAccount } from './memory.js';
import { prefetchable, type Prefetcher } from './prefetch.js';
import type { HeadShape } from './shape.js';

/** What the chunks borrow from their weight store. */
export interface ChunkReads {
  /** Rows [start, start + count) of a [rows, d] tensor, into `into` where the reader can; timed for the read-ahead verdict. */
  readRows(name: string, start: number, count: number, into: Float32Array): Float32Array;
  /** Whether to read the next chunk ahead (policy and verdict). */
  readAhead(): boolean;
  /** The store's read-ahead worker, started on first use; null where it cannot start. */
  worker(): Prefetcher | null;
}

export class HeadChunks {
  private readonly buffers: (Float32Array | null)[] = [null, null];
  private slot = 0; // the buffer holding the chunk handed out last
  private pending: { tensor: string; v0: number; count: number; slot: number } | null = null;

  constructor(
    private readonly model: Model,
    private readonly head: HeadShape,
    private readonly account: WeightAccount,
    private readonly label: string,
    private readonly reads: ChunkReads,
    /** Rows of a whole chunk (buffers are allocated to it). */
    private readonly chunkRows: () => number,
  ) {}

  /**
   * Rows [v0, v0 + count) of `tensor` as float32 [count, d], valid until the call after next;
   * `next`: the chunk the head will ask for then, read ahead while this one is used.
   */
  rows(tensor: string, v0: number, count: number, next?: { v0: number; count: number }): Float32Array {
    let rows = this.takePrefetched(tensor, v0, count);
    if (!rows) {
      const into = this.buffer(this.slot, count);
      rows = this.reads.readRows(tensor, v0, count, into);
      if (rows !== into) this.account.hold(`${this.label} lm_head chunk`, [rows]); // the reader's own array
    }
    if (next && this.reads.readAhead()) this.startPrefetch(tensor, next.v0, next.count, 1 - this.slot);
    return rows;
  }

  /** Whether a chunk is being read ahead (the store must `cancel` it before using the worker). */
  get reading(): boolean {
    return this.pending !== null;
  }

  /** Forgets a read ahead; the caller has waited for the worker. */
  forgetPending(): void {
    this.pending = null;
  }

  /** Drops both buffers (the head is done, or the cache is cleared). */
  dropBuffers(): void {
    for (const slot of [0, 1]) this.setBuffer(slot, null);
  }

  /** The first `count` rows of buffer `slot`, (re)allocated to a whole chunk when missing or short. */
  private buffer(slot: number, count: number): Float32Array {
    const d = this.head.hidden;
    let buffer = this.buffers[slot];
    if (!buffer || buffer.length < count * d) this.setBuffer(slot, (buffer = new Float32Array(Math.max(count, this.chunkRows()) * d)));
    return buffer.length === count * d ? buffer : buffer.subarray(0, count * d);
  }

  private setBuffer(slot: number, buffer: Float32Array | null): void {
    this.buffers[slot] = buffer;
    this.account.hold(`${this.label} lm_head buffer ${slot}`, buffer ? [buffer] : []);
  }

  private startPrefetch(tensor: string, v0: number, count: number, slot: number): void {
    const at = this.model.locate?.(tensor);
    const worker = at ? this.reads.worker() : null;
    if (!at || !worker || worker.busy) return;
    const rowBytes = at.byteLength / this.head.vocab;
    const location = { ...at, offset: at.offset + v0 * rowBytes, byteLength: count * rowBytes };
    if (!prefetchable(location, count * this.head.hidden)) return;
    const buffer = this.buffer(slot, count).buffer as ArrayBuffer; // transferred: detached here, so dropped from the account first
    this.setBuffer(slot, null);
    worker.start([{ name: `${tensor} rows [${v0}, ${v0 + count})`, location, count: count * this.head.hidden, buffer }]);
    this.pending = { tensor, v0, count, slot };
    this.account.hold(`${this.label} prefetch`, [{ length: 0, byteLength: buffer.byteLength }]);
  }

  /** The chunk read ahead, finite-checked, if it is the one asked for (its buffer becomes the current one); else null. */
  private takePrefetched(tensor: string, v0: number, count: number): Float32Array | null {
    const pending = this.pending;
    if (!pending) return null;
    this.pending = null;
    const results = this.reads.worker()!.finish(); // a read is pending, so the worker runs
    this.account.release(`${this.label} prefetch`);
    if (results instanceof Error) throw new ModelError(this.model.path, `reading lm_head ahead: ${results.message}`);
    this.setBuffer(pending.slot, results[0].data);
    if (pending.tensor !== tensor || pending.v0 !== v0 || pending.count !== count) return null;
    this.slot = pending.slot;
    const rows = this.buffer(pending.slot, count);
    knownNonFinite.set(rows, results[0].nonFinite);
    return requireFinite(rows, `${tensor} rows [${v0}, ${v0 + count})`, this.model.path);
  }
}

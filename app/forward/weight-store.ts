// Where the forward pass's weights come from, and how long they stay (the README's memory
// model; every array is reported to forward/memory.ts). A block's tensors are read when the
// block runs and dropped when the next one loads (an LRU of one block); the embedding gathers
// only the rows it needs (Model.readRows); lm_head is served in row-chunks. A model whose
// float32 weights fit `weightAccount.cacheBytes` (the bundled one) is read once and kept.
//
// Substitutions: `setWeight` holds a tensor until `releaseLayer`/`reset`; a weight source
// provides substitutes lazily as blocks load (a variant's W_c + B·A read from the run folder).
//
// Recycling: a streamed block's arrays are handed to the next block's reads (`spare`), so after
// the first block no page is touched for the first time (fresh arrays cost a page fault per
// 4 kB and GC work: 4.6 GB a pass at 1B). Only arrays this store allocated and nobody else saw
// are recycled: not substitutions, not a source's, not a reader's own (Model.readTensor may
// ignore `into`), not a block lent out through `lendBlockTensor` (compress keeps W).
//
// Prefetch: during a plain forward pass (`blockWeights(layer, true)`) the next block is read
// and widened on a worker (forward/prefetch.ts) into the dropped block's buffers while this one
// computes: one block in use plus at most one being read. Only while the synchronous reads
// wait on the disk (a warm page cache makes the worker a competitor for onnxruntime's cores;
// block 0 and lm_head's first chunk, always read here, decide each pass), not while a source
// substitutes (a variant's blocks are formed on the main thread), not from formats it cannot
// read raw.
//
// A cache budget (`setCacheBudget`, for generation, which runs the model once per token) keeps
// more: the whole model when its float32 weights fit, else the first blocks that fit, pinned.
// Pinned, not LRU: the forward visits blocks in a cycle, where an LRU smaller than the cycle
// evicts every block just before it is needed again.
import { ModelError, type Model } from '../model/types.js';
import { knownNonFinite, requireFinite } from '../model/validate.js';
import { bytesOf, weightAccount, type WeightAccount } from './memory.js';
import { HeadChunks } from './head-chunks.js';
import { prefetchable, Prefetcher, ReadTimer, type ReadJob } from './prefetch.js';
import type { BlockShape, HeadShape } from './shape.js';
import { blockTensorSpecs, checkLength, headTensorSpecs, layerPrefix, readChecked } from './weights.js';

/** A substitute for a checkpoint tensor (HF name), or undefined to read the checkpoint's. */
export type WeightSource = (name: string) => Float32Array | undefined;

let storeCount = 0;

export class WeightStore {
  private readonly overrides = new Map<string, Float32Array>(); // setWeight: HF tensor name → data
  private source: WeightSource | null = null;
  private readonly blocks = new Map<number, Map<string, Float32Array>>(); // LRU (insertion order) of loaded blocks
  private readonly small = new Map<string, Float32Array>(); // final norm; embedding and head when kept resident
  private readonly label = `weights#${++storeCount}`;
  private readonly account: WeightAccount = weightAccount;
  private readonly totalBytes: number; // float32 bytes of every tensor the forward uses
  private readonly fitsDefault: boolean; // the whole model fits weightAccount.cacheBytes (at construction)
  private budget = 0; // setCacheBudget
  private readonly pinned = new Map<number, number>(); // layer → bytes of a block kept under the budget
  private readonly owned = new Map<number, Float32Array[]>(); // layer → its arrays this store allocated and filled, not lent out
  private spare = new Map<number, Float32Array[]>(); // length → recyclable arrays of the last dropped block
  private prefetcher: Prefetcher | null = null; // the worker, started on first use
  private noPrefetch = false; // the worker could not start here
  private readonly readTimer = new ReadTimer(); // the synchronous reads of the block or chunk being loaded
  private readsWait = false; // the last timed reads waited on the disk: reading ahead pays
  private pending: { layer: number; names: string[] } | null = null; // the block being read ahead
  private readonly headChunks: HeadChunks; // streamed lm_head

  constructor(
    private readonly model: Model,
    /** HF tensor name → the dims the config implies. */
    private readonly dims: ReadonlyMap<string, number[]>,
    private readonly block: BlockShape,
    private readonly head: HeadShape,
    private readonly tied: boolean,
  ) {
    let total = 0;
    for (const d of dims.values()) total += 4 * d.reduce((a, b) => a * b, 1);
    this.totalBytes = total;
    this.fitsDefault = total <= this.account.cacheBytes;
    const reads = {
      readRows: (name: string, start: number, count: number, into: Float32Array) => this.timedRead(() => this.readRows(name, start, count, into)),
      readAhead: () => this.readAhead(),
      worker: () => this.prefetchWorker(),
    };
    this.headChunks = new HeadChunks(model, head, this.account, this.label, reads, () => this.headChunkRows());
  }

  /** Read once, keep every block: the model fits weightAccount.cacheBytes or the cache budget. */
  get keepAll(): boolean {
    return this.fitsDefault || this.totalBytes <= this.budget;
  }

  /**
   * Bytes of float32 weights this store may keep beyond streaming (0: stream, the default).
   * Lowering it drops what no longer fits on the spot.
   */
  setCacheBudget(bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`cache budget must be ≥ 0 bytes, got ${bytes}`);
    const shrinks = bytes < this.budget;
    this.budget = bytes;
    if (shrinks && !this.fitsDefault) this.clearCache();
  }

  /** Holds `data` for `name` (checked against the config's dims by the caller) until releaseLayer or reset. */
  setWeight(name: string, data: Float32Array): void {
    this.overrides.set(name, data);
    this.dropCached(name);
    this.account.hold(`${this.label} substitutions`, [...this.overrides.values()]);
  }

  setSource(source: WeightSource | null): void {
    this.source = source;
    this.clearCache();
  }

  releaseLayer(layer: number): void {
    const prefix = layerPrefix(layer);
    for (const name of [...this.overrides.keys()]) if (name.startsWith(prefix)) this.overrides.delete(name);
    this.account.hold(`${this.label} substitutions`, [...this.overrides.values()]);
    this.dropBlock(layer);
  }

  /** Drops substitutions, the source and cached reads. */
  reset(): void {
    this.overrides.clear();
    this.account.release(`${this.label} substitutions`);
    this.source = null;
    this.clearCache();
  }

  /** Drops everything, the final norm included, and stops the prefetch worker. */
  async release(): Promise<void> {
    this.reset();
    this.small.clear();
    this.account.release(`${this.label} resident`);
    const prefetcher = this.prefetcher;
    this.prefetcher = null;
    await prefetcher?.close();
  }

  /** The whole [V, d] embedding when it is substituted or kept resident; null when it streams by row. */
  wholeEmbedding(): Float32Array | null {
    const name = 'model.embed_tokens.weight';
    return this.overrides.get(name) ?? (this.keepAll ? this.smallTensor(name) : null);
  }

  /** Rows of the embedding for the sorted distinct `ids`: id → [d] row, accounted until `releaseRows`. */
  embeddingRows(ids: readonly number[]): Map<number, Float32Array> {
    const d = this.head.hidden;
    const rowOf = new Map<number, Float32Array>();
    const reads: Float32Array[] = [];
    for (let i = 0; i < ids.length; ) {
      let j = i + 1;
      while (j < ids.length && ids[j] === ids[j - 1] + 1) j++; // one read per run of consecutive ids
      const rows = this.readRows('model.embed_tokens.weight', ids[i], j - i);
      reads.push(rows);
      for (let k = i; k < j; k++) rowOf.set(ids[k], rows.subarray((k - i) * d, (k - i + 1) * d));
      i = j;
    }
    this.account.hold(`${this.label} embedding rows`, reads);
    return rowOf;
  }

  releaseRows(): void {
    this.account.release(`${this.label} embedding rows`);
    this.account.release(`${this.label} lm_head chunk`);
  }

  /** The head is done: its chunk buffers go (the blocks of the next pass and their read-ahead need the room). */
  endHead(): void {
    this.cancelPrefetch();
    this.headChunks.dropBuffers();
  }

  /**
   * The tensors of block `layer` (substitutions first, then the source, then the checkpoint),
   * loaded on first use. `prefetchNext`: a plain forward pass, which will want `layer + 1` next.
   */
  blockWeights(layer: number, prefetchNext = false): Map<string, Float32Array> {
    const cached = this.blocks.get(layer);
    if (cached) {
      this.blocks.delete(layer); // most recently used goes last
      this.blocks.set(layer, cached);
      return cached;
    }
    if (!this.keepAll) for (const old of [...this.blocks.keys()]) if (!this.pinned.has(old)) this.dropBlock(old, true); // one block resident while streaming
    const prefix = layerPrefix(layer);
    const block = new Map<string, Float32Array>();
    const owned: Float32Array[] = [];
    const fetched = this.takePrefetched(layer);
    for (const { tensor, dims } of blockTensorSpecs(this.block)) {
      const name = prefix + tensor;
      let data = this.overrides.get(name) ?? this.fromSource(name, dims) ?? fetched?.get(name);
      if (!data) {
        const into = this.takeSpare(dims.reduce((a, b) => a * b, 1));
        data = this.readTimer.time(() => readChecked(this.model, name, dims, into)); // judged once for the block, below
        if (data === into) owned.push(data);
      } else if (fetched?.get(name) === data) owned.push(data);
      block.set(name, data);
    }
    this.readsWait = this.readTimer.verdict() ?? this.readsWait;
    if (prefetchNext && this.readAhead()) this.startPrefetch(layer + 1);
    this.dropSpare(); // what neither the new block nor the prefetch took
    this.blocks.set(layer, block);
    this.owned.set(layer, owned);
    this.account.hold(`${this.label} block ${layer}`, [...block.values()]);
    const bytes = bytesOf(...block.values());
    let pinnedBytes = 0;
    for (const b of this.pinned.values()) pinnedBytes += b;
    if (!this.keepAll && pinnedBytes + bytes <= this.budget) this.pinned.set(layer, bytes);
    return block;
  }

  private fromSource(name: string, dims: readonly number[]): Float32Array | undefined {
    const data = this.source?.(name);
    if (data) checkLength(this.model.path, name, data, dims);
    return data;
  }

  /**
   * A block tensor for a caller that keeps it beyond the block's residency (compress's W):
   * the block's arrays are no longer recycled.
   */
  lendBlockTensor(layer: number, name: string): Float32Array | undefined {
    const data = this.blockWeights(layer).get(name);
    this.owned.delete(layer);
    return data;
  }

  /** `recycle`: the block's own arrays become the next block's read targets (streaming only). */
  private dropBlock(layer: number, recycle = false): void {
    const owned = this.owned.get(layer);
    this.owned.delete(layer);
    this.blocks.delete(layer);
    this.pinned.delete(layer);
    this.account.release(`${this.label} block ${layer}`);
    if (!recycle || !owned) return;
    this.dropSpare();
    for (const a of owned) this.addSpare(a);
  }

  /** Starts reading block `next` on the worker into spare buffers, if it is worth it and allowed (see the header). */
  private startPrefetch(next: number): void {
    if (this.keepAll || this.source || this.prefetcher?.busy || next >= this.model.config.num_layers || this.blocks.has(next) || !this.model.locate) return;
    const worker = this.prefetchWorker();
    if (!worker) return;
    const prefix = layerPrefix(next);
    const names: string[] = [];
    const jobs: ReadJob[] = [];
    for (const { tensor, dims } of blockTensorSpecs(this.block)) {
      const name = prefix + tensor;
      const count = dims.reduce((a, b) => a * b, 1);
      const location = this.model.locate(name);
      if (this.overrides.has(name) || !prefetchable(location, count)) continue;
      const spare = this.spare.get(count)?.pop();
      const whole = spare && spare.byteOffset === 0 && spare.buffer.byteLength === 4 * count && spare.buffer instanceof ArrayBuffer;
      jobs.push({ name, location, count, buffer: whole ? (spare.buffer as ArrayBuffer) : undefined }); // transferred: detached here
      names.push(name);
    }
    if (jobs.length === 0) return;
    this.account.hold(`${this.label} spare`, [...this.spare.values()].flat());
    worker.start(jobs);
    this.pending = { layer: next, names };
    this.account.hold(`${this.label} prefetch`, [{ length: 0, byteLength: 4 * jobs.reduce((sum, j) => sum + j.count, 0) }]);
  }

  /**
   * The arrays read ahead for `layer`, finite-checked (name → data), or null. A read ahead of
   * another layer or a tensor substituted since leaves those reads to the synchronous path.
   */
  private takePrefetched(layer: number): Map<string, Float32Array> | null {
    const pending = this.pending;
    if (!pending) return null;
    this.pending = null;
    const results = this.prefetcher!.finish();
    this.account.release(`${this.label} prefetch`);
    if (results instanceof Error) throw new ModelError(this.model.path, `reading block ${pending.layer} ahead: ${results.message}`);
    const fetched = new Map<string, Float32Array>();
    pending.names.forEach((name, i) => {
      const { data, nonFinite } = results[i];
      if (pending.layer !== layer || this.overrides.has(name)) return this.addSpare(data);
      knownNonFinite.set(data, nonFinite);
      fetched.set(name, requireFinite(data, name, this.model.path));
    });
    return fetched;
  }

  /** A synchronous read, timed and judged on its own (an lm_head chunk). */
  private timedRead<T>(read: () => T): T {
    const result = this.readTimer.time(read);
    this.readsWait = this.readTimer.verdict() ?? this.readsWait;
    return result;
  }

  /** Whether to read the next block or chunk ahead: the policy (weightAccount.readAhead), 'auto' asking the last synchronous reads. */
  private readAhead(): boolean {
    const policy = this.account.readAhead;
    return policy === 'always' || (policy === 'auto' && this.readsWait);
  }

  /**
   * The read-ahead worker, started on first use; null where it cannot start (the store then
   * reads every tensor on the main thread: the same reads, only not overlapped).
   */
  private prefetchWorker(): Prefetcher | null {
    if (this.prefetcher || this.noPrefetch) return this.prefetcher;
    try {
      this.prefetcher = new Prefetcher();
    } catch {
      this.noPrefetch = true;
    }
    return this.prefetcher;
  }

  /** Waits for a read ahead and drops it (the cache is being cleared). */
  private cancelPrefetch(): void {
    if (!this.pending && !this.headChunks.reading) return;
    this.pending = null;
    this.headChunks.forgetPending();
    this.prefetcher!.finish();
    this.account.release(`${this.label} prefetch`);
  }

  private addSpare(a: Float32Array): void {
    const list = this.spare.get(a.length);
    if (list) list.push(a);
    else this.spare.set(a.length, [a]);
    this.account.hold(`${this.label} spare`, [...this.spare.values()].flat());
  }

  /** A recycled array of `length` floats, or a fresh one (the reader fills it either way). */
  private takeSpare(length: number): Float32Array {
    const reused = this.spare.get(length)?.pop();
    if (!reused) return new Float32Array(length);
    knownNonFinite.delete(reused); // its NaN count was the old tensor's
    this.account.hold(`${this.label} spare`, [...this.spare.values()].flat());
    return reused;
  }

  private dropSpare(): void {
    this.spare = new Map();
    this.account.release(`${this.label} spare`);
  }

  private clearCache(): void {
    this.cancelPrefetch();
    for (const layer of [...this.blocks.keys()]) this.dropBlock(layer);
    this.dropSpare();
    this.headChunks.dropBuffers();
    this.small.delete('model.embed_tokens.weight');
    this.small.delete('lm_head.weight');
    this.account.hold(`${this.label} resident`, [...this.small.values()]);
  }

  /** A substitution of `name` invalidates whatever cached copy the forward would use. */
  private dropCached(name: string): void {
    const layer = /^model\.layers\.(\d+)\./.exec(name)?.[1];
    if (layer !== undefined) this.dropBlock(Number(layer));
    else if (this.small.delete(name)) this.account.hold(`${this.label} resident`, [...this.small.values()]);
  }

  /** A non-block tensor kept whole (the final norm; the embedding and head of a model kept resident). */
  smallTensor(name: string): Float32Array {
    let data = this.overrides.get(name) ?? this.small.get(name);
    if (!data) {
      data = readChecked(this.model, name, this.dims.get(name)!);
      this.small.set(name, data);
      this.account.hold(`${this.label} resident`, [...this.small.values()]);
    }
    return data;
  }

  /** lm_head rows per head-graph call: all of them when the model is kept resident or lm_head is substituted. */
  headChunkRows(): number {
    const tensor = headTensorSpecs(this.head, this.tied)[1].tensor;
    if (this.keepAll || this.overrides.has(tensor)) return this.head.vocab;
    return Math.max(1, Math.min(this.head.vocab, Math.floor(this.account.headChunkBytes / (4 * this.head.hidden))));
  }

  /**
   * lm_head rows [v0, v0 + count) as float32 [count, d], valid until the call after next;
   * `next`: the chunk the head will ask for then (head-chunks.ts may read it ahead).
   */
  headRows(tensor: string, v0: number, count: number, next?: { v0: number; count: number }): Float32Array {
    const d = this.head.hidden;
    const whole = this.overrides.get(tensor) ?? (this.keepAll ? this.smallTensor(tensor) : null);
    if (whole) return count === this.head.vocab ? whole : whole.subarray(v0 * d, (v0 + count) * d);
    return this.headChunks.rows(tensor, v0, count, next);
  }

  /** Rows of a [rows, d] checkpoint tensor, reading only their bytes where the reader can (into `into` where it can). */
  private readRows(name: string, start: number, count: number, into?: Float32Array): Float32Array {
    const d = this.dims.get(name)![1];
    if (this.model.readRows) {
      const rows = this.model.readRows(name, start, count, into);
      checkLength(this.model.path, `${name} rows [${start}, ${start + count})`, rows, [count, d]);
      return rows;
    }
    return readChecked(this.model, name, this.dims.get(name)!).slice(start * d, (start + count) * d);
  }
}

// The engine's own account of the weight data it holds resident (bytes of float32/float64
// arrays read from a checkpoint or a run folder, or made by a stage), so the memory model
// stated in the README is checked by a test instead of hoped for. RSS is noisy (allocator,
// V8 heap, onnxruntime arenas) and is left to the scale benchmark.
//
// Holders register under a label ("block 3", "lm_head chunk", "compensate W") and release it
// when they drop the data; `peak` is the high-water mark of the sum.

type Held = ArrayLike<number> & { byteLength: number };

export class WeightAccount {
  private readonly owners = new Map<string, readonly Held[]>();
  private readonly refs = new Map<Held, number>(); // an array held by two owners counts once
  resident = 0;
  peak = 0;
  /** What each owner held at the peak, in bytes, for test messages. */
  peakHeld: Record<string, number> = {};
  /**
   * Weights a ModelRunner may keep beyond the block it is working on: a model whose weights
   * fit in this many float32 bytes stays resident (the bundled model, most tests); a larger one
   * streams (one block, embedding rows, lm_head chunks). Tests set 0 to check the streaming
   * path on small models.
   */
  cacheBytes = 64 * 1024 * 1024;
  /** Float32 bytes of one streamed lm_head chunk (rows = this / (4·d)). */
  headChunkBytes = 64 * 1024 * 1024;
  /**
   * Reading the next block (or lm_head chunk) ahead on a worker while onnxruntime computes:
   * 'auto' does it only while the checkpoint's reads wait on the disk (prefetch.ts,
   * `readsWaitOnDisk`); tests force 'always' or 'never'.
   */
  readAhead: 'auto' | 'always' | 'never' = 'auto';

  /** Records the arrays `owner` holds now (replacing what it held before). */
  hold(owner: string, arrays: readonly Held[]): void {
    const before = this.owners.get(owner) ?? [];
    for (const a of arrays) this.ref(a, +1);
    for (const a of before) this.ref(a, -1);
    this.owners.set(owner, arrays);
    if (this.resident > this.peak) {
      this.peak = this.resident;
      this.peakHeld = Object.fromEntries([...this.owners].map(([name, held]) => [name, bytesOf(...held)]));
    }
  }

  release(owner: string): void {
    this.hold(owner, []);
    this.owners.delete(owner);
  }

  /** Starts a new high-water mark from what is resident now. */
  resetPeak(): void {
    this.peak = this.resident;
    this.peakHeld = {};
  }

  private ref(a: Held, delta: number): void {
    const count = (this.refs.get(a) ?? 0) + delta;
    if (count === 0) {
      this.refs.delete(a);
      this.resident -= a.byteLength;
    } else {
      if (count === 1 && delta === 1) this.resident += a.byteLength;
      this.refs.set(a, count);
    }
  }
}

/** The process-wide account every runner and stage reports to. */
export const weightAccount = new WeightAccount();

export const bytesOf = (...arrays: readonly Held[]) => arrays.reduce((sum, a) => sum + a.byteLength, 0);

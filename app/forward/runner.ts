// ModelRunner: the forward pass of a Llama-family model, layer by layer. A batch's hidden
// state passes block to block through ONE block session (weights are inputs), then through a
// head session. Embedding lookup happens here in TS (copying B·T rows is cheaper than feeding
// a [V, d] matrix to a Gather node).
//
// Memory: weights stream through weight-store.ts (one block resident, embedding rows read by
// row; in a plain pass the next block is read ahead on a worker, prefetch.ts) and the head runs
// lm_head in row-chunks (graphs/headGraph.ts) with a running log-sum-exp, so no [V, d] float32
// matrix is resident. `setWeight` substitutes a tensor (a
// compressed linear of the block being worked on; `releaseLayer` drops it);
// `setWeightSource` provides substitutes lazily as blocks load (a variant's W_c + B·A read
// from the run folder), so evaluating a variant substitutes one block at a time. Runs are
// sequential: one call at a time.
//
// `setAdapter` attaches a low-rank adapter to a linear, applied unmerged (W·x + B·(A·x), as
// deployed): a layer with adapters runs the block graph variant with `<kind>.lora_A/B` inputs
// (one session per set of adapted kinds; ranks are symbolic), the others the plain graph.
import { ModelError, type LinearKind, type Model, type ModelConfig } from '../model/types.js';
import { floatData, floatTensor, int32Tensor, type Device, type Feeds, type Session } from '../onnx/runtime.js';
import { SessionCache } from '../onnx/sessionCache.js';
import type { GramStats } from './calibration.js';
import { buildBlockGraph } from './graphs/blockGraph.js';
import { buildHeadGraph, headChunkSignature } from './graphs/headGraph.js';
import { RopeTables } from './rope.js';
import { blockShape, blockSignature, gramNames, headShape, LINEAR_KINDS, loraKinds, type BlockShape, type BlockVariant, type GramName, type HeadMode, type HeadShape } from './shape.js';
import { blockTensorSpecs, checkLength, headTensorSpecs, layerPrefix } from './weights.js';
import { WeightStore, type WeightSource } from './weight-store.js';

/** [B, T]: batch size and sequence length of a row-major token array. */
export type TokenDims = readonly [batch: number, seq: number];

export interface LayerEvent {
  layer: number;
  dims: TokenDims;
  /** Block input and output, [B, T, d]. */
  input: Float32Array;
  output: Float32Array;
  /** Present when the forward ran with `collectStats`. */
  stats?: GramStats;
}

export interface ForwardOptions {
  /** Run the calibration variant of the block graph and hand each layer's XᵀX to `onLayer`. */
  collectStats?: boolean;
  /** Called after each block, before the next starts (awaited). */
  onLayer?: (event: LayerEvent) => void | Promise<void>;
}

/** Keys and values of the P positions decoded so far, per layer, each [B, nKv, 1, P, hd] (keys roped). */
export interface KvCache {
  batch: number;
  length: number; // P
  keys: Float32Array[];
  values: Float32Array[];
}

/** An unmerged low-rank adapter on one linear [out, in]: A [r, in], B [out, r], row-major float32. */
export interface LinearAdapter {
  kind: LinearKind;
  rank: number;
  /** The linear's [out, in]. */
  out: number;
  in: number;
  A: Float32Array;
  B: Float32Array;
}

export type { WeightSource } from './weight-store.js';

export interface RunnerOptions {
  /** Default 'cpu'. Ignored when `sessions` is given (the cache fixes the device). */
  device?: Device;
  /** Share sessions between runners of the same shapes; the caller then owns (releases) it. */
  sessions?: SessionCache;
  threads?: number;
  /**
   * ORT's memory arenas for the runner's own sessions (SessionOptions.memArena). Default: on
   * for a model kept resident (small, run many times over), off for a streamed one. Callers
   * that only run plain passes (ppl, generation, evaluation) turn them on for streamed models
   * too: the block and head sessions then keep their buffers between runs instead of taking
   * fresh pages each time — at 512 tokens on the 1B shape 3.9–4.1 s a pass against 4.4–5.4 s,
   * 0.15 M page faults against 0.5–0.6 M and a lower peak (0.61 against 0.68–0.80 GiB); at 4,096
   * tokens 36 against 40 s but a higher peak (1.89 against 1.11 GiB: each session keeps its
   * largest run's buffers). Calibration leaves them off: its Gram variants are a session each,
   * and their arenas together were most of compress's peak (a 3-layer 1B shape: 6.90 against
   * 3.74 GiB).
   */
  memArena?: boolean;
}

export class ModelRunner {
  readonly config: ModelConfig;
  readonly block: BlockShape;
  readonly head: HeadShape;
  private readonly rope: RopeTables;
  private readonly dims = new Map<string, number[]>(); // HF tensor name → dims the config implies
  private readonly store: WeightStore;
  private readonly adapters = new Map<number, Map<LinearKind, LinearAdapter>>(); // layer → kind → adapter
  private plainPass = false; // inside a forward pass with no per-layer callback: the next block may be read ahead

  private constructor(
    readonly model: Model,
    readonly sessions: SessionCache,
    private readonly ownsSessions: boolean,
    memArena?: boolean,
  ) {
    this.config = model.config;
    this.block = blockShape(this.config);
    this.head = headShape(this.config);
    this.rope = new RopeTables(this.block.headDim, this.config.rope_theta, this.config.rope_scaling);
    for (let layer = 0; layer < this.config.num_layers; layer++) {
      for (const { tensor, dims } of blockTensorSpecs(this.block)) this.dims.set(layerPrefix(layer) + tensor, dims);
    }
    for (const { tensor, dims } of headTensorSpecs(this.head, this.config.tie_word_embeddings)) this.dims.set(tensor, dims);
    this.dims.set('model.embed_tokens.weight', [this.head.vocab, this.head.hidden]);
    this.store = new WeightStore(model, this.dims, this.block, this.head, this.config.tie_word_embeddings);
    if (ownsSessions) sessions.useMemArena(memArena ?? this.store.keepAll); // see RunnerOptions.memArena
  }

  /** Checks every tensor's shape against the config and builds the plain-forward sessions. */
  static async create(model: Model, options: RunnerOptions = {}): Promise<ModelRunner> {
    const sessions = options.sessions ?? new SessionCache(options.device ?? 'cpu', options.threads ?? 0);
    const runner = new ModelRunner(model, sessions, options.sessions === undefined, options.memArena);
    try {
      runner.checkTensorShapes();
      await runner.blockSession('plain');
      await runner.headSession('nll');
    } catch (error) {
      await runner.release();
      throw error;
    }
    return runner;
  }

  /**
   * Substitutes a tensor (e.g. a compressed q_proj) for later runs; `data` must match the
   * config's dims. With tied embeddings, `model.embed_tokens.weight` is also the lm_head.
   */
  setWeight(name: string, data: Float32Array): void {
    const dims = this.dims.get(name);
    if (!dims) throw new Error(`setWeight: ${name} is not a tensor the forward pass uses`);
    checkLength(this.model.path, name, data, dims);
    this.store.setWeight(name, data);
  }

  /**
   * Substitutes tensors lazily: `source(name)` is asked for each tensor as its block loads
   * (setWeight still wins); undefined keeps the checkpoint's. null removes the source. What it
   * returns is held only while its block is loaded.
   */
  setWeightSource(source: WeightSource | null): void {
    this.store.setSource(source);
  }

  /** Drops the setWeight substitutions and cached tensors of `layer` (a finished block). */
  releaseLayer(layer: number): void {
    this.store.releaseLayer(layer);
  }

  /** A block tensor as the forward pass would use it now (substitution or checkpoint), through the block cache; the caller may keep it. */
  blockTensor(layer: number, tensor: string): Float32Array {
    const data = this.store.lendBlockTensor(layer, layerPrefix(layer) + tensor);
    if (!data) throw new Error(`blockTensor: ${tensor} is not a tensor of a decoder block`);
    return data;
  }

  /**
   * Attaches a low-rank adapter to a linear, applied unmerged: y = W·x (+ b) + B·(A·x), with
   * A [rank, in] and B [out, rank] row-major (PEFT's lora_A / lora_B, scaling 1). `linearName`
   * is the module name (`model.layers.3.self_attn.q_proj`; a trailing `.weight` is accepted).
   * Replaces an earlier adapter on that linear; rank 0 (empty A and B) removes it. W itself is
   * whatever setWeight left (e.g. W_c), so W_c + B·A is evaluated without merging.
   */
  setAdapter(linearName: string, A: Float32Array, B: Float32Array, rank: number): void {
    const name = linearName.endsWith('.weight') ? linearName.slice(0, -'.weight'.length) : linearName;
    const match = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_]+)$/.exec(name);
    const kind = match?.[2] as LinearKind | undefined;
    const dims = this.dims.get(`${name}.weight`);
    if (!match || !kind || !LINEAR_KINDS.includes(kind) || !dims || dims.length !== 2) {
      throw new Error(`setAdapter: ${linearName} is not a linear of this model (expected e.g. model.layers.0.self_attn.q_proj)`);
    }
    const [out, inDim] = dims;
    if (!Number.isSafeInteger(rank) || rank < 0) throw new Error(`setAdapter: ${name}: rank must be a non-negative integer, got ${rank}`);
    if (rank > Math.min(out, inDim)) throw new Error(`setAdapter: ${name}: rank ${rank} exceeds min(out, in) = ${Math.min(out, inDim)} of the linear [${out}, ${inDim}]`);
    if (A.length !== rank * inDim) throw new Error(`setAdapter: ${name}: A has ${A.length} values, but rank ${rank} needs [${rank}, ${inDim}] = ${rank * inDim}`);
    if (B.length !== out * rank) throw new Error(`setAdapter: ${name}: B has ${B.length} values, but rank ${rank} needs [${out}, ${rank}] = ${out * rank}`);
    const layer = Number(match[1]);
    let perLayer = this.adapters.get(layer);
    if (rank === 0) {
      perLayer?.delete(kind);
      if (perLayer?.size === 0) this.adapters.delete(layer);
      return;
    }
    if (!perLayer) this.adapters.set(layer, (perLayer = new Map()));
    perLayer.set(kind, { kind, rank, out, in: inDim, A, B });
  }

  /** Removes every adapter: later runs use the plain graph again. */
  clearAdapters(): void {
    this.adapters.clear();
  }

  /** Number of linears that carry an adapter. */
  get adapterCount(): number {
    let count = 0;
    for (const perLayer of this.adapters.values()) count += perLayer.size;
    return count;
  }

  /**
   * Lets the runner keep up to `bytes` of float32 weights across forward passes instead of
   * streaming them (generation runs the model once per token): the whole model when it fits,
   * else the first blocks that fit. 0 (the default) streams; lowering it drops the excess.
   */
  cacheWeights(bytes: number): void {
    this.store.setCacheBudget(bytes);
  }

  /** lm_head rows per head-graph call (the vocabulary when lm_head is resident): the head's logits are [B·T, this] at a time. */
  get headChunkRows(): number {
    return this.store.headChunkRows();
  }

  /** Drops substitutions, the weight source and cached reads; the checkpoint is read again on next use. */
  resetWeights(): void {
    this.store.reset();
  }

  /** Embedding rows for tokens [B, T] → hidden [B, T, d]. */
  embed(tokens: Int32Array, dims: TokenDims): Float32Array {
    checkTokens(tokens, dims, this.head.vocab);
    const d = this.head.hidden;
    const hidden = new Float32Array(tokens.length * d);
    const whole = this.store.wholeEmbedding();
    if (whole) {
      for (let i = 0; i < tokens.length; i++) hidden.set(whole.subarray(tokens[i] * d, tokens[i] * d + d), i * d);
      return hidden;
    }
    // Only the distinct rows, read in runs of consecutive ids: [n, d] instead of [V, d].
    const rowOf = this.store.embeddingRows([...new Set(tokens)].sort((a, b) => a - b));
    for (let i = 0; i < tokens.length; i++) hidden.set(rowOf.get(tokens[i])!, i * d);
    this.store.releaseRows();
    return hidden;
  }

  /**
   * One decoder block: hidden [B, T, d] → [B, T, d], plus XᵀX of its linear inputs when
   * `stats` (true: all four Grams; a list: only those, from a graph that computes only those).
   */
  async runBlock(layer: number, hidden: Float32Array, dims: TokenDims, stats: boolean | readonly GramName[] = false): Promise<{ hidden: Float32Array; stats?: GramStats }> {
    const grams = stats === true ? gramNames : stats === false ? [] : gramNames.filter((name) => stats.includes(name));
    const feeds = this.blockFeeds(layer, hidden, dims, 0);
    const out = await (await this.blockSession(grams.length > 0 ? 'stats' : 'plain', layer, grams)).run(feeds);
    const y = floatData(out.y, 'block output');
    if (grams.length === 0) return { hidden: y };
    const result: GramStats = { tokens: dims[0] * dims[1] };
    for (const name of grams) result[name] = floatData(out[`gram_${name}`], `gram_${name}`);
    return { hidden: y, stats: result };
  }

  /**
   * Incremental decoding: tokens [B, T] at positions P..P+T−1 after the `cache` of P earlier
   * positions (none: P = 0) → last-position logits [B, V] and the cache extended to P + T.
   * Each step costs T tokens of compute instead of P + T.
   */
  async forwardCached(tokens: Int32Array, dims: TokenDims, cache?: KvCache): Promise<{ logits: Float32Array; cache: KvCache }> {
    const { hidden, cache: next } = await this.forwardCachedHidden(tokens, dims, cache);
    return { logits: await this.runHead(hidden, dims, 'last'), cache: next };
  }

  /**
   * forwardCached scored at every position: tokens, targets [B, T] at positions P..P+T−1 after
   * the `cache` → −log p(targets[b, t] | cache, tokens[b, ≤t]) [B, T], nats, and the extended
   * cache. (Multiple-choice scoring runs a shared context once and then its choices.)
   */
  async forwardCachedNll(tokens: Int32Array, targets: Int32Array, dims: TokenDims, cache?: KvCache): Promise<{ nll: Float32Array; cache: KvCache }> {
    const { hidden, cache: next } = await this.forwardCachedHidden(tokens, dims, cache);
    return { nll: await this.runHead(hidden, dims, 'nll', targets), cache: next };
  }

  /** The blocks of an incremental pass: hidden state after the last block [B, T, d] and the cache extended to P + T. */
  async forwardCachedHidden(tokens: Int32Array, dims: TokenDims, cache?: KvCache): Promise<{ hidden: Float32Array; cache: KvCache }> {
    const [B, T] = dims;
    const P = cache?.length ?? 0;
    if (cache && cache.batch !== B) throw new Error(`forwardCached: the cache holds batch ${cache.batch}, got tokens for batch ${B}`);
    const pastDims = [B, this.block.kvHeads, 1, P, this.block.headDim];
    const next: KvCache = { batch: B, length: P + T, keys: [], values: [] };
    let hidden = this.embed(tokens, dims);
    this.plainPass = true;
    try {
      for (let layer = 0; layer < this.config.num_layers; layer++) {
        const feeds = this.blockFeeds(layer, hidden, dims, P);
        feeds.past_key = floatTensor(cache?.keys[layer] ?? new Float32Array(0), pastDims);
        feeds.past_value = floatTensor(cache?.values[layer] ?? new Float32Array(0), pastDims);
        const out = await (await this.blockSession('cache', layer)).run(feeds);
        hidden = floatData(out.y, 'block output');
        next.keys.push(floatData(out.present_key, 'present_key'));
        next.values.push(floatData(out.present_value, 'present_value'));
      }
    } finally {
      this.plainPass = false;
    }
    return { hidden, cache: next };
  }

  /** Final norm + lm_head on hidden [B, T, d]. Mode 'nll' needs targets [B, T]. */
  async runHead(hidden: Float32Array, dims: TokenDims, mode: HeadMode, targets?: Int32Array): Promise<Float32Array> {
    const [B, T] = dims;
    const { hidden: d, vocab: V } = this.head;
    if (mode === 'nll') {
      if (!targets) throw new Error('runHead: mode nll needs targets');
      checkTokens(targets, dims, V);
    }
    const [normSpec, headSpec] = headTensorSpecs(this.head, this.config.tie_word_embeddings);
    const session = await this.headSession(mode);
    const x = floatTensor(hidden, [B, T, d]);
    const norm = floatTensor(this.store.smallTensor(normSpec.tensor), normSpec.dims);
    const chunkRows = this.store.headChunkRows();
    const rowsOut = mode === 'last' ? B : B * T; // rows of the [rows, V] result (logits modes)
    const out = mode === 'nll' ? null : new Float32Array(rowsOut * V);
    const lse = mode === 'nll' ? new Float64Array(B * T).fill(-Infinity) : null; // running log Σ exp over chunks
    const lseTarget = mode === 'nll' ? new Float64Array(B * T) : null; // lse of the chunk holding the target (logit − logp)
    const logp = mode === 'nll' ? new Float64Array(B * T) : null; // the target's log-softmax within that chunk
    const local = mode === 'nll' ? new Int32Array(B * T) : null;
    try {
      for (let v0 = 0; v0 < V; v0 += chunkRows) {
        const Vc = Math.min(chunkRows, V - v0);
        const next = v0 + Vc < V ? { v0: v0 + Vc, count: Math.min(chunkRows, V - v0 - Vc) } : undefined;
        const rows = this.store.headRows(headSpec.tensor, v0, Vc, next); // [Vc, d]
        const feeds: Feeds = { x, norm, lm_head: floatTensor(rows, [Vc, d]) };
        if (local) {
          for (let i = 0; i < local.length; i++) local[i] = Math.min(Math.max(targets![i] - v0, 0), Vc - 1);
          feeds.targets = int32Tensor(local, dims);
        }
        const result = await session.run(feeds);
        this.store.releaseRows();
        if (out) {
          const logits = floatData(result.logits, `${mode} output`); // [rows, Vc]
          for (let r = 0; r < rowsOut; r++) out.set(logits.subarray(r * Vc, (r + 1) * Vc), r * V + v0);
          continue;
        }
        const chunkLogit = floatData(result.logit, 'logit');
        const chunkLogp = floatData(result.logp, 'logp');
        for (let i = 0; i < lse!.length; i++) {
          const a = lse![i];
          const b = chunkLogit[i] - chunkLogp[i]; // this chunk's log Σ exp, float64
          const hi = Math.max(a, b);
          lse![i] = hi === -Infinity ? hi : hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
          if (targets![i] >= v0 && targets![i] < v0 + Vc) {
            lseTarget![i] = b;
            logp![i] = chunkLogp[i];
          }
        }
      }
    } finally {
      this.store.endHead(); // also drops a chunk read ahead when a run failed
    }
    if (out) return out;
    return Float32Array.from(lse!, (l, i) => l - lseTarget![i] - logp![i]);
  }

  /**
   * −log p(targets[i]) [n], nats, at the flat positions `rows` (indices into B·T) of hidden
   * [B, T, d]: only those rows reach the head. Multiple choice scores continuation tokens only,
   * and at V = 32,000 the head costs more per row than all the blocks of a small model. Each
   * row's number is the one forwardNll gives it (the head works row by row).
   */
  async nllAt(hidden: Float32Array, dims: TokenDims, rows: Int32Array, targets: Int32Array): Promise<Float32Array> {
    const [B, T] = dims;
    const d = this.head.hidden;
    if (hidden.length !== B * T * d) throw new Error(`nllAt: hidden has ${hidden.length} values, dims [${B}, ${T}, ${d}] need ${B * T * d}`);
    if (rows.length !== targets.length) throw new Error(`nllAt: ${rows.length} rows but ${targets.length} targets`);
    if (rows.length === 0) return new Float32Array(0);
    const picked = new Float32Array(rows.length * d); // [n, d]
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (!Number.isInteger(r) || r < 0 || r >= B * T) throw new Error(`nllAt: row ${r} is outside the ${B}·${T} positions`);
      picked.set(hidden.subarray(r * d, (r + 1) * d), i * d);
    }
    return this.runHead(picked, [1, rows.length], 'nll', targets);
  }

  /** tokens [B, T] → hidden state after the last block, [B, T, d] (before the final norm). */
  async forwardHidden(tokens: Int32Array, dims: TokenDims, options: ForwardOptions = {}): Promise<Float32Array> {
    let hidden = this.embed(tokens, dims);
    // A callback may hold memory of its own (calibration, compression): no block read ahead then.
    this.plainPass = !options.onLayer && !options.collectStats;
    try {
      for (let layer = 0; layer < this.config.num_layers; layer++) {
        const result = await this.runBlock(layer, hidden, dims, options.collectStats ?? false);
        await options.onLayer?.({ layer, dims, input: hidden, output: result.hidden, stats: result.stats });
        hidden = result.hidden;
      }
    } finally {
      this.plainPass = false;
    }
    return hidden;
  }

  /** tokens [B, T] → logits [B, T, V]. */
  async forwardLogits(tokens: Int32Array, dims: TokenDims, options?: ForwardOptions): Promise<Float32Array> {
    return this.runHead(await this.forwardHidden(tokens, dims, options), dims, 'logits');
  }

  /** tokens [B, T] → logits of the last position [B, V] (generation). */
  async forwardLastLogits(tokens: Int32Array, dims: TokenDims): Promise<Float32Array> {
    return this.runHead(await this.forwardHidden(tokens, dims), dims, 'last');
  }

  /** tokens, targets [B, T] → −log p(targets[b, t] | tokens[b, ≤t]) [B, T], nats. */
  async forwardNll(tokens: Int32Array, targets: Int32Array, dims: TokenDims, options?: ForwardOptions): Promise<Float32Array> {
    return this.runHead(await this.forwardHidden(tokens, dims, options), dims, 'nll', targets);
  }

  /** Releases the sessions (when this runner created them) and the weights it holds. */
  async release(): Promise<void> {
    await this.store.release();
    this.adapters.clear();
    if (this.ownsSessions) await this.sessions.release();
  }

  /** The block session of `variant`, with the adapter inputs of `layer`'s adapted linears (if any). */
  private blockSession(variant: BlockVariant, layer?: number, grams: readonly GramName[] = gramNames): Promise<Session> {
    const lora = layer === undefined ? [] : loraKinds(this.adapters.get(layer)?.keys() ?? []);
    return this.sessions.get(blockSignature(this.block, variant, lora, grams), () => buildBlockGraph(this.block, variant, lora, grams));
  }

  /** Feeds of layer `layer` for hidden [B, T, d] at positions start..start+T−1. */
  private blockFeeds(layer: number, hidden: Float32Array, [B, T]: TokenDims, start: number): Feeds {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.config.num_layers) throw new Error(`layer ${layer} is out of range (0..${this.config.num_layers - 1})`);
    const { cos, sin } = this.rope.get(T, start);
    const hd = this.block.headDim;
    const feeds: Feeds = {
      x: floatTensor(hidden, [B, T, this.block.hidden]),
      cos: floatTensor(cos, [T, hd]),
      sin: floatTensor(sin, [T, hd]),
    };
    const weights = this.store.blockWeights(layer, this.plainPass);
    for (const { input, tensor, dims } of blockTensorSpecs(this.block)) feeds[input] = floatTensor(weights.get(layerPrefix(layer) + tensor)!, dims);
    for (const a of this.adapters.get(layer)?.values() ?? []) {
      feeds[`${a.kind}.lora_A`] = floatTensor(a.A, [a.rank, a.in]);
      feeds[`${a.kind}.lora_B`] = floatTensor(a.B, [a.out, a.rank]);
    }
    return feeds;
  }

  private headSession(mode: HeadMode): Promise<Session> {
    return this.sessions.get(headChunkSignature(this.head, mode), () => buildHeadGraph(this.head, mode));
  }

  /** Config vs tensor index, before any data is read: every tensor present with the implied shape. */
  private checkTensorShapes(): void {
    for (const [name, dims] of this.dims) {
      const info = this.model.tensors.get(name);
      if (!info) throw new ModelError(this.model.path, `the tensor ${name} is missing (the config needs it, shape [${dims.join(', ')}])`);
      if (info.shape.join(',') !== dims.join(',')) {
        throw new ModelError(this.model.path, `${name} has shape [${info.shape.join(', ')}], but the config implies [${dims.join(', ')}]`);
      }
    }
  }
}

function checkTokens(tokens: Int32Array, [B, T]: TokenDims, vocab: number): void {
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) throw new Error(`token dims must be positive integers, got [${B}, ${T}]`);
  if (tokens.length !== B * T) throw new Error(`expected ${B}·${T} = ${B * T} token ids for dims [${B}, ${T}], got ${tokens.length}`);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= vocab) throw new Error(`token id ${tokens[i]} at position ${i} is outside the vocabulary (0..${vocab - 1})`);
  }
}

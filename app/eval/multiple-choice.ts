// Multiple-choice scoring with lm-eval-harness' `multiple_choice` semantics.
//
// Every (context, choice) pair is one loglikelihood request, encoded as lm-eval's
// `_encode_pair` does: whitespace at the end of the context moves to the front of the
// continuation; context_ids = encode(context) and whole = encode(context + continuation)
// (BOS prepended when the tokenizer config adds it — tokenizer_config's add_bos_token, i.e.
// lm-eval's `add_bos_token=True` for models trained with a BOS); the continuation's tokens
// are whole[len(context_ids):]. The model reads (ctx ++ cont)[−(L+1):][:−1] with L the
// model's max positions — the context is truncated from the left when too long, as in
// lm-eval — and the request's loglik is Σ log p(cont_t | everything before), summed in float64.
//
// Per item: pred = argmax loglik (acc), pred_norm = argmax loglik / bytes (acc_norm), where
// bytes is the UTF-8 length of the choice without its leading delimiter space, as this
// project's task definition asks. lm-eval 0.4 divides by len(choice) in characters instead:
// the same for ASCII, different for the choices with °, µ, € or – (9 of 2,376 ARC-Easy items,
// 7 of 1,172 ARC-Challenge, 15 of 2,815 MathQA), where acc_norm may differ from lm-eval's. Ties go
// to the lowest index, as np.argmax. stderr is lm-eval's mean_stderr: the sample standard
// deviation (n − 1) of the 0/1 correctness over √n.
//
// Batching, one forward per request at most, each request scored exactly once:
//   shared contexts: the choices of an item share its context tokens, so the
//     context runs once through the KV cache and the choices continue from it
//     (runner.forwardCachedHidden); items whose contexts have the same length share a batch;
//   full sequences (shareContext: false, and any request that had to be truncated): sorted
//     by length (longest first, as lm-eval) and right-padded into [B, T] batches.
// By default ('auto') contexts are shared when that feeds at most 3/4 of the tokens.
// Either way only the continuation positions reach the head (runner.nllAt): at V = 32,000 the
// vocabulary projection and log-softmax of one row cost more than all blocks of a 15M model.
// Attention is causal, so right padding never changes a sequence's scores; both ways give the
// same log-likelihoods (multiple-choice.test.ts checks them against one pair at a time).
import type { KvCache, ModelRunner } from '../forward/runner.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ChoiceItem, TaskSet } from './tasks/index.js';

export interface ScoreOptions {
  /** Padded tokens (B·T) per forward; default 8192 (capped by attention-score memory). */
  batchTokens?: number;
  signal?: AbortSignal;
  /** Run each item's context once through the KV cache, then its choices (true), or full sequences (false); default 'auto'. */
  shareContext?: boolean | 'auto';
  /** Items whose every choice is scored, of all items; called after each batch. */
  onProgress?: (done: number, total: number) => void;
}

export interface ItemPrediction {
  id: string;
  pred: number;
  pred_norm: number;
  gold: number;
  /** Summed log-likelihood (nats) of each choice's continuation tokens. */
  loglik: number[];
}

export interface TaskResult {
  task: string;
  n: number;
  acc: number;
  acc_norm: number;
  /** Standard error of the mean of the 0/1 correctness (NaN when n < 2). */
  stderr: { acc: number; acc_norm: number };
  predictions: ItemPrediction[];
  /** Items with at least one choice whose context was cut from the left to fit the model. */
  truncated: number;
  /** Records of the task file the loader skipped (task.skipped.length). */
  skipped: number;
  seconds: number;
}

/** A loglikelihood request as token ids: the model reads `context ++ continuation`. */
export interface EncodedPair {
  context: number[];
  continuation: number[];
}

/**
 * lm-eval's `_encode_pair`: trailing context whitespace moves to the continuation;
 * continuation = whole[len(context):]. An empty context becomes the one prefix token (BOS, else
 * EOS), as lm-eval's prefix_token_id, when the tokenizer did not already add BOS. `encoded`
 * caches context encodings (the k choices of an item share one).
 */
export function encodePair(tokenizer: Tokenizer, context: string, continuation: string, encoded?: Map<string, number[]>): EncodedPair {
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  let contextIds = encoded?.get(context);
  if (!contextIds) {
    contextIds = tokenizer.encode(context);
    encoded?.set(context, contextIds);
  }
  if (contextIds.length === 0) {
    const prefix = tokenizer.bosId ?? tokenizer.eosId;
    return { context: prefix === null ? [] : [prefix], continuation: tokenizer.encode(continuation) };
  }
  const whole = tokenizer.encode(context + continuation);
  return { context: contextIds, continuation: whole.slice(contextIds.length) };
}

/** One request laid out for the model: inputs [T], targets [T], the last `scored` targets are the continuation's. */
export interface Row {
  request: number;
  inputs: number[];
  targets: number[];
  scored: number;
  truncated: boolean;
}

/** (ctx ++ cont)[−(L+1):] split into inputs [:−1] and targets [1:], as lm-eval's _loglikelihood_tokens. */
export function layoutRow(pair: EncodedPair, maxLength: number, request = 0): Row {
  const full = [...pair.context, ...pair.continuation];
  const kept = full.slice(-(maxLength + 1));
  return { request, inputs: kept.slice(0, -1), targets: kept.slice(1), scored: pair.continuation.length, truncated: kept.length < full.length };
}

export interface LoglikOptions {
  batchTokens?: number;
  /** Run each distinct context once through the KV cache and its continuations after it; default 'auto' (see shareContexts). */
  shareContext?: boolean | 'auto';
  signal?: AbortSignal;
  /** After each forward, with the requests it finished. */
  onBatch?: (scored: number[]) => void;
}

/**
 * Summed continuation log-likelihoods of the pairs, float64, in the pairs' order, plus which
 * were truncated. Requests that fit the model and share their context tokens are scored with
 * the context run once (`shareContext`); the rest in padded full-sequence batches.
 */
export async function loglikelihoods(runner: ModelRunner, pairs: EncodedPair[], options: LoglikOptions = {}): Promise<{ loglik: Float64Array; truncated: boolean[] }> {
  const L = runner.config.max_position_embeddings;
  const rows = pairs.map((pair, i) => {
    if (pair.continuation.length === 0) throw new Error(`loglikelihood request ${i}: the continuation has no tokens`);
    if (pair.context.length === 0) throw new Error(`loglikelihood request ${i}: the context has no tokens (the tokenizer adds no BOS) — nothing to condition on`);
    if (pair.continuation.length > L) throw new Error(`loglikelihood request ${i}: the continuation has ${pair.continuation.length} tokens, more than the model's ${L} positions`);
    return layoutRow(pair, L, i);
  });
  const loglik = new Float64Array(pairs.length);
  const budget = options.batchTokens ?? defaultBatchTokens(runner);
  if (!Number.isSafeInteger(budget) || budget < 1) throw new Error(`batchTokens must be a positive integer, got ${budget}`);
  const groups = contextGroups(pairs, rows);
  const shared = options.shareContext === 'auto' || options.shareContext === undefined ? shareContexts(groups, rows) : options.shareContext;
  const alone = shared ? rows.filter((row) => row.truncated) : rows;
  if (shared) await scoreShared(runner, groups, budget, loglik, options);
  await scoreRows(runner, alone, budget, loglik, options);
  return { loglik, truncated: rows.map((row) => row.truncated) };
}

/** Full sequences, longest first, right-padded into [B, T] batches of ≤ budget tokens. */
async function scoreRows(runner: ModelRunner, rows: Row[], budget: number, loglik: Float64Array, options: LoglikOptions): Promise<void> {
  const order = [...rows].sort((a, b) => b.inputs.length - a.inputs.length || a.request - b.request);
  for (let start = 0; start < order.length; ) {
    options.signal?.throwIfAborted();
    const T = order[start].inputs.length; // the longest row of this batch
    const B = Math.max(1, Math.min(order.length - start, Math.floor(budget / T)));
    const batch = order.slice(start, start + B);
    const tokens = new Int32Array(B * T); // [B, T], right-padded with id 0
    const targets = new Int32Array(B * T); // [B, T]
    batch.forEach((row, b) => {
      tokens.set(row.inputs, b * T);
      targets.set(row.targets, b * T);
    });
    const hidden = await runner.forwardHidden(tokens, [B, T]); // [B, T, d]
    const spans = batch.map((row, b) => ({ request: row.request, from: b * T + row.inputs.length - row.scored, n: row.scored }));
    await scoreSpans(runner, hidden, [B, T], targets, spans, loglik);
    options.onBatch?.(batch.map((row) => row.request));
    start += B;
  }
}

/** Requests with the same context tokens (none truncated), one group per distinct context. */
export interface ContextGroup {
  context: number[];
  requests: { request: number; continuation: number[] }[];
}

function contextGroups(pairs: EncodedPair[], rows: Row[]): ContextGroup[] {
  const groups = new Map<string, ContextGroup>();
  for (const row of rows) {
    if (row.truncated) continue;
    const pair = pairs[row.request];
    const key = pair.context.join(',');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { context: pair.context, requests: [] }));
    group.requests.push({ request: row.request, continuation: pair.continuation });
  }
  return [...groups.values()];
}

/**
 * 'auto': share contexts when that feeds at most 3/4 of the tokens of full sequences. Sharing
 * costs two forwards per distinct context length instead of a few big batches. While every
 * position went through the head that only paid when the contexts dominated (bundled 656K
 * model, TinyStories cloze, shared 0.57 of the tokens: 12 s shared vs 8 s full); with only
 * continuations reaching the head both ways, the cloze is as fast or faster shared: 2.0 vs
 * 2.4 s on the 656K model, 41 vs 55 s on stories15M (same runs, loaded machine).
 */
export function shareContexts(groups: ContextGroup[], rows: Row[]): boolean {
  let full = 0;
  for (const row of rows) full += row.inputs.length;
  let shared = 0;
  for (const g of groups) shared += g.context.length - 1 + g.requests.reduce((sum, q) => sum + q.continuation.length, 0);
  for (const row of rows) if (row.truncated) shared += row.inputs.length;
  return shared <= 0.75 * full;
}

/**
 * Shared contexts: groups whose contexts have the same length P are batched: their first P − 1
 * tokens go through the KV cache once ([G, P − 1]); the cache row of each group is repeated
 * for each of its requests, which then read [last context token, continuation[0..n−2]] and
 * are scored on continuation[0..n−1] ([R, Tc], right-padded; attention is causal).
 */
async function scoreShared(runner: ModelRunner, groups: ContextGroup[], budget: number, loglik: Float64Array, options: LoglikOptions): Promise<void> {
  const byLength = new Map<number, ContextGroup[]>();
  for (const g of groups) byLength.set(g.context.length, [...(byLength.get(g.context.length) ?? []), g]);
  for (const [P, sameLength] of [...byLength].sort((a, b) => b[0] - a[0])) {
    for (let start = 0; start < sameLength.length; ) {
      options.signal?.throwIfAborted();
      // As many groups as keep R · (P − 1 + Tc) within the budget (at least one).
      let end = start;
      let R = 0;
      let Tc = 0;
      while (end < sameLength.length) {
        const g = sameLength[end];
        const r = R + g.requests.length;
        const t = Math.max(Tc, ...g.requests.map((q) => q.continuation.length));
        if (end > start && r * (P - 1 + t) > budget) break;
        R = r;
        Tc = t;
        end++;
      }
      const chunk = sameLength.slice(start, end);
      start = end;
      const G = chunk.length;
      let cache: KvCache | undefined;
      if (P > 1) {
        const context = new Int32Array(G * (P - 1)); // [G, P − 1]
        chunk.forEach((g, i) => context.set(g.context.slice(0, P - 1), i * (P - 1)));
        cache = repeatRows((await runner.forwardCachedHidden(context, [G, P - 1])).cache, chunk.map((g) => g.requests.length)); // no head: nothing scored yet
      }
      const tokens = new Int32Array(R * Tc); // [R, Tc]
      const targets = new Int32Array(R * Tc); // [R, Tc]
      const spans: Span[] = [];
      for (const g of chunk) {
        for (const { request, continuation } of g.requests) {
          const r = spans.length;
          tokens.set([g.context[P - 1], ...continuation.slice(0, -1)], r * Tc);
          targets.set(continuation, r * Tc);
          spans.push({ request, from: r * Tc, n: continuation.length });
        }
      }
      const { hidden } = await runner.forwardCachedHidden(tokens, [R, Tc], cache); // [R, Tc, d]
      await scoreSpans(runner, hidden, [R, Tc], targets, spans, loglik);
      options.onBatch?.(spans.map((q) => q.request));
    }
  }
}

/** The cache with row g repeated counts[g] times: [G, …] → [Σ counts, …]. */
export function repeatRows(cache: KvCache, counts: number[]): KvCache {
  const rows = counts.reduce((a, b) => a + b, 0);
  const repeat = (data: Float32Array) => {
    const size = data.length / cache.batch; // nKv · 1 · P · hd per row
    const out = new Float32Array(rows * size);
    let r = 0;
    counts.forEach((count, g) => {
      for (let c = 0; c < count; c++) out.set(data.subarray(g * size, (g + 1) * size), r++ * size);
    });
    return out;
  };
  return { batch: rows, length: cache.length, keys: cache.keys.map(repeat), values: cache.values.map(repeat) };
}

/** A request's scored targets: flat positions [from, from + n) of its batch. */
interface Span {
  request: number;
  from: number;
  n: number;
}

/**
 * loglik[request] = Σ log p over each span, summed in float64. Only the spans' rows of hidden
 * [B, T, d] go through the head (runner.nllAt): the context positions before them and the
 * padding after them need no vocabulary projection.
 */
async function scoreSpans(runner: ModelRunner, hidden: Float32Array, dims: readonly [number, number], targets: Int32Array, spans: Span[], loglik: Float64Array): Promise<void> {
  const count = spans.reduce((sum, s) => sum + s.n, 0);
  const rows = new Int32Array(count); // flat positions into [B, T]
  const picked = new Int32Array(count); // their targets
  let k = 0;
  for (const { from, n } of spans) {
    for (let i = from; i < from + n; i++, k++) {
      rows[k] = i;
      picked[k] = targets[i];
    }
  }
  const nll = await runner.nllAt(hidden, dims, rows, picked); // [count], nats
  k = 0;
  for (const { request, n } of spans) {
    let sum = 0;
    for (const end = k + n; k < end; k++) sum += nll[k];
    loglik[request] = -sum;
  }
}

export async function scoreTask(runner: ModelRunner, task: TaskSet, options: ScoreOptions = {}): Promise<TaskResult> {
  const started = performance.now();
  const tokenizer = runner.model.tokenizer;
  const owner: number[] = []; // request → item
  const pairs: EncodedPair[] = [];
  const contexts = new Map<string, number[]>(); // an item's choices share its context's encoding
  task.items.forEach((item, i) => {
    if (item.choices.length < 2 || !Number.isInteger(item.gold) || item.gold < 0 || item.gold >= item.choices.length) {
      throw new Error(`${task.file}: item ${item.id}: needs ≥ 2 choices and gold in 0..${item.choices.length - 1}`);
    }
    contexts.clear();
    for (const choice of item.choices) {
      const pair = encodePair(tokenizer, item.context, choice, contexts);
      if (pair.context.length === 0) throw new Error(`${task.file}: item ${item.id}: the context is empty and the tokenizer has no BOS or EOS to condition on`);
      if (pair.continuation.length === 0) throw new Error(`${task.file}: item ${item.id}: the choice ${JSON.stringify(choice)} encodes to no tokens after the context`);
      pairs.push(pair);
      owner.push(i);
    }
  });
  const remaining = task.items.map((item) => item.choices.length);
  let done = 0;
  const { loglik, truncated } = await loglikelihoods(runner, pairs, {
    batchTokens: options.batchTokens,
    shareContext: options.shareContext,
    signal: options.signal,
    onBatch: (requests) => {
      for (const r of requests) if (--remaining[owner[r]] === 0) done++;
      options.onProgress?.(done, task.items.length);
    },
  });

  const perItem: number[][] = [];
  const wasTruncated = new Array<boolean>(task.items.length).fill(false);
  let request = 0;
  for (const [i, item] of task.items.entries()) {
    perItem.push(item.choices.map(() => loglik[request++]));
    for (let r = request - item.choices.length; r < request; r++) wasTruncated[i] ||= truncated[r];
  }
  return {
    task: task.name,
    ...summarize(task.items, perItem),
    truncated: wasTruncated.filter(Boolean).length,
    skipped: task.skipped.length,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Predictions, acc, acc_norm and their standard errors from each item's choice log-likelihoods. */
export function summarize(items: readonly ChoiceItem[], loglik: readonly number[][]): Pick<TaskResult, 'n' | 'acc' | 'acc_norm' | 'stderr' | 'predictions'> {
  const predictions = items.map((item, i): ItemPrediction => {
    const ll = loglik[i];
    if (ll.length !== item.choices.length) throw new Error(`item ${item.id}: ${ll.length} log-likelihoods for ${item.choices.length} choices`);
    const perByte = ll.map((v, j) => v / choiceBytes(item.choices[j]));
    return { id: item.id, pred: argmax(ll), pred_norm: argmax(perByte), gold: item.gold, loglik: [...ll] };
  });
  const correct = predictions.map((p) => (p.pred === p.gold ? 1 : 0));
  const correctNorm = predictions.map((p) => (p.pred_norm === p.gold ? 1 : 0));
  return {
    n: predictions.length,
    acc: mean(correct),
    acc_norm: mean(correctNorm),
    stderr: { acc: meanStderr(correct), acc_norm: meanStderr(correctNorm) },
    predictions,
  };
}

/** UTF-8 bytes of the choice after its leading delimiter space (at least 1). */
export function choiceBytes(choice: string): number {
  return Math.max(1, Buffer.byteLength(choice.startsWith(' ') ? choice.slice(1) : choice, 'utf8'));
}

/** Index of the first maximum (np.argmax). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length === 0 ? NaN : sum / values.length;
}

/** lm-eval's mean_stderr: sample standard deviation (ddof 1) / √n; NaN when n < 2. */
export function meanStderr(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const mu = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - mu) ** 2;
  return Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}

/** 8192 tokens, capped so attention scores [B, nH, T, T] stay near 256 MB at the model's max length. */
function defaultBatchTokens(runner: ModelRunner): number {
  const c = runner.config;
  const T = c.max_position_embeddings;
  return Math.max(T, Math.min(8192, Math.floor((256 * 2 ** 20) / (4 * c.num_heads * T))));
}

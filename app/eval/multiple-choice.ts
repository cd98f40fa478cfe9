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
// bytes is the UTF-8 length of the choice without its leading delimiter space (lm-eval
// divides by len(choice), the text after target_delimiter " "; identical for ASCII). Ties go
// to the lowest index, as np.argmax. stderr is lm-eval's mean_stderr: the sample standard
// deviation (n − 1) of the 0/1 correctness over √n.
//
// Batching: requests are sorted by length (longest first, as lm-eval) and right-padded into
// [B, T] batches of at most `batchTokens` tokens; attention is causal, so padding after a
// sequence never changes its scores. One forward per request, each pair exactly once.
// Shared context prefixes are NOT reused: the engine's KV-cache path (forwardCached) returns
// only last-position logits and its block graph takes no padding mask, so the k continuations
// of a cached context would need per-position scores the engine does not expose; with small
// models the padded batches are also faster than one cached call per item.
import type { ModelRunner } from '../forward/runner.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ChoiceItem, TaskSet } from './tasks/index.js';

export interface ScoreOptions {
  /** Padded tokens (B·T) per forward; default 8192 (capped by attention-score memory). */
  batchTokens?: number;
  signal?: AbortSignal;
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

/** lm-eval's `_encode_pair`: trailing context whitespace moves to the continuation; continuation = whole[len(context):]. */
export function encodePair(tokenizer: Tokenizer, context: string, continuation: string): EncodedPair {
  const spaces = context.length - context.trimEnd().length;
  if (spaces > 0) {
    continuation = context.slice(context.length - spaces) + continuation;
    context = context.slice(0, context.length - spaces);
  }
  const contextIds = tokenizer.encode(context);
  const whole = tokenizer.encode(context + continuation);
  return { context: contextIds, continuation: whole.slice(contextIds.length) };
}

/** One request laid out for the model: inputs [T], targets [T], the last `scored` targets are the continuation's. */
interface Row {
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

/**
 * Summed continuation log-likelihoods of the pairs, float64, in the pairs' order, plus which
 * were truncated. `onBatch(doneRequests)` after each forward.
 */
export async function loglikelihoods(
  runner: ModelRunner,
  pairs: EncodedPair[],
  options: { batchTokens?: number; signal?: AbortSignal; onBatch?: (scored: number[]) => void } = {},
): Promise<{ loglik: Float64Array; truncated: boolean[] }> {
  const L = runner.config.max_position_embeddings;
  const rows = pairs.map((pair, i) => {
    if (pair.continuation.length === 0) throw new Error(`loglikelihood request ${i}: the continuation has no tokens`);
    if (pair.context.length === 0) throw new Error(`loglikelihood request ${i}: the context has no tokens (the tokenizer adds no BOS) — nothing to condition on`);
    if (pair.continuation.length > L) throw new Error(`loglikelihood request ${i}: the continuation has ${pair.continuation.length} tokens, more than the model's ${L} positions`);
    return layoutRow(pair, L, i);
  });
  const order = [...rows].sort((a, b) => b.inputs.length - a.inputs.length || a.request - b.request);
  const loglik = new Float64Array(pairs.length);
  const budget = options.batchTokens ?? defaultBatchTokens(runner);
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
    const nll = await runner.forwardNll(tokens, targets, [B, T]); // [B, T], nats
    for (let b = 0; b < B; b++) {
      const row = batch[b];
      let sum = 0;
      for (let j = row.inputs.length - row.scored; j < row.inputs.length; j++) sum -= nll[b * T + j];
      loglik[row.request] = sum;
    }
    options.onBatch?.(batch.map((row) => row.request));
    start += B;
  }
  return { loglik, truncated: rows.map((row) => row.truncated) };
}

export async function scoreTask(runner: ModelRunner, task: TaskSet, options: ScoreOptions = {}): Promise<TaskResult> {
  const started = performance.now();
  const tokenizer = runner.model.tokenizer;
  const owner: number[] = []; // request → item
  const pairs: EncodedPair[] = [];
  task.items.forEach((item, i) => {
    if (item.choices.length < 2 || !Number.isInteger(item.gold) || item.gold < 0 || item.gold >= item.choices.length) {
      throw new Error(`${task.file}: item ${item.id}: needs ≥ 2 choices and gold in 0..${item.choices.length - 1}`);
    }
    for (const choice of item.choices) {
      const pair = encodePair(tokenizer, item.context, choice);
      if (pair.continuation.length === 0) throw new Error(`${task.file}: item ${item.id}: the choice ${JSON.stringify(choice)} encodes to no tokens after the context`);
      pairs.push(pair);
      owner.push(i);
    }
  });
  const remaining = task.items.map((item) => item.choices.length);
  let done = 0;
  const { loglik, truncated } = await loglikelihoods(runner, pairs, {
    batchTokens: options.batchTokens,
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

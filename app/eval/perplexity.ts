// Perplexity of a text with rolling windows, as lm-eval-harness' rolling loglikelihood and
// HF's "Perplexity of fixed-length models" guide compute it.
//
// The whole text is tokenized once, BOS prepended once: x[0..N). There are N−1 prediction
// targets: x[j+1] given x[≤j]. Window k feeds inputs x[a, e) with a = k·stride and
// e = min(a + seqLen, N − 1); position j predicts x[j+1] from the window's own tokens
// x[a..j] (a fresh context per window, positions restart at 0). A window scores only the
// targets no earlier window scored: input positions j ≥ e_{k−1} (the previous window's end),
// so each of the N−1 targets is scored exactly once, by the first window that reaches it.
//   stride = seqLen: disjoint windows; the first target of each window has one token of
//     context (lm-eval-harness' rolling windows, the fastest).
//   stride < seqLen: overlapping windows; every scored target has ≥ seqLen − stride tokens
//     of context (HF's sliding-window strategy; closer to the model's true perplexity).
// nll = Σ −log p(target) / (N − 1) in nats; ppl = exp(nll).
import type { ModelRunner } from '../forward/runner.js';

export interface PerplexityOptions {
  /** Window length in tokens; default min(max_position_embeddings, 512). */
  seqLen?: number;
  /** Step between window starts, 1..seqLen; default seqLen. */
  stride?: number;
  /** Use at most this many tokens of the text (BOS included); default all. */
  maxTokens?: number;
  /** Windows per forward pass; default fits ~8K tokens and a few hundred MB of activations. */
  batchSize?: number;
  /** Names the text in error messages (a file path); default "text". */
  source?: string;
  /** Called after each batch with predicted tokens scored so far and in total. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between batches; an aborted signal throws its reason. */
  signal?: AbortSignal;
}

export interface PerplexityResult {
  /** Predicted (scored) tokens: N − 1. */
  tokens: number;
  /** Mean negative log-likelihood per predicted token, nats. */
  nll: number;
  ppl: number;
  seconds: number;
  /**
   * Per window, in window order: how many targets it scored and their mean NLL. Two models
   * scored on the same text share these windows, so the per-window differences give a paired
   * standard error of their NLL difference (windows, not tokens, as the units: tokens inside a
   * window are far from independent).
   */
  windows: { tokens: number; nll: number }[];
}

/** One window: inputs x[start, end); targets scored for input positions ≥ scoreFrom. */
export interface Window {
  start: number;
  end: number;
  scoreFrom: number;
}

/** The rolling windows over N tokens (see the header comment). */
export function rollingWindows(N: number, seqLen: number, stride: number): Window[] {
  const windows: Window[] = [];
  let prevEnd = 0;
  for (let start = 0; prevEnd < N - 1; start += stride) {
    const end = Math.min(start + seqLen, N - 1);
    windows.push({ start, end, scoreFrom: Math.max(start, prevEnd) });
    prevEnd = end;
  }
  return windows;
}

export async function perplexity(runner: ModelRunner, text: string, options: PerplexityOptions = {}): Promise<PerplexityResult> {
  const started = performance.now();
  const source = options.source ?? 'text';
  const config = runner.config;
  const seqLen = options.seqLen ?? Math.min(config.max_position_embeddings, 512);
  const stride = options.stride ?? seqLen;
  checkInteger('seqLen', seqLen, 2, config.max_position_embeddings, `the model's max_position_embeddings`);
  checkInteger('stride', stride, 1, seqLen, 'seqLen');
  if (options.maxTokens !== undefined) checkInteger('maxTokens', options.maxTokens, 2, Number.MAX_SAFE_INTEGER, '');
  if (text.trim().length === 0) throw new Error(`${source}: the text is empty`);

  let ids = runner.model.tokenizer.encode(text);
  if (options.maxTokens !== undefined) ids = ids.slice(0, options.maxTokens);
  const N = ids.length;
  if (N < 2) throw new Error(`${source}: the text has ${N} token${N === 1 ? '' : 's'}; perplexity needs at least 2`);

  const windows = rollingWindows(N, seqLen, stride);
  const batchSize = options.batchSize ?? defaultBatchSize(runner, seqLen);
  const total = N - 1;
  let done = 0;
  let nllSum = 0; // float64 over all targets
  const perWindow: { tokens: number; nll: number }[] = [];
  for (const batch of batches(windows, batchSize)) {
    options.signal?.throwIfAborted();
    const T = batch[0].end - batch[0].start;
    const B = batch.length;
    const tokens = new Int32Array(B * T); // [B, T]
    const targets = new Int32Array(B * T); // [B, T], targets[b, j] = x[start_b + j + 1]
    batch.forEach((w, b) => {
      tokens.set(ids.slice(w.start, w.end), b * T);
      targets.set(ids.slice(w.start + 1, w.end + 1), b * T);
    });
    // Only scored positions reach the head (all of them with disjoint windows; stride/seqLen of them otherwise).
    const rows = new Int32Array(batch.reduce((n, w) => n + w.end - w.scoreFrom, 0)); // flat positions into [B, T]
    let k = 0;
    batch.forEach((w, b) => {
      for (let j = w.scoreFrom - w.start; j < T; j++) rows[k++] = b * T + j;
    });
    const hidden = await runner.forwardHidden(tokens, [B, T]); // [B, T, d]
    const nll = await runner.nllAt(hidden, [B, T], rows, rows.map((r) => targets[r])); // [rows]
    k = 0;
    for (const w of batch) {
      let sum = 0;
      for (let j = w.scoreFrom; j < w.end; j++, k++) {
        nllSum += nll[k];
        sum += nll[k];
      }
      done += w.end - w.scoreFrom;
      perWindow.push({ tokens: w.end - w.scoreFrom, nll: sum / (w.end - w.scoreFrom) });
    }
    options.onProgress?.(done, total);
  }
  if (done !== total) throw new Error(`perplexity: scored ${done} targets, expected ${total} (window bookkeeping bug)`);
  const mean = nllSum / total;
  return { tokens: total, nll: mean, ppl: Math.exp(mean), seconds: (performance.now() - started) / 1000, windows: perWindow };
}

/** Consecutive windows of equal length, at most `size` per batch (only the last window may be shorter). */
function* batches(windows: Window[], size: number): Generator<Window[]> {
  let current: Window[] = [];
  for (const w of windows) {
    const length = w.end - w.start;
    if (current.length === size || (current.length > 0 && current[0].end - current[0].start !== length)) {
      yield current;
      current = [];
    }
    current.push(w);
  }
  if (current.length > 0) yield current;
}

/** ~8K tokens per batch, capped so attention scores [B, nH, T, T] and logits [B·T, V] stay under ~256 MB each. */
function defaultBatchSize(runner: ModelRunner, T: number): number {
  const budget = 256 * 2 ** 20;
  const c = runner.config;
  const byTokens = Math.floor(8192 / T);
  const byScores = Math.floor(budget / (4 * c.num_heads * T * T));
  const byLogits = Math.floor(budget / (4 * T * runner.headChunkRows)); // the head's logits exist one lm_head chunk at a time
  return Math.max(1, Math.min(byTokens, byScores, byLogits));
}

function checkInteger(name: string, value: number, min: number, max: number, maxName: string): void {
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${value}`);
  if (value < min) throw new Error(`${name} must be at least ${min}, got ${value}`);
  if (value > max) throw new Error(`${name} (${value}) exceeds ${maxName} (${max})`);
}

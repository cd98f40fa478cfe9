// Held-out perplexity of model variants (original, compressed, compressed + adapter, …) into
// the run's metrics.json: { eval: {file, tokens, seq_len}, variants: {name: {ppl, nll, tokens, seconds}} }.
// Every variant of one run is scored on the same text, token budget and window length, so
// their numbers compare; a changed eval config starts the variants table afresh.
import { readFileSync } from 'node:fs';
import { perplexity } from '../eval/perplexity.js';
import type { ModelRunner } from '../forward/runner.js';
import { describeFsError } from '../model/binary.js';
import type { RunFolder } from '../run/run.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface EvalConfig {
  file: string;
  /** Score the first `tokens` tokens of the text (BOS included). */
  tokens: number;
  seq_len: number;
}

export interface VariantMetrics {
  ppl: number;
  nll: number;
  tokens: number;
  seconds: number;
}

export interface RunMetrics {
  eval: EvalConfig | null;
  variants: Record<string, VariantMetrics>;
}

export const METRICS_FILE = 'metrics.json';

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: ${describeFsError(error)}`);
  }
}

/**
 * The shortest prefix of `text`, cut at whitespace, whose tokens begin with the same first
 * `tokens` ids as the whole text's: perplexity scores only those, and tokenizing a 400 KB
 * file to use 20K tokens of it costs more than scoring them. Grows the prefix until it has a
 * margin of 64 tokens beyond the budget (a cut can only change tokens near the cut).
 */
export function heldOutPrefix(text: string, tokenizer: Tokenizer, tokens: number): string {
  const margin = 64;
  for (let chars = Math.max(1024, (tokens + margin) * 6); ; chars *= 2) {
    if (chars >= text.length) return text;
    const cut = text.lastIndexOf(' ', chars);
    const prefix = text.slice(0, cut > 0 ? cut : chars);
    if (tokenizer.encode(prefix).length >= tokens + margin) return prefix;
  }
}

/** Perplexity of whatever weights `runner` holds now (`text`: the eval text or its heldOutPrefix). */
export async function scoreVariant(runner: ModelRunner, text: string, config: EvalConfig, signal?: AbortSignal): Promise<VariantMetrics> {
  const r = await perplexity(runner, text, { seqLen: config.seq_len, maxTokens: config.tokens, source: config.file, signal });
  return { ppl: r.ppl, nll: r.nll, tokens: r.tokens, seconds: r.seconds };
}

export function readMetrics(run: RunFolder): RunMetrics {
  return run.readJson<RunMetrics>(METRICS_FILE) ?? { eval: null, variants: {} };
}

/** Adds (or replaces) variants; a different eval config drops the old ones. */
export function recordVariants(run: RunFolder, config: EvalConfig, variants: Record<string, VariantMetrics>): RunMetrics {
  const current = readMetrics(run);
  const same = JSON.stringify(current.eval) === JSON.stringify(config);
  const next: RunMetrics = { eval: config, variants: { ...(same ? current.variants : {}), ...variants } };
  run.writeJson(METRICS_FILE, next);
  return next;
}

// Held-out perplexity of model variants (original, compressed, compressed + adapter, …) into
// the run's metrics.json (schema in app/run/metrics.ts; `eora compress`/`compensate` record
// one text, named after its file, and no tasks).
// Every variant of one run is scored on the same text, token budget and window length, so
// their numbers compare; a changed eval config starts the variants table afresh.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { perplexity } from '../eval/perplexity.js';
import type { ModelRunner } from '../forward/runner.js';
import { describeFsError } from '../model/binary.js';
import { readMetricsJson, writeMetricsJson } from '../run/files/metrics-json.js';
import { describeVariant, emptyMetrics, type EvalSetup, type RunMetrics } from '../run/metrics.js';
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
  windows?: { tokens: number[]; nll: number[] };
}


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
export async function scoreVariant(runner: ModelRunner, text: string, config: EvalConfig, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<VariantMetrics> {
  const r = await perplexity(runner, text, { seqLen: config.seq_len, maxTokens: config.tokens, source: config.file, signal, onProgress });
  const windows = { tokens: r.windows.map((w) => w.tokens), nll: r.windows.map((w) => w.nll) };
  return { ppl: r.ppl, nll: r.nll, tokens: r.tokens, seconds: r.seconds, windows };
}

export function readMetrics(run: RunFolder): RunMetrics {
  return readMetricsJson(run.dir);
}

/** The `ppl` key of a text: its file name without extension (validation.txt → validation). */
export function textName(file: string): string {
  return basename(file).replace(/\.[^.]*$/, '');
}

/** The one-text evaluation setup of `eora compress` / `eora compensate`. */
export function evalSetupOf(config: EvalConfig): EvalSetup {
  return { perplexity: [{ name: textName(config.file), ...config }], tasks: [], generation: null };
}

/** The perplexity config of a run's first text, if it has one. */
export function firstText(metrics: RunMetrics): EvalConfig | null {
  const t = metrics.eval?.perplexity[0];
  return t ? { file: t.file, tokens: t.tokens, seq_len: t.seq_len } : null;
}

export type ScoredVariant = VariantMetrics & { unmerged_ppl?: number; adapter?: string; adapter_params?: number };

/** Adds (or replaces) variants measured on one text; a different eval setup drops the old ones. */
export function recordVariants(run: RunFolder, config: EvalConfig, variants: Record<string, ScoredVariant>): RunMetrics {
  const current = readMetrics(run);
  const setup = evalSetupOf(config);
  const same = JSON.stringify(current.eval) === JSON.stringify(setup);
  const compression = typeof run.manifest.config.method === 'string' ? run.manifest.config.method : null;
  const next: RunMetrics = { ...emptyMetrics(), compression, eval: setup, variants: same ? current.variants : {} };
  for (const [name, v] of Object.entries(variants)) {
    next.variants[name] = {
      name,
      ...describeVariant(name, compression),
      adapter: v.adapter ?? null,
      adapter_params: v.adapter_params ?? null,
      ppl: { [setup.perplexity[0].name]: { ppl: v.ppl, nll: v.nll, tokens: v.tokens, seconds: v.seconds, ...(v.windows ? { windows: v.windows } : {}) } },
      tasks: {},
      ...(v.unmerged_ppl !== undefined ? { unmerged_ppl: v.unmerged_ppl } : {}),
    };
  }
  writeMetricsJson(run.dir, next);
  return next;
}

export { type RunMetrics } from '../run/metrics.js';

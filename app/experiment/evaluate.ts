// Measuring one variant (whatever weights the runner holds): perplexity on every text and
// accuracy on every task, the same items for every variant; and greedy samples of the
// experiment's prompts. Pure measurement: the caller loads weights and records results.
// `eora compress` / `eora compensate` measure one text (EvalConfig): inputsOfText.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { perplexity } from '../eval/perplexity.js';
import { describeFsError } from '../model/binary.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { scoreTask } from '../eval/multiple-choice.js';
import { bundledTasks, loadTask, type TaskSet } from '../eval/tasks/index.js';
import type { ModelRunner } from '../forward/runner.js';
import { generate } from '../generate/generate.js';
import { resourcesPath } from '../model/open.js';
import type { Model } from '../model/types.js';
import type { Sample } from '../run/files/samples-json.js';
import type { EvalSetup, PerplexityEntry, PerplexityText, RunMetrics, TaskEntry } from '../run/metrics.js';
import { ExperimentError } from './config.js';
import type { ExperimentConfig } from './schema.js';

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

/** Everything the measurements read, loaded once per run. */
export interface EvalInputs {
  setup: EvalSetup;
  /** Per perplexity text: the held-out prefix that covers its token budget. */
  texts: string[];
  tasks: TaskSet[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function defaultTextFile(): string {
  return resourcesPath('data', 'tinystories', 'validation.txt');
}

/** Loads texts and tasks; task names resolve to the bundled task files when no path is given. */
export function evalInputs(config: ExperimentConfig, model: Model): EvalInputs {
  const maxSeq = Math.min(model.config.max_position_embeddings, 512);
  const perplexity: PerplexityText[] = config.evaluation.perplexity.map((t) => {
    const file = t.file ?? defaultTextFile();
    return { name: t.name ?? textName(file), file, tokens: t.tokens, seq_len: Math.min(t.seq_len ?? maxSeq, model.config.max_position_embeddings) };
  });
  // Names key the results (ppl.<name>): two texts under one name would overwrite each other.
  const textNames = perplexity.map((t) => t.name);
  const dupText = textNames.find((n, i) => textNames.indexOf(n) !== i);
  if (dupText) throw new ExperimentError(`evaluation.perplexity: two texts named "${dupText}" (named after their files); give each a distinct "name"`);
  const texts = perplexity.map((t) => heldOutPrefix(readText(t.file), model.tokenizer, t.tokens));
  const bundled = bundledTasks();
  const tasks = config.evaluation.tasks.map((t, i) => {
    const known = t.path === undefined ? bundled.find((b) => b.name === t.name) : undefined;
    if (t.path === undefined && !known) throw new ExperimentError(`evaluation.tasks[${i}].name: "${t.name}" is not a bundled task (bundled: ${bundled.map((b) => b.name).join(', ')}); give "path" for a task file`);
    return loadTask({ name: t.name ?? known?.name, path: t.path ?? known!.path, format: t.format ?? known?.format, limit: t.limit });
  });
  const names = tasks.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ExperimentError(`evaluation.tasks: two tasks named "${dup}"; give each a distinct "name"`);
  const generation = config.evaluation.generation.prompts.length ? { prompts: config.evaluation.generation.prompts, max_new_tokens: config.evaluation.generation.max_new_tokens } : null;
  // Content hashes make the setup change when a file is edited in place: resume and addVariant
  // then re-measure instead of pairing new answers with old ones.
  perplexity.forEach((t, i) => (t.sha256 = sha256(texts[i])));
  const taskSetups = tasks.map((t) => ({ name: t.name, file: t.file, format: t.format, n: t.items.length, sha256: sha256(JSON.stringify(t.items)) }));
  return { setup: { perplexity, tasks: taskSetups, generation }, texts, tasks };
}

/** Steps per variant for progress: one per text and one per task. */
export const stepsPerVariant = (inputs: EvalInputs) => inputs.texts.length + inputs.tasks.length;

export interface Measured {
  ppl: Record<string, PerplexityEntry>;
  tasks: Record<string, TaskEntry>;
}

export interface MeasureOptions {
  signal?: AbortSignal;
  /** After each text or task. */
  onStep?: (label: string) => void;
  /** Within a text or task (tokens or items so far), at most twice a second: on a real model one step is minutes. */
  onWithin?: (label: string) => void;
}

export async function measureVariant(runner: ModelRunner, inputs: EvalInputs, options: MeasureOptions): Promise<Measured> {
  const result: Measured = { ppl: {}, tasks: {} };
  let last = 0;
  const within = (what: string, unit: string) => (done: number, total: number) => {
    const now = performance.now();
    if (!options.onWithin || done === total || now - last < 500) return;
    last = now;
    options.onWithin(`${what} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}`);
  };
  for (const [i, text] of inputs.setup.perplexity.entries()) {
    options.signal?.throwIfAborted();
    result.ppl[text.name] = await scoreVariant(runner, inputs.texts[i], { file: text.file, tokens: text.tokens, seq_len: text.seq_len }, options.signal, within(`ppl ${text.name}`, 'tokens'));
    options.onStep?.(`ppl ${text.name}`);
  }
  for (const task of inputs.tasks) {
    options.signal?.throwIfAborted();
    const r = await scoreTask(runner, task, { signal: options.signal, onProgress: within(task.name, 'items') });
    const bits = (pick: (p: (typeof r.predictions)[number]) => number) => r.predictions.map((p) => (pick(p) === p.gold ? '1' : '0')).join('');
    result.tasks[task.name] = {
      acc: r.acc,
      acc_norm: r.acc_norm,
      stderr: { acc: r.stderr.acc, acc_norm: r.stderr.acc_norm },
      n: r.n,
      truncated: r.truncated,
      skipped: r.skipped,
      seconds: r.seconds,
      per_item: { acc: bits((p) => p.pred), acc_norm: bits((p) => p.pred_norm) },
    };
    options.onStep?.(task.name);
  }
  return result;
}

export async function sampleVariant(runner: ModelRunner, generation: NonNullable<EvalSetup['generation']>, signal?: AbortSignal): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const prompt of generation.prompts) {
    const g = await generate(runner, prompt, { maxNewTokens: generation.max_new_tokens, temperature: 0, signal });
    samples.push({ prompt, text: g.text, tokens: g.tokenIds.length, stop_reason: g.stopReason });
  }
  return samples;
}

/** The one-text evaluation of `eora compress` / `eora compensate` as measurement inputs. */
export function inputsOfText(config: EvalConfig, tokenizer: Tokenizer): EvalInputs {
  return { setup: evalSetupOf(config), texts: [heldOutPrefix(readText(config.file), tokenizer, config.tokens)], tasks: [] };
}

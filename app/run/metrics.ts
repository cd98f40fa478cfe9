// metrics.json: every measurement of a run, one entry per variant, all variants measured on
// the same texts, token budgets and task items (a changed evaluation setup starts it afresh).
//
//   {
//     "format": "eora-metrics", "version": 2,
//     "compression": "gptq:w3g32",                     the compressed variant's method
//     "eval": {
//       "perplexity": [{"name", "file", "tokens", "seq_len"}],
//       "tasks": [{"name", "file", "format", "n"}],     n = items scored (after limit/skips)
//       "generation": {"prompts": [...], "max_new_tokens"} | null
//     },
//     "variants": {
//       "<name>": {
//         "name": "eora-r16",                          original | compressed | svd-r{r} | eora-r{r} |
//                                                      scaled-svd-r{r} | eora-budget-{params}
//         "method": null | "gptq:w3g32" | "svd" | "eora" | "scaled-svd",
//         "rank": null | 16 | "budget",
//         "adapter": null | "adapters/eora-r16.safetensors",
//         "adapter_params": null | 77824,              Σ r_l·(in_l + out_l)
//         "ppl": {"<text name>": {"ppl", "nll", "tokens", "seconds", "windows": {"tokens": [...], "nll": [...]}}},
//         "tasks": {"<task>": {"acc", "acc_norm", "stderr": {"acc", "acc_norm"}, "n", "truncated", "skipped", "seconds",
//                              "per_item": {"acc": "0110…", "acc_norm": "…"}}},   1 = item answered right
//         "unmerged_ppl"?: number                      one variant scored with unmerged adapters
//       }
//     }
//   }
//
// nll in nats per predicted token, ppl = exp(nll); acc/acc_norm in [0, 1] with their binomial
// standard errors sqrt(p(1−p)/(n−1)) (lm-eval-harness' convention).
import { createHash } from 'node:crypto';

export const METRICS_FORMAT = 'eora-metrics';
export const METRICS_VERSION = 2;

export interface PerplexityText {
  name: string;
  file: string;
  tokens: number;
  seq_len: number;
  /** sha256 of the text actually scored (experiments): a file edited in place is a new setup. */
  sha256?: string;
}

export interface TaskSetup {
  name: string;
  file: string;
  format: string;
  /** Items scored. */
  n: number;
  /** sha256 of the scored items (experiments): an edited task file is a new setup, never paired with old answers. */
  sha256?: string;
}

export interface EvalSetup {
  perplexity: PerplexityText[];
  tasks: TaskSetup[];
  generation: { prompts: string[]; max_new_tokens: number } | null;
}

export interface PerplexityEntry {
  ppl: number;
  nll: number;
  tokens: number;
  seconds: number;
  /** Per evaluation window: scored targets and their mean NLL (for paired standard errors; absent in older runs). */
  windows?: { tokens: number[]; nll: number[] };
}

export interface TaskEntry {
  acc: number;
  acc_norm: number;
  stderr: { acc: number; acc_norm: number };
  n: number;
  /** Per item in task order, '1' correct / '0' wrong: paired comparisons between variants. */
  per_item?: { acc: string; acc_norm: string };
  truncated: number;
  skipped: number;
  seconds: number;
}

export type VariantMethod = string | null;
export type VariantRank = number | 'budget' | null;

export interface VariantEntry {
  name: string;
  method: VariantMethod;
  rank: VariantRank;
  adapter: string | null;
  adapter_params: number | null;
  ppl: Record<string, PerplexityEntry>;
  tasks: Record<string, TaskEntry>;
  unmerged_ppl?: number;
}

export interface RunMetrics {
  format: typeof METRICS_FORMAT;
  version: number;
  compression: string | null;
  eval: EvalSetup | null;
  variants: Record<string, VariantEntry>;
}

export const emptyMetrics = (): RunMetrics => ({ format: METRICS_FORMAT, version: METRICS_VERSION, compression: null, eval: null, variants: {} });

/**
 * The variant name's method and rank: `eora-r16` → ('eora', 16), `eora-budget-77824` →
 * ('eora', 'budget') as is an explicit allocation `eora-ranks-38848-1a2b3c4d`, `original` →
 * (null, null), `compressed` → (the compression spec, null).
 */
export function describeVariant(name: string, compression: string | null): { method: VariantMethod; rank: VariantRank } {
  if (name === 'original') return { method: null, rank: null };
  if (name === 'compressed') return { method: compression, rank: null };
  const budget = /^(.+)-(?:budget|ranks)-\d+(?:-[0-9a-f]+)?$/.exec(name);
  if (budget) return { method: budget[1], rank: 'budget' };
  const ranked = /^(.+)-r(\d+)$/.exec(name);
  if (ranked) return { method: ranked[1], rank: Number(ranked[2]) };
  return { method: name, rank: null };
}

export const budgetVariantName = (method: string, params: number) => `${method}-budget-${params}`;
/**
 * An explicit per-linear allocation (the UI's rank explorer): `eora-ranks-38848-1a2b3c4d`. The
 * parameter count alone would let two allocations of the same size overwrite each other, so a
 * short hash of the ranks (in model order) tells them apart.
 */
export const ranksVariantName = (method: string, params: number, ranks: readonly number[]) =>
  `${method}-ranks-${params}-${createHash('sha256').update(ranks.join(',')).digest('hex').slice(0, 8)}`;
export const rankVariantName = (method: string, rank: number) => `${method}-r${rank}`;

// What each call returns. Plain JSON data, so it crosses IPC and HTTP unchanged.
import type { Method } from './methods.js';
import type { CurveSet, Defaults, Exported, JobOutcome, RunDetails, RunList, Spectrum, Validation, VariantAdded } from './run-results.js';
import type { ActiveJobs } from './jobs.js';

export interface EngineInfo {
  version: string;
  device: string;
  /** onnxruntime backends: which are bundled with this install. */
  backends: { name: string; bundled: boolean }[];
  bundledModel: string;
  /** 'electron' or 'server': which host carries the contract. */
  host: 'electron' | 'server';
}

export interface LinearRow {
  name: string;
  layer: number;
  kind: string;
  out: number;
  in: number;
  params: number;
  frobenius: number;
  max_abs: number;
}

export interface ModelSummary {
  format: string;
  path: string;
  architecture: string;
  hidden_size: number;
  intermediate_size: number;
  num_layers: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
  vocab_size: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  dtype: string;
  parameters: number;
  tokenizer_vocab_size: number;
  /** e.g. "Qwen3", "Llama" (from the architecture). */
  family?: string;
  /** "plain (θ 10000)" or the scaling, e.g. "llama3 factor 8, low 1, high 4, original 8192 (θ 500000)". */
  rope?: string;
  /** The RMSNorms of a block, e.g. "RMSNorm (eps 1e-6), per-head q/k RMSNorm". */
  norms?: string;
  linears: LinearRow[];
}

export interface Histogram {
  linear: string;
  min: number;
  max: number;
  /** bins + 1 edges; counts[i] covers [edges[i], edges[i+1]). */
  edges: number[];
  counts: number[];
}

export interface Generation {
  prompt: string;
  text: string;
  token_ids: number[];
  seconds: number;
}

export interface Perplexity {
  model: string;
  text: string;
  tokens: number;
  nll: number;
  ppl: number;
  seconds: number;
}

/** The local Hugging Face hub cache: one entry per (repo, revision) snapshot holding a model. */
export interface CachedModels {
  cache: string;
  models: { repo: string; revision: string; commit: string; path: string; bytes: number }[];
}

export interface Results {
  'engine.info': EngineInfo;
  'models.cached': CachedModels;
  'model.inspect': ModelSummary;
  'model.histogram': Histogram;
  'model.generate': Generation;
  'model.perplexity': Perplexity;
  defaults: Defaults;
  'runs.list': RunList;
  'runs.open': RunDetails;
  'runs.delete': { dir: string };
  'run.spectrum': Spectrum;
  'run.curves': CurveSet;
  'experiment.validate': Validation;
  'experiment.start': JobOutcome;
  'experiment.resume': JobOutcome;
  'run.addVariant': VariantAdded;
  'run.export': Exported;
  'jobs.active': ActiveJobs;
  /** Whatever the attached job answers. */
  'jobs.attach': unknown;
}

export type Result<M extends Method> = Results[M];

/** A long call reports how far it is; `total` may be 0 when unknown. */
export interface Progress {
  stage: string;
  done: number;
  total: number;
  message?: string;
  /** What the unit in progress is (a layer, a variant). */
  label?: string;
  /** Estimated seconds left, when the engine can tell. */
  eta_s?: number;
}

// What the run and experiment calls return. Plain JSON, identical over IPC and HTTP.

export type RunStatus = 'pending' | 'running' | 'stopped' | 'failed' | 'done' | 'corrupt';

export interface RunListing {
  dir: string;
  name: string;
  status: RunStatus;
  model: string;
  /** The compression method, e.g. "gptq:w3g32". */
  method: string;
  /** ISO date. */
  created: string;
  error?: string;
}

export interface RunList {
  root: string;
  runs: RunListing[];
}

export interface StageView {
  name: string;
  status: string;
  seconds?: number;
  error?: string;
}

/** One linear's compression record (layers.json). */
export interface LayerError {
  name: string;
  layer: number;
  kind: string;
  out: number;
  in: number;
  rel_weight_error: number;
  rel_output_error: number | null;
  sparsity: number;
  bits_per_weight: number;
  /** tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ) behind rel_output_error (absent in older runs). */
  output_energy?: number | null;
  error_output_energy?: number | null;
}

/** One metric of one variant; deltas are this − reference (for ppl, negative is better). */
export interface MetricCell {
  value: number;
  stderr?: number;
  delta_original?: number;
  delta_compressed?: number;
  /** Standard error of each paired difference (app/experiment/results.ts). */
  stderr_delta_original?: number;
  stderr_delta_compressed?: number;
  /** Paired two-sided 95 % test: |Δ| > 1.96·SE(Δ) (perplexity: on NLL). Absent when there is no SE. */
  significant_original?: boolean;
  significant_compressed?: boolean;
}

/** a − b on one metric, paired (same items / windows), with the 95 % verdict. */
export interface PairedDelta {
  delta: number;
  stderr?: number;
  significant?: boolean;
}

export interface VariantResult {
  name: string;
  /** null for original and compressed. */
  method: string | null;
  /** null for original, compressed and budget-allocated variants. */
  rank: number | null;
  /** Σ r·(in + out) over the linears with an adapter; null without one. */
  adapter_params: number | null;
  metrics: Record<string, MetricCell>;
  /** EoRA (or another adapter) − plain SVD at equal rank, else at equal adapter parameters. */
  versus_svd?: { variant: string; basis: 'rank' | 'params'; metrics: Record<string, PairedDelta> };
}

export interface MetricInfo {
  /** Key in VariantResult.metrics: "ppl", "arc_easy.acc", … */
  key: string;
  label: string;
  lowerIsBetter: boolean;
  /** The paired units behind the standard errors (task items, perplexity windows); absent when unknown. */
  n?: number;
  unit: 'items' | 'windows';
}

export interface SampleSet {
  prompt: string;
  /** Variant name → its continuation. */
  outputs: Record<string, string>;
}

export interface RunDetails {
  dir: string;
  name: string;
  status: RunStatus;
  created: string;
  model: string;
  device: string;
  method: string;
  /** The run's config as recorded in run.json. */
  config: Record<string, unknown>;
  stages: StageView[];
  layers: LayerError[];
  metrics: MetricInfo[];
  variants: VariantResult[];
  samples: SampleSet[];
  /** Linears with a spectra file, in model order. */
  spectra: string[];
  /** Compensation methods with err(r) curves. */
  methods: string[];
}

export interface MethodSpectrum {
  singular_values: number[];
  /** [r_max + 1] relative output error at rank r. */
  rel_output_error: number[];
  rel_frobenius_error: number[];
  /** Stated relative precision of singular_values (0: exact dense path; null: unknown, older runs). */
  precision?: number | null;
}

export interface Spectrum {
  name: string;
  out: number;
  in: number;
  r_max: number;
  /** C's eigenvalues, descending (the top ones), and its trace. */
  c_eigenvalues: number[];
  c_trace: number;
  /** Stated relative precision of c_eigenvalues (0: exact dense path; null: unknown, older runs). */
  c_precision?: number | null;
  methods: Record<string, MethodSpectrum>;
}

export interface CurveSet {
  method: string;
  layers: { name: string; out: number; in: number; error: number[] }[];
}

export interface ValidationIssue {
  /** Dotted field path ("compress.bits"); "" for the whole config. */
  path: string;
  message: string;
}

export interface Validation {
  ok: boolean;
  issues: ValidationIssue[];
}

export interface Defaults {
  bundledModel: string;
  runsRoot: string;
  /** The bundled default experiment config (resources/experiments/default.json). */
  experiment: Record<string, unknown>;
  /** Other bundled configs by name (e2e-small, …). */
  presets: Record<string, Record<string, unknown>>;
}

export interface JobOutcome {
  dir: string;
  status: RunStatus;
}

export interface VariantAdded {
  dir: string;
  variant: string;
}

export interface Exported {
  outDir: string;
  files: string[];
}

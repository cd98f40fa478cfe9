// The compensate stage over a compressed run: for every linear, one decomposition of
// ΔW = W − W_c against C (the second moment of that linear's input group, from the run's
// calibration.safetensors: no second calibration pass), then spectra, adapters at the asked
// ranks and an optional budget allocation over the EoRA curves. The variants it makes are
// measured by the evaluate stage (`eora compensate`: experiment/commands.ts; `eora run`).
//
//   spectra/<linear>.json                 C's top eigenvalues and trace, each method's singular
//                                         values and err(r) curves (output and Frobenius)
//   adapters/<method>-r<r>.safetensors    `<linear>.lora_A.weight` [r, in], `<linear>.lora_B.weight` [out, r] (F32)
//   adapters/eora-budget-<P>.safetensors  per-linear ranks from allocateRanks under P parameters (ranks in __metadata__)
//   decompositions/<method>.safetensors   the rank-rMax adapter per linear (F64, Σ split in __metadata__): every
//                                         later variant (addVariant: another rank or budget) is a prefix of it
//
// Memory: one linear at a time. Its W (model), W_c (compressed.safetensors) and C
// (calibration.safetensors) are read, decomposed and dropped; the rank-rMax adapter per method
// goes to decompositions/ at once (the rank-r adapter is its first r columns of B and rows of
// A, whatever the Σ split: adapter.ts scales per direction), and only the err(r) curves stay.
// Adapter files are written tensor by tensor from decompositions/.
//
// Resume: a stopped or killed compensate (224 linears × ~9 s at 8B) continues where it was. A
// linear whose decompositions/partial file is whole, was made under the same methods, r_max,
// Σ split and device, and whose spectra file matches it is not decomposed again (its curves
// come back from that file, exactly); the rest are, in the same order, so the run ends with
// the same files as an uninterrupted one. A finished compensate rerun under the same key (other
// ranks or budgets, or after a stop in the evaluation) decomposes nothing: its assembled
// decompositions and spectra are whole, and the adapters are cut from them; a linear whose
// stored curve is damaged (a NaN, an unreadable spectra file) is decomposed again alone. Anything
// else discards the assembled decompositions first, so they never disagree with the spectra.
// Every file discarded or redone is said through the stage's log (ctx.log), and a NaN or ±Inf a
// decomposition makes is an error naming the linear before anything of it is written.
import { adapterProduct, type Adapter, type SigmaSplit } from '../../compensate/adapter.js';
import { quantizeAdapter } from '../../compensate/adapter-quant.js';
import { allocateRanks, uniformAllocation, type Allocation, type BudgetLayer } from '../../compensate/budget.js';
import { decomposeLayer, type Method } from '../../compensate/decomposition.js';
import { ortProducts } from '../../compensate/ort-products.js';
import { outputEnergy, float64Products } from '../../compensate/products.js';
import { ORT_METRICS_MIN_IN, quadraticTraceOrt } from '../../compress/ort-metrics.js';
import { gramOf } from '../../forward/calibration.js';
import { weightAccount } from '../../forward/memory.js';
import { fromArray, subtract, zeros, type Matrix } from '../../linalg/matrix.js';
import { linears } from '../../model/inspect.js';
import type { LinearInfo } from '../../model/types.js';
import { SessionCache } from '../../onnx/sessionCache.js';
import { RunError, type RunFolder } from '../../run/run.js';
import { writeAdapterFile } from '../../run/files/adapters.js';
import { gramKey, openCalibration } from '../../run/files/calibration.js';
import { openCompressed } from '../../run/files/compressed.js';
import { readLayersJson } from '../../run/files/layers-json.js';
import { assembleDecompositions, checkFiniteDecomposition, discardDecompositions, hasPartialDecompositions, finishedDecompositions, finishedLinearDecomposition, readDecomposition, writeLinearDecomposition, type MethodResult } from '../../run/files/decompositions.js';
import { readSpectra, SPECTRA_DIR, writeSpectra, type SpectraFile } from '../../run/files/spectra.js';
import { budgetVariantName } from '../../run/metrics.js';
import { moduleRanks, type ModuleSelection } from '../../contract/modules.js';
import type { Stage, StageContext } from './driver.js';

export interface CompensateParams {
  methods: readonly Method[];
  ranks: readonly number[];
  /** Adapter parameter budget Σ r_l·(in_l + out_l) for the `eora-budget-<budget>` variant. */
  budget?: number;
  /** More budgets, each its own `eora-budget-<P>` variant. */
  budgets?: readonly number[];
  adapterBits?: 4 | 8;
  adapterGroupSize?: number;
  /** Decomposition rank (default min(out, in, 512) per linear). */
  rMax?: number;
  /** Which linears get adapters and per-pattern ranks (app/contract/modules.ts); default every linear at each rank. */
  modules?: ModuleSelection;
  /** Σ placement (default 'B'; 'sqrt' when the adapter is quantized). */
  split?: SigmaSplit;
}

export interface RankSummary {
  rank: number;
  /** Mean over linears of tr(R·C·Rᵀ)/tr(W·C·Wᵀ), R = ΔW − B·A (quantized adapter when --adapter-bits). */
  mean_rel_output_error: number;
  adapter_params: number;
  ppl: number | null;
  /** Perplexity with the adapters applied unmerged (first method's first rank only): equals `ppl` up to float rounding. */
  unmerged_ppl?: number | null;
}

export interface MethodSummary {
  method: Method;
  ranks: RankSummary[];
}

export interface BudgetSummary {
  /** The variant: `eora-budget-<budget>`. */
  name: string;
  budget: number;
  adapter_params: number;
  strategy: Allocation['strategy'];
  mean_rel_output_error: number;
  /** The uniform allocation at the same budget, for comparison (same objective). */
  uniform: { rank_parameters: number; mean_rel_output_error: number };
  ranks: Record<string, number>;
  ppl: number | null;
}

/** What the compensate stage made: per method and rank, and per budget, the adapters' errors; the variants to evaluate, in order. */
export interface Compensated {
  methods: MethodSummary[];
  /** The first of `budgets` (the `--budget` one). */
  budget: BudgetSummary | null;
  budgets: BudgetSummary[];
  /** Adapter variants in evaluation order (methods × ranks, then budgets). */
  variants: string[];
}

/** What stays in memory per linear after its decomposition: the err(r) curves (the adapters are in decompositions/). */
interface LinearState {
  info: LinearInfo;
  /** Rank of the stored rank-r_max adapter. */
  rMax: number;
  curves: Partial<Record<Method, Float64Array>>;
}

/** A variant's adapter of one linear. */
type AdapterOf = (info: LinearInfo) => Adapter;

/**
 * Decompositions, spectra and adapter files of every linear for the asked methods, ranks and
 * budgets. Reruns whenever asked (`eora compensate` with other ranks replaces the adapters);
 * an experiment skips it once done (`compensateOnce`).
 */
export const compensateStage: Stage<CompensateParams, Compensated> = {
  name: 'compensate',
  run: (ctx, params) => compensate(ctx, params),
};

/** The experiment's compensate: skipped when run.json records it done (its config is fixed). */
export const compensateOnce: Stage<CompensateParams, Compensated> = { ...compensateStage, resume: (ctx) => recordedCompensation(ctx.run) };

function recordedCompensation(run: RunFolder): Compensated {
  const record = run.manifest.records.compensate as { summary?: { methods: MethodSummary[]; budgets: BudgetSummary[] } } | undefined;
  const methods = record?.summary?.methods ?? [];
  const budgets = record?.summary?.budgets ?? [];
  return { methods, budgets, budget: budgets[0] ?? null, variants: [...methods.flatMap((m) => m.ranks.map((r) => `${m.method}-r${r.rank}`)), ...budgets.map((b) => b.name)] };
}

async function compensate(ctx: StageContext, options: CompensateParams): Promise<Compensated> {
  const { run, model } = ctx;
  if (run.stage('compress').status !== 'done') throw new RunError(`${run.dir}: compression has not finished (rerun \`eora compress\` with the same options first)`);
  const ranks = [...new Set(options.ranks)].sort((a, b) => a - b);
  const budgetList = [...new Set([...(options.budget !== undefined ? [options.budget] : []), ...(options.budgets ?? [])])];
  if (budgetList.length && !options.methods.includes('eora')) throw new RunError('--budget allocates ranks over EoRA curves: include eora in --method');
  const split = options.split ?? (options.adapterBits ? 'sqrt' : 'B');
  moduleRanks(linears(model).map((l) => ({ name: l.name, maxRank: Infinity })), options.modules); // a pattern typo fails before the decompositions
  const states = await decomposeAll(ctx, linears(model), (name) => model.readTensor(name), options, split, ranks);
  const full = (method: Method, info: LinearInfo) => readDecomposition(run.dir, method, info, split);
  const readW = (name: string) => model.readTensor(name);
  // Module selection: unchosen linears get rank 0 (no adapter), rank_pattern sets others' ranks.
  const rankOf = moduleRanks(states.map((s) => ({ name: s.info.name, maxRank: s.rMax })), options.modules);

  // Adapters per method and rank, and their output errors.
  const quantize = (a: Adapter) => (options.adapterBits ? quantizeAdapter(a, { bits: options.adapterBits, groupSize: options.adapterGroupSize ?? 128 }) : a);
  const variants: string[] = [];
  const methods: MethodSummary[] = [];
  for (const method of options.methods) {
    const rows: RankSummary[] = [];
    for (const r of ranks) {
      const adapters = memoized((info) => quantize(prefix(full(method, info), rankOf(info.name, r))));
      const error = options.adapterBits ? await meanQuantizedError(run, readW, states, adapters) : mean(states.map((s) => s.curves[method]![rankOf(s.info.name, r)]));
      const name = `${method}-r${r}`;
      writeAdapterFile(run.dir, name, states.map((s) => s.info), adapters, (info) => rankOf(info.name, r), { method, rank: String(r), split, bits: String(options.adapterBits ?? 32) });
      variants.push(name);
      rows.push({ rank: r, mean_rel_output_error: error, adapter_params: params(states, (s) => rankOf(s.info.name, r)), ppl: null });
    }
    methods.push({ method, ranks: rows });
  }

  const budgets: BudgetSummary[] = [];
  for (const budgetParams of budgetList) {
    // Unchosen linears keep only err(0): the allocator cannot give them a rank.
    const layers: BudgetLayer[] = states.map((s) => ({ name: s.info.name, out: s.info.out, in: s.info.in, error: rankOf(s.info.name, 1) === 0 ? s.curves.eora!.slice(0, 1) : s.curves.eora! }));
    const allocation = allocateRanks(layers, budgetParams);
    const perRank = layers.reduce((sum, l) => sum + (l.error.length > 1 ? l.in + l.out : 0), 0);
    const uniform = uniformAllocation(layers, Math.floor(budgetParams / perRank));
    const ranksByLinear = Object.fromEntries(states.map((s, l) => [s.info.name, allocation.ranks[l]]));
    const adapters = memoized((info) => quantize(prefix(full('eora', info), ranksByLinear[info.name])));
    const name = budgetVariantName('eora', budgetParams);
    writeAdapterFile(run.dir, name, states.map((s) => s.info), adapters, (info) => ranksByLinear[info.name], { method: 'eora', budget: String(budgetParams), ranks: JSON.stringify(ranksByLinear), split, bits: String(options.adapterBits ?? 32) });
    variants.push(name);
    budgets.push({
      name,
      budget: budgetParams,
      adapter_params: allocation.parameters,
      strategy: allocation.strategy,
      mean_rel_output_error: options.adapterBits ? await meanQuantizedError(run, readW, states, adapters) : allocation.objective / states.length,
      uniform: { rank_parameters: uniform.parameters, mean_rel_output_error: uniform.objective / states.length },
      ranks: ranksByLinear,
      ppl: null,
    });
  }
  const budget = budgets[0] ?? null;

  run.manifest.records.compensate = { methods: options.methods, ranks, modules: options.modules ?? null, split, adapter_bits: options.adapterBits ?? null, adapter_group: options.adapterGroupSize ?? 128, r_max: options.rMax ?? null, eval: null, summary: { methods, budgets } };
  run.save();
  return { methods, budget, budgets, variants };
}

/**
 * Bump when the decompositions' numerics change (2: block Krylov SVD baseline, 2026-12-05; 3: wide
 * layers take their two traces from compress's metric, 2026-12-05; the K and C·Kᵀ products reuse
 * the float32 C and ΔW).
 */
const DECOMPOSITION_VERSION = 3;

/** Layer width (max of out, in) from which the CPU runs the decompositions' products in onnxruntime. */
const ORT_PRODUCTS_MIN_DIM = 1024;

async function decomposeAll(ctx: StageContext, all: LinearInfo[], readW: (name: string) => Float32Array, options: CompensateParams, split: SigmaSplit, ranks: number[]): Promise<LinearState[]> {
  const { run, signal } = ctx;
  for (const info of all) rMaxOf(info, options, ranks); // a rank too high fails before any work
  run.removeStaleTemps(ctx.log); // a killed compensate's temp files
  // What the decompositions depend on besides the run's W, W_c and C (fixed for a run folder:
  // RunFolder refuses another compression config, and deleting the run deletes the partials):
  // the settings, and DECOMPOSITION_VERSION, which changes whenever compensate/'s numerics do,
  // so a resume never mixes factors of two algorithms in one file.
  const key = JSON.stringify({ version: DECOMPOSITION_VERSION, methods: [...options.methods].sort(), r_max: options.rMax ?? null, split, device: ctx.device });
  const earlier = decomposedEarlier(run.dir, all, options.methods, key, ctx.log);
  // Partial files beside whole decompositions: a redo of damaged linears was stopped; assemble them in.
  if (earlier?.size === all.length && !hasPartialDecompositions(run.dir)) {
    ctx.progress?.(all.length, all.length, 'done earlier');
    return all.map((info) => earlier.get(info.name)!);
  }
  if (!earlier) discardDecompositions(run.dir); // else only the damaged linears are decomposed again, the rest kept
  const compressed = openCompressed(run.dir);
  const calibration = openCalibration(run.dir);
  const states: LinearState[] = [];
  // On a GPU every decomposition's products run there. On the CPU, layers from 1024 wide run them
  // as float32 onnxruntime Gemms (as the eora bench measures; randomized.ts states why float32
  // keeps the 0.1 % error promise): float64 JS products took minutes per linear at Llama-3.2-1B
  // widths. Narrower layers (the bundled model, stories15M) keep exact float64 products.
  const sessions = new SessionCache(ctx.device);
  const productsFor = (info: LinearInfo) => (ctx.device !== 'cpu' || Math.max(info.out, info.in) >= ORT_PRODUCTS_MIN_DIM ? ortProducts(sessions) : undefined);
  const traces = compressTraces(run.dir);
  // One linear: its own async function on purpose, so its W, W_c, C and decomposition are
  // released when it returns (a suspended async frame keeps block-scoped consts in its
  // registers: inlined in the loop, linear k's arrays stayed reachable through linear k + 1).
  const decomposeOne = async (info: LinearInfo, rMax: ReturnType<typeof rMaxOf>): Promise<LinearState> => {
    const weight = `${info.name}.weight`;
    const W = readW(weight);
    const Wc = compressed.f32(weight);
    const C = fromArray(info.in, info.in, calibration.f64(gramKey(info.layer, gramOf[info.kind])));
    weightAccount.hold('compensate linear', [W, Wc]); // C is calibration state, not weights (README: memory model)
    const d = await decomposeLayer({ W: fromArray(info.out, info.in, W), Wc: fromArray(info.out, info.in, Wc), C }, { methods: options.methods, rMax, signal, products: productsFor(info), traces: traces(info) });
    const state: LinearState = { info, rMax: d.rMax, curves: {} };
    const full = new Map<string, MethodResult>();
    const spectra: SpectraFile = {
      name: info.name,
      out: info.out,
      in: info.in,
      r_max: d.rMax,
      path: d.path,
      energies: d.energies,
      c_eigenvalues: Array.from(d.covariance.values),
      c_trace: d.covariance.traceC,
      c_precision: d.covariance.precision, // estimated relative precision of c_eigenvalues (compensate/spectrum.ts)
      methods: {},
    };
    for (const method of options.methods) {
      const m = d.methods[method]!;
      full.set(method, { adapter: d.adapterAt(method, d.rMax, split), curve: m.curves.output });
      state.curves[method] = m.curves.output;
      spectra.methods[method] = {
        singular_values: Array.from(m.singularValues),
        precision: m.precision, // of singular_values, relative
        rel_output_error: Array.from(m.curves.output),
        rel_frobenius_error: Array.from(m.curves.frobenius),
        ...(m.predictedOutput ? { predicted_rel_output_error: Array.from(m.predictedOutput) } : {}),
        milliseconds: m.milliseconds,
      };
    }
    checkFiniteDecomposition(info.name, full); // a NaN is an error now, naming the linear, not a damaged file on every resume
    writeSpectra(run.dir, spectra);
    writeLinearDecomposition(run.dir, info, full, split, key); // after its spectra: a whole partial file means both are there
    weightAccount.release('compensate linear');
    return state;
  };
  try {
    for (const [i, info] of all.entries()) {
      signal?.throwIfAborted();
      ctx.progress?.(i, all.length, info.name);
      const rMax = rMaxOf(info, options, ranks);
      states.push(earlier?.get(info.name) ?? finishedEarlier(run.dir, info, options.methods, key, ctx.log) ?? (await decomposeOne(info, rMax)));
    }
    ctx.progress?.(all.length, all.length, 'done');
  } finally {
    weightAccount.release('compensate linear'); // a stopped or failed linear's W and W_c too
    compressed.close();
    calibration.close();
    await sessions.release();
  }
  assembleDecompositions(run.dir, states.map((s) => s.info.name), options.methods, split, key);
  return states;
}

/**
 * tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ) of a linear as compress measured them (layers.json), for the same
 * W, W_c and C that compensate reads and by the same float32 symmetric energy compensate would
 * run (onnx/symmetric-energy.ts): at 4096 × 14336 most of a decomposition's flops, paid once.
 * Only for layers from ORT_METRICS_MIN_IN wide, where compress took them with onnxruntime:
 * narrower ones (the bundled model's) keep the numbers they always had. Runs from before the
 * traces were recorded: undefined (computed).
 */
export function compressTraces(runDir: string): (info: LinearInfo) => { output: number; errorOutput: number } | undefined {
  const records = new Map(readLayersJson(runDir).map((r) => [r.name, r]));
  return (info) => {
    const r = records.get(info.name);
    const usable = info.in >= ORT_METRICS_MIN_IN && r?.out === info.out && r.in === info.in && typeof r.output_energy === 'number' && typeof r.error_output_energy === 'number';
    return usable ? { output: r.output_energy!, errorOutput: r.error_output_energy! } : undefined;
  };
}

/** The decomposition rank of a linear (undefined: the default); a top rank it cannot hold is a RunError. */
function rMaxOf(info: LinearInfo, options: CompensateParams, ranks: readonly number[]): number | undefined {
  const rMax = options.rMax === undefined ? undefined : Math.min(options.rMax, info.out, info.in);
  const top = ranks[ranks.length - 1] ?? 0;
  if (top > Math.min(info.out, info.in) || (rMax !== undefined && top > rMax)) {
    throw new RunError(`rank ${top} exceeds what ${info.name} [${info.out}, ${info.in}] allows${rMax !== undefined ? ` with --r-max ${options.rMax}` : ''}`);
  }
  return rMax;
}

type Log = ((message: string) => void) | undefined;

/** A linear an earlier compensate under `key` finished (whole partial file, matching spectra), or null; a damaged file is said (`log`). */
function finishedEarlier(dir: string, info: LinearInfo, methods: readonly Method[], key: string, log: Log): LinearState | null {
  const done = finishedLinearDecomposition(dir, info, methods, key, log);
  if (!done) return null;
  const curves = spectraCurves(dir, info.name, methods, done.rMax);
  if (typeof curves === 'string') log?.(`${curves}; ${info.name} is decomposed again`);
  return typeof curves === 'string' ? null : { info, rMax: done.rMax, curves: Object.fromEntries(done.curves) };
}

/**
 * The linears a finished compensate under `key` left whole (null: no whole decompositions under
 * this key). Their err(r) curves come back from the spectra (JSON keeps every finite float64
 * exactly). A linear whose spectra file is missing, unreadable, of another r_max or holds a NaN
 * (written as null) is left out and said (`log`): that one alone is decomposed again.
 */
function decomposedEarlier(dir: string, all: readonly LinearInfo[], methods: readonly Method[], key: string, log: Log): Map<string, LinearState> | null {
  const ranks = finishedDecompositions(dir, methods, all, key, log);
  if (!ranks) return null;
  const states = new Map<string, LinearState>();
  for (const info of all) {
    const rMax = ranks.get(info.name)!;
    const curves = spectraCurves(dir, info.name, methods, rMax);
    if (typeof curves === 'string') log?.(`${curves}; ${info.name} is decomposed again`);
    else states.set(info.name, { info, rMax, curves });
  }
  return states;
}

/** Each method's err(r) curve from a linear's spectra file when it was made at this r_max and is finite; else why not (naming the file). */
function spectraCurves(dir: string, linear: string, methods: readonly Method[], rMax: number): Partial<Record<Method, Float64Array>> | string {
  const file = `${SPECTRA_DIR}/${linear}.json`;
  let spectra: SpectraFile;
  try {
    spectra = readSpectra(dir, linear);
  } catch (error) {
    return `${file}: unreadable (${(error as Error).message})`; // both files are rewritten
  }
  if (spectra.r_max !== rMax) return `${file}: made at r_max ${spectra.r_max}, the decompositions at ${rMax}`;
  for (const m of methods) {
    const curve = spectra.methods[m]?.rel_output_error;
    if (curve?.length !== rMax + 1) return `${file}: no ${m} err(r) curve of ${rMax + 1} points`;
    const bad = curve.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) return `${file}: ${m}'s err(r) curve holds ${curve[bad]} at r = ${bad}`;
  }
  return Object.fromEntries(methods.map((m) => [m, Float64Array.from(spectra.methods[m].rel_output_error)]));
}

/** Rank-r adapter from the rank-rMax one: the first r columns of B and rows of A. */
export function prefix(full: Adapter, r: number): Adapter {
  const { B, A } = full;
  const R = full.rank;
  const b = zeros(B.rows, r);
  for (let i = 0; i < B.rows; i++) for (let j = 0; j < r; j++) b.data[i * r + j] = B.data[i * R + j];
  return { B: b, A: { rows: r, cols: A.cols, data: A.data.slice(0, r * A.cols) }, rank: r, split: full.split };
}

/** Remembers the last linear's adapter: a file's A and B, and a variant's error and scoring, ask for it in turn. */
function memoized(of: AdapterOf): AdapterOf {
  let last: { name: string; adapter: Adapter } | null = null;
  return (info) => {
    if (last?.name !== info.name) last = { name: info.name, adapter: of(info) };
    return last.adapter;
  };
}

/**
 * Exact mean relative output error of (possibly quantized) adapters: tr(R·C·Rᵀ)/tr(W·C·Wᵀ),
 * R = ΔW − B·A; W, W_c and C read again one linear at a time.
 */
async function meanQuantizedError(run: RunFolder, readW: (name: string) => Float32Array, states: LinearState[], adapterOf: AdapterOf): Promise<number> {
  const errors: number[] = [];
  const compressed = openCompressed(run.dir);
  const calibration = openCalibration(run.dir);
  const sessions = new SessionCache('cpu'); // float64 MatMuls for the residuals: exact like the JS products, minutes faster at real widths
  const traces = compressTraces(run.dir);
  try {
    for (const { info } of states) {
      const W = fromArray(info.out, info.in, readW(`${info.name}.weight`));
      const dW = subtract(W, fromArray(info.out, info.in, compressed.f32(`${info.name}.weight`)));
      const C = fromArray(info.in, info.in, calibration.f64(gramKey(info.layer, gramOf[info.kind])));
      const a = adapterOf(info);
      const residual = a.rank === 0 ? dW : subtract(dW, adapterProduct(a));
      // tr(M·C·Mᵀ) for M: [out, in]; narrow layers keep the JS products (unchanged numbers).
      const trace = (m: Matrix) =>
        info.in >= ORT_METRICS_MIN_IN ? quadraticTraceOrt(sessions, (r0, r1, dst) => dst.set(m.data.subarray(r0 * info.in, r1 * info.in)), info.out, info.in, C.data) : outputEnergy(float64Products, m, C);
      const energy = traces(info)?.output ?? (await trace(W));
      errors.push((await trace(residual)) / (energy > 0 ? energy : 1));
    }
  } finally {
    compressed.close();
    calibration.close();
    await sessions.release();
  }
  return mean(errors);
}

/** W_c + B·A as float32 [out, in] (the sum formed in float64). */
export function merged(Wc: Float32Array, adapter: Adapter): Float32Array {
  if (adapter.rank === 0) return Wc;
  const product = adapterProduct(adapter).data;
  const out = new Float32Array(Wc.length);
  for (let i = 0; i < Wc.length; i++) out[i] = Wc[i] + product[i];
  return out;
}

function params(states: LinearState[], rank: (s: LinearState) => number): number {
  return states.reduce((sum, s) => sum + rank(s) * (s.info.in + s.info.out), 0);
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

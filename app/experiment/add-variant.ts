// A new variant in a finished run, from what the run keeps: the rank-r_max decompositions
// (decompositions/<method>.safetensors) give the adapter at any rank per linear as a prefix,
// the spectra's err(r) curves give budget allocations. Nothing upstream is recomputed; the
// variant is measured like the others (same texts, task items and prompts) and appended to
// metrics.json (and samples.json).
import { moduleRanks, type ModuleSelection } from '../contract/modules.js';
import { whileActive } from './active.js';
import { quantizeAdapter } from '../compensate/adapter-quant.js';
import { allocateRanks, type BudgetLayer } from '../compensate/budget.js';
import { linears } from '../model/inspect.js';
import { openModel } from '../model/open.js';
import type { Device } from '../onnx/runtime.js';
import { prefix } from './stages/compensate.js';
import type { Adapter } from '../compensate/adapter.js';
import type { LinearInfo } from '../model/types.js';
import { writeAdapterFile } from '../run/files/adapters.js';
import { decompositionRanks, readDecomposition } from '../run/files/decompositions.js';
import { metricsJsonPath, readMetricsJson } from '../run/files/metrics-json.js';
import { readSpectra } from '../run/files/spectra.js';
import { budgetVariantName, rankVariantName, ranksVariantName, type VariantEntry } from '../run/metrics.js';
import { modelFingerprint, RunError, RunFolder } from '../run/run.js';
import { evalInputs, textName, type EvalInputs } from './evaluate.js';
import type { ExperimentProgress, ExperimentStage } from './run.js';
import { runStage, type StageContext } from './stages/driver.js';
import { evaluateStage } from './stages/evaluate.js';
import { samplesStage } from './stages/samples.js';
import { experimentSchema } from './schema.js';

export interface VariantRequest {
  method: 'eora' | 'svd' | 'scaled-svd';
  /** The same rank for every linear: variant `<method>-r<rank>`. */
  rank?: number;
  /** Allocate ranks over the method's err(r) curves under Σ r_l·(in_l + out_l) ≤ budget: `<method>-budget-<budget>`. */
  budget?: number;
  /** Explicit per-linear ranks (every linear named): `<method>-ranks-<params>`. */
  ranks?: Record<string, number>;
}

export function addVariant(runDir: string, request: VariantRequest, options: { signal?: AbortSignal; onProgress?: (event: ExperimentProgress) => void; onLog?: (message: string) => void } = {}): Promise<VariantEntry> {
  return whileActive(runDir, () => materialize(runDir, request, options), 'add-variant', options.onLog);
}

async function materialize(runDir: string, request: VariantRequest, options: { signal?: AbortSignal; onProgress?: (event: ExperimentProgress) => void; onLog?: (message: string) => void }): Promise<VariantEntry> {
  const run = RunFolder.open(runDir);
  const given = [request.rank, request.budget, request.ranks].filter((x) => x !== undefined).length;
  if (given !== 1) throw new RunError(`addVariant: give exactly one of rank, budget or ranks`);
  const model = await openModel(run.manifest.model.path);
  try {
    if (modelFingerprint(model) !== run.manifest.model.fingerprint) throw new RunError(`${run.manifest.model.path} is not the model this run was made from (fingerprint differs)`);
    const all = linears(model);
    // Ranks from the file's header; each linear's rank-r_max factors are read when its adapter is
    // written (an 8B run's decompositions at r_max 512 are ~10 GB: never all in memory).
    const stored = decompositionRanks(run.dir, request.method);
    const maxRank = (name: string) => stored.ranks.get(name) ?? 0;
    // The run's module selection (compensation.modules) holds for a new rank or budget too.
    const rankOf = moduleRanks(all.map((l) => ({ name: l.name, maxRank: maxRank(l.name) })), (run.manifest.records.compensate as { modules?: ModuleSelection | null } | undefined)?.modules ?? undefined);
    let ranks: number[];
    let name: string;
    if (request.rank !== undefined) {
      const r = request.rank;
      if (!Number.isSafeInteger(r) || r < 1) throw new RunError(`addVariant: rank must be a positive integer, got ${r}`);
      const short = all.find((l) => maxRank(l.name) < r);
      if (short) throw new RunError(`addVariant: rank ${r} exceeds the stored decomposition of ${short.name} (rank ${maxRank(short.name)})`);
      ranks = all.map((l) => rankOf(l.name, r));
      name = rankVariantName(request.method, r);
    } else if (request.budget !== undefined) {
      if (!Number.isSafeInteger(request.budget) || request.budget < 1) throw new RunError(`addVariant: budget must be a positive integer, got ${request.budget}`);
      const layers: BudgetLayer[] = all.map((l) => ({ name: l.name, out: l.out, in: l.in, error: curveOf(run, l.name, request.method).slice(0, rankOf(l.name, 1) === 0 ? 1 : maxRank(l.name) + 1) }));
      ranks = allocateRanks(layers, request.budget).ranks;
      name = budgetVariantName(request.method, request.budget);
    } else {
      const given = request.ranks!;
      const unknown = Object.keys(given).find((k) => !all.some((l) => l.name === k));
      if (unknown) throw new RunError(`addVariant: ranks: "${unknown}" is not a linear of the model`);
      ranks = all.map((l) => {
        const r = given[l.name];
        if (r === undefined) throw new RunError(`addVariant: ranks: missing ${l.name}`);
        if (!Number.isSafeInteger(r) || r < 0 || r > maxRank(l.name)) throw new RunError(`addVariant: ranks: ${l.name} must be an integer in 0..${maxRank(l.name)}, got ${r}`);
        return r;
      });
      name = ranksVariantName(request.method, all.reduce((s, l, i) => s + ranks[i] * (l.in + l.out), 0), ranks);
    }

    const inputs = inputsOf(run, model);
    const measured = readMetricsJson(run.dir).eval;
    if (measured && JSON.stringify(measured) !== JSON.stringify(inputs.setup)) throw new RunError(`${metricsJsonPath(run.dir)}: its variants were measured under another evaluation setup than the run's config; rerun the experiment first`);

    const record = run.manifest.records.compensate as { adapter_bits?: 4 | 8 | null; adapter_group?: number } | undefined;
    const bits = record?.adapter_bits ?? undefined;
    const rankByLinear = new Map(all.map((l, i) => [l.name, ranks[i]]));
    let last: { name: string; adapter: Adapter } | undefined; // A and B of one linear are written one after the other
    const adapterOf = (info: LinearInfo): Adapter => {
      if (last?.name !== info.name) {
        const a = prefix(readDecomposition(run.dir, request.method, info), rankByLinear.get(info.name)!);
        last = { name: info.name, adapter: bits ? quantizeAdapter(a, { bits, groupSize: record?.adapter_group ?? 128 }) : a };
      }
      return last.adapter;
    };
    const split = stored.split;
    // The same metadata as stages/compensate.ts writes, so a re-made variant's file is byte-identical.
    const ranksText = JSON.stringify(Object.fromEntries(all.map((l, i) => [l.name, ranks[i]])));
    const metadata: Record<string, string> =
      request.rank !== undefined
        ? { method: request.method, rank: String(request.rank), split, bits: String(bits ?? 32) }
        : { method: request.method, ...(request.budget !== undefined ? { budget: String(request.budget) } : {}), ranks: ranksText, split, bits: String(bits ?? 32) };
    writeAdapterFile(run.dir, name, all, adapterOf, (info) => rankByLinear.get(info.name)!, metadata);

    // The new variant goes through the experiment's own evaluate and samples stages.
    const plans = [{ name }];
    const ctx = (stage: ExperimentStage): StageContext => ({
      run,
      model,
      device: run.manifest.device as Device,
      signal: options.signal,
      progress: (done, total, label) => options.onProgress?.({ stage, done, total, label }),
      log: options.onLog,
    });
    const metrics = await runStage(ctx('evaluate'), evaluateStage, { plans, inputs, remeasure: true });
    if (inputs.setup.generation) await runStage(ctx('samples'), samplesStage, { plans, generation: inputs.setup.generation, remeasure: true });
    return metrics.variants[name];
  } finally {
    model.close();
  }
}

function curveOf(run: RunFolder, linear: string, method: string): number[] {
  const spectra = readSpectra(run.dir, linear);
  const curve = spectra.methods[method]?.rel_output_error;
  if (!curve) throw new RunError(`${run.dir}: spectra of ${linear}: no ${method} err(r) curve`);
  return curve;
}

/** The run's evaluation: the experiment's (texts, tasks, prompts), else the texts metrics.json records. */
function inputsOf(run: RunFolder, model: Awaited<ReturnType<typeof openModel>>): EvalInputs {
  const recorded = run.manifest.config.experiment;
  if (recorded !== undefined) return evalInputs(experimentSchema.parse({ ...(recorded as object), device: run.manifest.device }), model);
  const texts = readMetricsJson(run.dir).eval?.perplexity ?? [];
  if (texts.length === 0) throw new RunError(`${run.dir}: the run records no evaluation setup to measure a new variant with`);
  return evalInputs(experimentSchema.parse({ compression: {}, evaluation: { perplexity: texts.map((t) => ({ name: t.name === textName(t.file) ? undefined : t.name, file: t.file, tokens: t.tokens, seq_len: t.seq_len })) } }), model);
}

// Reads run folders for the UI: the listing, one run's details, a spectrum, the err(r) curves.
// Listing, deleting and the results table come from app/experiment; spectra and curves are
// read here. Files are distrusted: a missing or malformed file gives an error naming it.
import { basename, resolve } from 'node:path';
import type {
  CurveSet,
  LayerError,
  MetricCell,
  MetricInfo,
  PairedDelta,
  RunDetails,
  RunListing,
  SampleSet,
  Spectrum,
  StageView,
  VariantResult,
} from '../contract/index.js';
import { readRunResults } from '../experiment/results.js';
import { readFailure } from '../experiment/failure.js';
import { deleteRun, listRuns } from '../experiment/runs.js';
import { readLayersJson } from '../run/files/layers-json.js';
import { hasRunJson, readRunJson, runJsonPath, type RunManifest } from '../run/files/run-json.js';
import { readSpectra, spectraLinears, spectraPath } from '../run/files/spectra.js';

function readManifest(dir: string): RunManifest {
  const failure = hasRunJson(dir) ? null : readFailure(dir);
  if (failure) throw new Error(`${dir}: the run failed before it wrote run.json: ${failure.error}`);
  const manifest = readRunJson(dir);
  if (!manifest) throw new Error(`${runJsonPath(dir)}: no such file`);
  return manifest;
}

export function listRunFolders(root: string): RunListing[] {
  return listRuns(resolve(root)).map((r) => ({ ...r, model: r.model ?? '?', method: r.method ?? '?', created: r.created ?? '' }));
}

/** Deletes a run folder; refuses a folder without a valid run.json, and a running run. */
export function deleteRunFolder(dir: string): void {
  deleteRun(resolve(dir));
}

/** Engine deltas (null = none) in the contract's shape (absent = none). */
function pairedCells(cells: Record<string, { delta: number | null; stderr: number | null; significant: boolean | null }>): Record<string, PairedDelta> {
  const out: Record<string, PairedDelta> = {};
  for (const [key, c] of Object.entries(cells)) {
    if (c.delta === null) continue;
    out[key] = { delta: c.delta, ...(c.stderr === null ? {} : { stderr: c.stderr }), ...(c.significant === null ? {} : { significant: c.significant }) };
  }
  return out;
}

/** readRunResults' table in the contract's shape (labels, deltas, samples per prompt). */
export function resultsOf(dir: string): Pick<RunDetails, 'metrics' | 'variants' | 'samples' | 'status'> {
  const results = readRunResults(dir);
  const metrics: MetricInfo[] = results.columns.map((c) => ({
    key: c.key,
    label: c.kind === 'ppl' ? `perplexity (${c.source})` : `${c.source} ${c.kind}`,
    lowerIsBetter: !c.higher_is_better,
    unit: c.unit,
    ...(c.n === null ? {} : { n: c.n }),
  }));
  const variants = results.variants.map((v): VariantResult => {
    const cells: VariantResult['metrics'] = {};
    for (const [key, cell] of Object.entries(v.cells)) {
      if (cell.value === null) continue;
      const out: MetricCell = { value: cell.value };
      if (cell.stderr !== null) out.stderr = cell.stderr;
      if (cell.delta_original !== null) out.delta_original = cell.delta_original;
      if (cell.delta_compressed !== null) out.delta_compressed = cell.delta_compressed;
      if (cell.stderr_delta_original !== null) out.stderr_delta_original = cell.stderr_delta_original;
      if (cell.stderr_delta_compressed !== null) out.stderr_delta_compressed = cell.stderr_delta_compressed;
      if (cell.significant_original !== null) out.significant_original = cell.significant_original;
      if (cell.significant_compressed !== null) out.significant_compressed = cell.significant_compressed;
      cells[key] = out;
    }
    const row: VariantResult = { name: v.name, method: v.method, rank: typeof v.rank === 'number' ? v.rank : null, adapter_params: v.adapter_params, metrics: cells };
    if (v.versus_svd) row.versus_svd = { variant: v.versus_svd.variant, basis: v.versus_svd.basis, metrics: pairedCells(v.versus_svd.cells) };
    return row;
  });
  const file = results.samples;
  const samples: SampleSet[] = (file?.prompts ?? []).map((prompt, i) => ({
    prompt,
    outputs: Object.fromEntries(Object.entries(file?.variants ?? {}).map(([variant, list]) => [variant, list[i]?.text ?? ''])),
  }));
  return { status: results.status, metrics, variants, samples };
}

function methodOf(manifest: RunManifest): string {
  const method = manifest.config?.method;
  return typeof method === 'string' ? method : '?';
}

export async function readRunDetails(dir: string): Promise<RunDetails> {
  const abs = resolve(dir);
  const manifest = readManifest(abs);
  const layers: LayerError[] = readLayersJson(abs);
  const files = spectraLinears(abs);
  const spectra = layers.map((l) => l.name).filter((name) => files.has(name));
  const compensate = (manifest.records?.compensate ?? {}) as { methods?: string[] };
  const stages: StageView[] = Object.entries(manifest.stages ?? {}).map(([name, s]) => ({ name, status: s?.status ?? 'pending', seconds: s?.seconds, error: s?.error }));
  return {
    dir: abs,
    name: basename(abs),
    created: manifest.created,
    model: manifest.model?.path ?? '?',
    device: manifest.device,
    method: methodOf(manifest),
    config: manifest.config ?? {},
    stages,
    layers,
    ...resultsOf(abs),
    spectra,
    methods: spectra.length > 0 ? (compensate.methods ?? []) : [],
  };
}

export async function readSpectrum(dir: string, linear: string): Promise<Spectrum> {
  // linear is restricted to [A-Za-z0-9_.-] by the contract; spectraPath refuses '..' as well.
  const s = readSpectra(resolve(dir), linear);
  return { name: s.name, out: s.out, in: s.in, r_max: s.r_max, c_eigenvalues: s.c_eigenvalues, c_trace: s.c_trace, c_precision: typeof s.c_precision === 'number' ? s.c_precision : null, methods: s.methods };
}

export async function readCurves(dir: string, method: string): Promise<CurveSet> {
  const details = await readRunDetails(dir);
  const layers: CurveSet['layers'] = [];
  for (const name of details.spectra) {
    const spectrum = await readSpectrum(dir, name);
    const curve = spectrum.methods[method];
    if (!curve) throw new Error(`${spectraPath(details.dir, name)}: no ${method} curve (the run has ${Object.keys(spectrum.methods).join(', ') || 'none'})`);
    layers.push({ name, out: spectrum.out, in: spectrum.in, error: curve.rel_output_error });
  }
  return { method, layers };
}

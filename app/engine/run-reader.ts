// Reads run folders for the UI: the listing, one run's details, a spectrum, the err(r) curves.
// Listing, deleting and the results table come from app/experiment; spectra and curves are
// read here. Files are distrusted: a missing or malformed file gives an error naming it.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
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
import { RUN_FORMAT, type RunManifest } from '../run/run.js';

async function readJsonFile<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

async function readManifest(dir: string): Promise<RunManifest> {
  const file = join(dir, 'run.json');
  const failure = existsSync(file) ? null : readFailure(dir);
  if (failure) throw new Error(`${dir}: the run failed before it wrote run.json: ${failure.error}`);
  const manifest = await readJsonFile<RunManifest>(file);
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== RUN_FORMAT) {
    throw new Error(`${file}: not an eora run.json (format ${JSON.stringify((manifest as { format?: unknown })?.format)})`);
  }
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
  const manifest = await readManifest(abs);
  const layersFile = join(abs, 'layers.json');
  const layers = existsSync(layersFile) ? await readJsonFile<LayerError[]>(layersFile) : [];
  if (!Array.isArray(layers)) throw new Error(`${layersFile}: expected a list of linears`);
  const spectraDir = join(abs, 'spectra');
  const files = existsSync(spectraDir) ? new Set(await readdir(spectraDir)) : new Set<string>();
  const spectra = layers.map((l) => l.name).filter((name) => files.has(`${name}.json`));
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

function checkSpectrum(file: string, value: unknown): Spectrum {
  const s = value as Spectrum;
  if (typeof s !== 'object' || s === null || !Array.isArray(s.c_eigenvalues) || typeof s.c_trace !== 'number' || typeof s.methods !== 'object') {
    throw new Error(`${file}: not a spectra file (needs c_eigenvalues, c_trace, methods)`);
  }
  for (const [method, m] of Object.entries(s.methods)) {
    if (!Array.isArray(m.singular_values) || !Array.isArray(m.rel_output_error)) throw new Error(`${file}: methods.${method} lacks singular_values or rel_output_error`);
  }
  return { name: s.name, out: s.out, in: s.in, r_max: s.r_max, c_eigenvalues: s.c_eigenvalues, c_trace: s.c_trace, c_precision: typeof s.c_precision === 'number' ? s.c_precision : null, methods: s.methods };
}

export async function readSpectrum(dir: string, linear: string): Promise<Spectrum> {
  // linear is restricted to [A-Za-z0-9_.-] by the contract; refuse '..' as well.
  if (linear.includes('..')) throw new Error(`${linear}: not a linear name`);
  const file = join(resolve(dir), 'spectra', `${linear}.json`);
  return checkSpectrum(file, await readJsonFile(file));
}

export async function readCurves(dir: string, method: string): Promise<CurveSet> {
  const details = await readRunDetails(dir);
  const layers: CurveSet['layers'] = [];
  for (const name of details.spectra) {
    const spectrum = await readSpectrum(dir, name);
    const curve = spectrum.methods[method];
    if (!curve) throw new Error(`${join(details.dir, 'spectra', `${name}.json`)}: no ${method} curve (the run has ${Object.keys(spectrum.methods).join(', ') || 'none'})`);
    layers.push({ name, out: spectrum.out, in: spectrum.in, error: curve.rel_output_error });
  }
  return { method, layers };
}

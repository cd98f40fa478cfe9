// Reads run folders for the UI: the listing, one run's details, a spectrum, the err(r) curves.
// Everything here only reads (deleteRunFolder aside, which refuses anything but a run folder).
// Files are distrusted: a missing or malformed file gives an error naming it, and a corrupt
// run still lists (status 'corrupt') so the user can see and delete it.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type {
  CurveSet,
  LayerError,
  MetricInfo,
  RunDetails,
  RunListing,
  RunStatus,
  Spectrum,
  StageView,
  VariantResult,
} from '../contract/index.js';
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
  const manifest = await readJsonFile<RunManifest>(file);
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== RUN_FORMAT) {
    throw new Error(`${file}: not an eora run.json (format ${JSON.stringify((manifest as { format?: unknown })?.format)})`);
  }
  return manifest;
}

/** The run's overall status from its stages: the worst of failed > running > stopped > pending > done. */
export function runStatus(manifest: RunManifest): RunStatus {
  const statuses = Object.values(manifest.stages ?? {}).map((s) => s?.status);
  // An experiment records its own overall status; runs made by the CLI stages do not.
  const own = (manifest as { status?: unknown }).status;
  if (typeof own === 'string') return own as RunStatus;
  for (const status of ['failed', 'running', 'stopped', 'pending'] as const) if (statuses.includes(status)) return status;
  return statuses.length > 0 ? 'done' : 'pending';
}

function methodOf(manifest: RunManifest): string {
  const config = manifest.config ?? {};
  const method = config.method ?? config.compress;
  return typeof method === 'string' ? method : JSON.stringify(method ?? null);
}

export async function listRunFolders(root: string): Promise<RunListing[]> {
  const abs = resolve(root);
  if (!existsSync(abs)) return [];
  const entries = await readdir(abs, { withFileTypes: true });
  const runs: RunListing[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(abs, entry.name);
    if (!existsSync(join(dir, 'run.json'))) continue;
    try {
      const manifest = await readManifest(dir);
      runs.push({ dir, name: entry.name, status: runStatus(manifest), model: manifest.model?.path ?? '?', method: methodOf(manifest), created: manifest.created ?? '' });
    } catch (error) {
      const created = (await stat(dir)).mtime.toISOString();
      runs.push({ dir, name: entry.name, status: 'corrupt', model: '?', method: '?', created, error: (error as Error).message });
    }
  }
  return runs.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
}

/** Deletes a run folder; refuses a folder without an eora run.json (never deletes anything else). */
export async function deleteRunFolder(dir: string): Promise<void> {
  const abs = resolve(dir);
  const file = join(abs, 'run.json');
  if (!existsSync(file)) throw new Error(`${abs}: not a run folder (no run.json); nothing deleted`);
  const text = await readFile(file, 'utf8').catch(() => '');
  // A corrupt run.json still names our format somewhere, or the folder is not ours to delete.
  if (!text.includes(RUN_FORMAT)) throw new Error(`${file}: not an eora run; nothing deleted`);
  await rm(abs, { recursive: true, force: true });
}

interface MetricsFile {
  variants?: Record<string, { ppl?: number; ppl_stderr?: number }>;
}

/** "eora-r16" → {method: eora, rank: 16}; "eora-budget" → {method: eora, rank: null}. */
export function parseVariantName(name: string): { method: string | null; rank: number | null } {
  if (name === 'original' || name === 'compressed') return { method: null, rank: null };
  const match = /^(.*?)-(?:r(\d+)|budget.*)$/.exec(name);
  if (!match) return { method: name, rank: null };
  return { method: match[1], rank: match[2] === undefined ? null : Number(match[2]) };
}

/** Variants with perplexity and its deltas to original and compressed (today's metrics.json). */
function resultsFromMetrics(metrics: MetricsFile | undefined): { metrics: MetricInfo[]; variants: VariantResult[] } {
  const entries = Object.entries(metrics?.variants ?? {});
  const ppl = (name: string) => metrics?.variants?.[name]?.ppl;
  const variants = entries.map(([name, m]): VariantResult => {
    const cells: VariantResult['metrics'] = {};
    if (typeof m.ppl === 'number') {
      const o = ppl('original');
      const c = ppl('compressed');
      cells.ppl = { value: m.ppl, ...(o === undefined ? {} : { delta_original: m.ppl - o }), ...(c === undefined ? {} : { delta_compressed: m.ppl - c }) };
    }
    return { name, ...parseVariantName(name), metrics: cells };
  });
  return { metrics: variants.length > 0 ? [{ key: 'ppl', label: 'perplexity', lowerIsBetter: true }] : [], variants };
}

export async function readRunDetails(dir: string): Promise<RunDetails> {
  const abs = resolve(dir);
  const manifest = await readManifest(abs);
  const layersFile = join(abs, 'layers.json');
  const layers = existsSync(layersFile) ? await readJsonFile<LayerError[]>(layersFile) : [];
  if (!Array.isArray(layers)) throw new Error(`${layersFile}: expected a list of linears`);
  const metricsFile = join(abs, 'metrics.json');
  const metrics = existsSync(metricsFile) ? await readJsonFile<MetricsFile>(metricsFile) : undefined;
  const spectraDir = join(abs, 'spectra');
  const files = existsSync(spectraDir) ? new Set(await readdir(spectraDir)) : new Set<string>();
  const spectra = layers.map((l) => l.name).filter((name) => files.has(`${name}.json`));
  const compensate = (manifest.records?.compensate ?? {}) as { methods?: string[] };
  const stages: StageView[] = Object.entries(manifest.stages ?? {}).map(([name, s]) => ({ name, status: s?.status ?? 'pending', seconds: s?.seconds, error: s?.error }));
  return {
    dir: abs,
    name: basename(abs),
    status: runStatus(manifest),
    created: manifest.created,
    model: manifest.model?.path ?? '?',
    device: manifest.device,
    method: methodOf(manifest),
    config: manifest.config ?? {},
    stages,
    layers,
    ...resultsFromMetrics(metrics),
    samples: [],
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
  return { name: s.name, out: s.out, in: s.in, r_max: s.r_max, c_eigenvalues: s.c_eigenvalues, c_trace: s.c_trace, methods: s.methods };
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

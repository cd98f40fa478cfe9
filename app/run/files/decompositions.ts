// decompositions/<method>.safetensors: the rank-r_max adapter of every linear per method, F64
// (`<linear>.lora_A.weight` [r, in], `<linear>.lora_B.weight` [out, r]; Σ split in
// __metadata__), so any later rank or budget is a prefix of it without recomputation. While
// compensate runs, each linear's factors and err(r) curves for every method go to
// decompositions/partial/<linear>.safetensors at once (`<method>.lora_A.weight`,
// `<method>.lora_B.weight`, `<method>.curve` [r + 1]; what they were made under in
// __metadata__ `key`) and are assembled tensor by tensor at the end. A stopped compensate
// resumes from them: a linear whose partial file is whole and was made under the same key is
// not decomposed again (finishedLinearDecomposition).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Adapter, SigmaSplit } from '../../compensate/adapter.js';
import { z } from 'zod';
import { fromArray } from '../../linalg/matrix.js';
import { isDamage, RunError } from '../errors.js';
import { TensorFile, writeSafetensors, type TensorToWrite } from '../safetensors-writer.js';
import { metadataToWrite, readMetadata, sigmaSplit } from './metadata.js';
import { readRunTensor64, withRunFile } from './tensors.js';

export const DECOMPOSITIONS_DIR = 'decompositions';
/** Per-linear files while compensate runs (run.ts cleans dead writers' temps here too). */
export const DECOMPOSITIONS_PARTIAL = join(DECOMPOSITIONS_DIR, 'partial');
export const decompositionsPath = (dir: string, method: string) => join(dir, DECOMPOSITIONS_DIR, `${method}.safetensors`);
const partialPath = (dir: string, linear: string) => join(dir, DECOMPOSITIONS_PARTIAL, `${linear}.safetensors`);
const FACTORS = ['lora_A', 'lora_B'] as const;

/** Any file of factor pairs (decompositions, adapters): where Σ sits (files written before it was recorded: B). */
export const factorPairMetadata = z.looseObject({ split: sigmaSplit.default('B') });
/** A linear's partial file: the Σ split and what it was made under (the stage's key). */
const partialMetadata = z.looseObject({ split: sigmaSplit, key: z.string({ error: 'expected the key it was made under' }) });
/** decompositions/<method>.safetensors (key: absent in files from before it was recorded, which then never match). */
const assembledMetadata = factorPairMetadata.extend({ method: z.string({ error: 'expected the method' }), key: z.string().optional() });
const factor = (linear: string, f: (typeof FACTORS)[number]) => `${linear}.${f}.weight`;

/** One method's result for one linear: its rank-r_max adapter and err(r) curve [r_max + 1]. */
export interface MethodResult {
  adapter: Adapter;
  curve: Float64Array;
}

/** Where a method's factors or curve hold a NaN or ±Inf first (`eora's err(r) curve holds NaN at r = 3`); null when all are finite. */
function nonFinite(method: string, what: 'lora_A' | 'lora_B' | 'err(r) curve', values: ArrayLike<number>): string | null {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return `${method}'s ${what} holds ${values[i]} at ${what === 'err(r) curve' ? 'r = ' : 'index '}${i}`;
  return null;
}

/**
 * Refuses a decomposition holding a NaN or ±Inf, naming the linear, when it is made (before
 * anything of it is written): stored, it would read as damaged on every resume, and a budget
 * allocation over its curve would be meaningless.
 */
export function checkFiniteDecomposition(linear: string, made: ReadonlyMap<string, MethodResult>): void {
  for (const [method, { adapter, curve }] of made) {
    const problem = nonFinite(method, 'err(r) curve', curve) ?? nonFinite(method, 'lora_A', adapter.A.data) ?? nonFinite(method, 'lora_B', adapter.B.data);
    if (problem) throw new RunError(`${linear}: its decomposition is not finite (${problem}); nothing of it was written. Its W, W_c or calibration C hold non-finite values?`);
  }
}

/**
 * One linear's rank-r_max adapter and curve for every method, written as soon as they are made.
 * `key` names what they depend on besides the run's W, W_c and C (methods, r_max, split,
 * device): a resume reuses the file only under the same key.
 */
export function writeLinearDecomposition(dir: string, linear: { name: string; out: number; in: number }, made: ReadonlyMap<string, MethodResult>, split: SigmaSplit, key: string): void {
  checkFiniteDecomposition(linear.name, made);
  mkdirSync(join(dir, DECOMPOSITIONS_PARTIAL), { recursive: true });
  const tensors: TensorToWrite[] = [];
  for (const [method, { adapter: a, curve }] of made) {
    tensors.push({ name: `${method}.lora_A.weight`, dtype: 'F64', shape: [a.rank, linear.in], data: Float64Array.from(a.A.data) });
    tensors.push({ name: `${method}.lora_B.weight`, dtype: 'F64', shape: [linear.out, a.rank], data: Float64Array.from(a.B.data) });
    tensors.push({ name: `${method}.curve`, dtype: 'F64', shape: [curve.length], data: curve });
  }
  const path = partialPath(dir, linear.name);
  writeSafetensors(path, tensors, metadataToWrite(path, { split, key }, partialMetadata));
}

/** An error's message without its leading file name (the report names the file itself). */
const withoutFile = (error: unknown) => (error as Error).message.replace(/^\S*\.safetensors: /, '');

/**
 * A linear finished by an earlier (stopped or killed) compensate under the same `key`: its r_max
 * and each method's err(r) curve; null when it has to be decomposed (again). A file that is not
 * whole (its header does not parse, a tensor lies beyond its end, a method or factor is missing
 * or misshapen, a curve holds a NaN) or was made under another key is discarded, and `onDiscard`
 * told which and why. Writes are atomic, so such a file is foreign or damaged, never one cut
 * short by the kill (that one is a temp file, removed by RunFolder.removeStaleTemps).
 */
export function finishedLinearDecomposition(
  dir: string,
  linear: { name: string; out: number; in: number },
  methods: readonly string[],
  key: string,
  onDiscard?: (message: string) => void,
): { rMax: number; curves: Map<string, Float64Array> } | null {
  const path = partialPath(dir, linear.name);
  if (!existsSync(path)) return null;
  let file: TensorFile | undefined;
  try {
    file = TensorFile.open(path);
    if (readMetadata(file, partialMetadata).key !== key) throw new RunError('made under another configuration');
    let rank = -1;
    const curves = new Map<string, Float64Array>();
    for (const method of methods) {
      const [r, inDim] = file.shape(`${method}.lora_A.weight`);
      const [out, rB] = file.shape(`${method}.lora_B.weight`);
      const [points] = file.shape(`${method}.curve`);
      if (inDim !== linear.in || out !== linear.out || rB !== r || points !== r + 1 || (rank >= 0 && r !== rank)) throw new RunError(`${method}'s factors do not fit [${linear.out}, ${linear.in}]`);
      rank = r;
      const curve = file.f64(`${method}.curve`);
      const problem = nonFinite(method, 'err(r) curve', curve);
      if (problem) throw new RunError(problem);
      curves.set(method, curve);
    }
    return rank < 0 ? null : { rMax: rank, curves };
  } catch (error) {
    file?.close();
    file = undefined;
    if (!isDamage(error)) throw error; // EMFILE, EACCES, EIO…: the file may be whole; keep it
    rmSync(path, { force: true });
    onDiscard?.(`${join(DECOMPOSITIONS_PARTIAL, `${linear.name}.safetensors`)}: discarded (${withoutFile(error)}); ${linear.name} is decomposed again`);
    return null;
  } finally {
    file?.close();
  }
}

/**
 * decompositions/partial → decompositions/<method>.safetensors per method, tensor by tensor; then
 * partial/ goes. A linear without a partial file keeps its factors from the assembled file being
 * replaced (a rerun that redid only the linears whose stored results were damaged).
 */
export function assembleDecompositions(dir: string, linears: readonly string[], methods: readonly string[], split: SigmaSplit, key: string): void {
  // Every source header once, before any output: where each factor is, its shape, and the key.
  const sources = new Map<string, { path: string; name: string; shape: number[] }>(); // `${linear}/${method}.${f}` → its source
  for (const linear of linears) {
    const path = partialPath(dir, linear);
    if (!existsSync(path)) continue;
    withRunFile(path, (file) => {
      // Another compensate (other settings) may have written here since this one checked: never assemble its factors under this key.
      if (readMetadata(file, partialMetadata).key !== key) throw new RunError(`${path}: made under another configuration than this compensate's (was another compensate running on this run folder?); rerun \`eora compensate\``);
      for (const method of methods) for (const f of FACTORS) sources.set(`${linear}/${method}.${f}`, { path, name: `${method}.${f}.weight`, shape: file.shape(`${method}.${f}.weight`) });
    });
  }
  for (const method of methods) {
    const kept = linears.filter((linear) => !sources.has(`${linear}/${method}.lora_A`));
    if (kept.length === 0) continue;
    const path = decompositionsPath(dir, method);
    if (!existsSync(path)) throw new RunError(`${partialPath(dir, kept[0])}: missing (compensate decomposed ${kept[0]}); rerun \`eora compensate\``);
    withRunFile(path, (file) => {
      if (readMetadata(file, assembledMetadata).key !== key) throw new RunError(`${path}: made under another configuration than this compensate's; rerun \`eora compensate\``);
      for (const linear of kept) for (const f of FACTORS) sources.set(`${linear}/${method}.${f}`, { path, name: factor(linear, f), shape: file.shape(factor(linear, f)) });
    });
  }
  for (const method of methods) {
    const tensors: TensorToWrite[] = [];
    for (const linear of linears) {
      for (const f of FACTORS) {
        const source = sources.get(`${linear}/${method}.${f}`)!;
        tensors.push({ name: factor(linear, f), dtype: 'F64', shape: source.shape, data: () => readRunTensor64(source.path, source.name) });
      }
    }
    // Written to a temp sibling and renamed: the file being replaced stays readable until then.
    const path = decompositionsPath(dir, method);
    writeSafetensors(path, tensors, metadataToWrite(path, { method, split, key, content: 'rank-r_max adapter per linear; the rank-r adapter is the first r rows of A and columns of B' }, assembledMetadata));
  }
  rmSync(join(dir, DECOMPOSITIONS_PARTIAL), { recursive: true, force: true });
}

/**
 * r_max per linear when a finished compensate under the same `key` left whole decompositions of
 * every method for every listed linear (same ranks across methods); else null. A rerun of
 * `eora compensate` with other ranks or budgets, or after a stop in the evaluation, then cuts
 * its adapters from them instead of decomposing again.
 */
export function finishedDecompositions(dir: string, methods: readonly string[], linears: readonly { name: string; out: number; in: number }[], key: string, onDiscard?: (message: string) => void): Map<string, number> | null {
  let ranks: Map<string, number> | null = null;
  for (const method of methods) {
    const path = decompositionsPath(dir, method);
    if (!existsSync(path)) return null;
    let found: Map<string, number> | null;
    try {
      found = withRunFile(path, (file) => {
        if (readMetadata(file, assembledMetadata).key !== key) return null;
        const r = new Map<string, number>();
        for (const l of linears) {
          const [rank, inDim] = file.shape(factor(l.name, 'lora_A'));
          const [out, rB] = file.shape(factor(l.name, 'lora_B'));
          if (inDim !== l.in || out !== l.out || rB !== rank) throw new RunError(`${l.name}'s factors are [${rank}, ${inDim}] and [${out}, ${rB}], not [r, ${l.in}] and [${l.out}, r]`);
          const other = ranks?.get(l.name);
          if (other !== undefined && other !== rank) throw new RunError(`${l.name} has rank ${rank} here and ${other} in ${methods[0]}'s`);
          r.set(l.name, rank);
        }
        return r;
      });
    } catch (error) {
      if (!isDamage(error)) throw error;
      // Not whole, or not of this model: decompose again (the file is rewritten).
      onDiscard?.(`${join(DECOMPOSITIONS_DIR, `${method}.safetensors`)}: discarded (${withoutFile(error)}); every linear is decomposed again`);
      return null;
    }
    if (!found) return null;
    ranks = found;
  }
  return ranks;
}

/** Whether per-linear files wait in decompositions/partial (a compensate stopped before assembling). */
export const hasPartialDecompositions = (dir: string) => existsSync(join(dir, DECOMPOSITIONS_PARTIAL));

/**
 * Removes every method's assembled decompositions (not partial/): a compensate that decomposes
 * again does so first, so assembled files always agree with the spectra beside them (which it
 * rewrites linear by linear) and finishedDecompositions never pairs one run's with another's.
 */
export function discardDecompositions(dir: string): void {
  const folder = join(dir, DECOMPOSITIONS_DIR);
  if (!existsSync(folder)) return;
  for (const name of readdirSync(folder)) if (name.endsWith('.safetensors')) rmSync(join(folder, name), { force: true });
}

/** A linear's rank-r_max adapter for `method`, read when asked for (one linear at a time). */
export function readDecomposition(dir: string, method: string, linear: { name: string; out: number; in: number }, split?: SigmaSplit): Adapter {
  const path = decompositionsPath(dir, method);
  const file = TensorFile.open(path);
  try {
    const A = file.f64(factor(linear.name, 'lora_A'));
    const B = file.f64(factor(linear.name, 'lora_B'));
    const rank = A.length / linear.in;
    if (!Number.isInteger(rank) || B.length !== linear.out * rank) throw new RunError(`${path}: ${linear.name}'s factors do not fit [${linear.out}, ${linear.in}]`);
    return { A: fromArray(rank, linear.in, A), B: fromArray(linear.out, rank, B), rank, split: split ?? splitOf(file) };
  } finally {
    file.close();
  }
}

function existingDecompositions(dir: string, method: string): string {
  const path = decompositionsPath(dir, method);
  if (!existsSync(path)) throw new RunError(`${dir}: no ${method} decompositions (decompositions/${method}.safetensors); the run's compensation did not include ${method}`);
  return path;
}

/** The rank-r_max adapter of every linear in decompositions/<method>.safetensors (tests; callers at scale read one linear at a time). */
export function readAllDecompositions(dir: string, method: string): Map<string, Adapter> {
  return readFactorPairs(existingDecompositions(dir, method));
}

/** r_max of each linear in decompositions/<method>.safetensors and the file's Σ split, from the header only. */
export function decompositionRanks(dir: string, method: string): { ranks: Map<string, number>; split: SigmaSplit } {
  return withRunFile(existingDecompositions(dir, method), (file) => ({ ranks: factorRanks(file), split: splitOf(file) }));
}

/** Where Σ sits in a file's factors (its metadata; files written before it was recorded: B). */
const splitOf = (file: TensorFile): SigmaSplit => readMetadata(file, factorPairMetadata).split;

/** linear → r of every `<linear>.lora_A.weight` [r, in] in a file of factor pairs (decompositions or adapters), from the header. */
export function factorRanks(file: TensorFile): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const name of file.file.tensors.keys()) {
    const m = /^(.*)\.lora_A\.weight$/.exec(name);
    if (m) ranks.set(m[1], file.shape(name)[0]);
  }
  return ranks;
}

/** linear → adapter from a file of `<linear>.lora_A.weight` / `.lora_B.weight` pairs (decompositions or adapters). */
export function readFactorPairs(path: string, only?: string): Map<string, Adapter> {
  const file = TensorFile.open(path);
  const adapters = new Map<string, Adapter>();
  try {
    const split = splitOf(file);
    for (const name of file.file.tensors.keys()) {
      const m = /^(.*)\.lora_A\.weight$/.exec(name);
      if (!m || (only !== undefined && m[1] !== only)) continue;
      const [r, inDim] = file.shape(name);
      const bName = `${m[1]}.lora_B.weight`;
      const [outDim, rB] = file.shape(bName);
      if (rB !== r) throw new RunError(`${path}: ${name} has rank ${r} but ${bName} has ${rB}`);
      adapters.set(m[1], { A: fromArray(r, inDim, file.f64(name)), B: fromArray(outDim, r, file.f64(bName)), rank: r, split });
    }
  } finally {
    file.close();
  }
  return adapters;
}

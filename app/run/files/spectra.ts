// spectra/<linear>.json: per linear, C's top eigenvalues and trace, and per compensation method
// its singular values and err(r) curves (output and Frobenius), with their stated precisions.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { RunError } from '../errors.js';
import { readJsonFile, writeJsonFile } from './json-file.js';

export const SPECTRA_DIR = 'spectra';

export interface MethodSpectra {
  singular_values: number[];
  /** [r_max + 1] relative output error at rank r. */
  rel_output_error: number[];
  rel_frobenius_error: number[];
  /** Stated relative precision of singular_values. */
  precision?: number | null;
  predicted_rel_output_error?: number[];
  milliseconds?: number;
}

export interface SpectraFile {
  name: string;
  out: number;
  in: number;
  r_max: number;
  path?: string;
  energies?: unknown;
  c_eigenvalues: number[];
  c_trace: number;
  c_precision?: number | null;
  methods: Record<string, MethodSpectra>;
}

// null: a NaN written by JSON.stringify (a degenerate linear); older runs may hold some.
const numbers = z.array(z.number().nullable(), { error: 'expected a list of numbers' });
const methodSchema = z.looseObject({ singular_values: numbers, rel_output_error: numbers });
export const spectraSchema = z.looseObject(
  {
    c_eigenvalues: numbers,
    c_trace: z.number({ error: 'expected a number' }),
    methods: z.record(z.string(), methodSchema, { error: 'expected an object of methods' }),
    name: z.string({ error: 'expected the linear name' }),
    out: z.number().int().positive({ error: 'expected a positive integer' }),
    in: z.number().int().positive({ error: 'expected a positive integer' }),
  },
  { error: 'not a spectra file (expected an object)' },
);

/** spectra/<linear>.json; a name that could leave the folder is refused. */
export function spectraPath(dir: string, linear: string): string {
  if (linear.includes('..') || /[\\/]/.test(linear)) throw new RunError(`${linear}: not a linear name`);
  return join(dir, SPECTRA_DIR, `${linear}.json`);
}

export function writeSpectra(dir: string, spectra: SpectraFile): void {
  mkdirSync(join(dir, SPECTRA_DIR), { recursive: true });
  writeJsonFile(spectraPath(dir, spectra.name), spectra);
}

/** A linear's spectra; a missing file is a RunError naming it. */
export function readSpectra(dir: string, linear: string): SpectraFile {
  const file = spectraPath(dir, linear);
  const value = readJsonFile(file, spectraSchema) as SpectraFile | undefined;
  if (!value) throw new RunError(`${file}: no such file`);
  if (value.name !== linear) throw new RunError(`${file}: name: expected "${linear}", got "${value.name}"`);
  // JSON has no NaN: a degenerate value was written as null. Give readers the NaN back, so no
  // sum or allocation counts it as 0.
  const nan = (xs: readonly (number | null)[]) => xs.map((x) => x ?? NaN);
  value.c_eigenvalues = nan(value.c_eigenvalues);
  for (const m of Object.values(value.methods)) {
    m.singular_values = nan(m.singular_values);
    m.rel_output_error = nan(m.rel_output_error);
  }
  return value;
}

/** The linears that have a spectra file. */
export function spectraLinears(dir: string): Set<string> {
  const folder = join(dir, SPECTRA_DIR);
  if (!existsSync(folder)) return new Set();
  return new Set(readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)));
}

// adapters/<variant>.safetensors: a variant's PEFT-style adapter per linear, F32
// (`<linear>.lora_A.weight` [r, in], `<linear>.lora_B.weight` [out, r]; r may differ per
// linear and be 0), with method, rank or ranks, Σ split and bits in __metadata__. metrics.json
// refers to it by its run-relative path (adapterRelative).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Adapter } from '../../compensate/adapter.js';
import type { LinearInfo } from '../../model/types.js';
import { RunError } from '../errors.js';
import { TensorFile, writeSafetensors, type TensorToWrite } from '../safetensors-writer.js';
import { readFactorPairs } from './decompositions.js';

export const ADAPTERS_DIR = 'adapters';

/** The run-relative path metrics.json records: `adapters/<variant>.safetensors`. */
export const adapterRelative = (variant: string) => `${ADAPTERS_DIR}/${variant}.safetensors`;

/** A variant's adapter file; a name that could leave the folder is refused. */
export function adapterPath(dir: string, variant: string): string {
  if (variant.includes('/') || variant.includes('\\') || variant.includes('..')) throw new RunError(`${variant}: not a variant name`);
  return join(dir, ADAPTERS_DIR, `${variant}.safetensors`);
}

export const hasAdapter = (dir: string, variant: string) => existsSync(adapterPath(dir, variant));

/** The variants that have an adapter file, sorted. */
export function adapterVariants(dir: string): string[] {
  const folder = join(dir, ADAPTERS_DIR);
  return existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.safetensors')).map((f) => f.slice(0, -'.safetensors'.length)).sort() : [];
}

/** Writes a variant's adapters one linear at a time (`adapterOf` is asked for each linear when its tensors are due). */
export function writeAdapterFile(dir: string, variant: string, linears: readonly LinearInfo[], adapterOf: (info: LinearInfo) => Adapter, rankOf: (info: LinearInfo) => number, metadata: Record<string, string>): void {
  mkdirSync(join(dir, ADAPTERS_DIR), { recursive: true });
  const tensors: TensorToWrite[] = [];
  for (const info of linears) {
    const r = rankOf(info);
    tensors.push({ name: `${info.name}.lora_A.weight`, dtype: 'F32', shape: [r, info.in], data: () => Float32Array.from(adapterOf(info).A.data) });
    tensors.push({ name: `${info.name}.lora_B.weight`, dtype: 'F32', shape: [info.out, r], data: () => Float32Array.from(adapterOf(info).B.data) });
  }
  writeSafetensors(adapterPath(dir, variant), tensors, metadata);
}

function openAdapterFile(dir: string, variant: string): string {
  const path = adapterPath(dir, variant);
  if (!existsSync(path)) throw new RunError(`${path}: missing (rerun the experiment to recreate it)`);
  return path;
}

/** linear name → rank of each adapter in a variant's file (shapes only). */
export function adapterRanks(dir: string, variant: string): Map<string, number> {
  const file = TensorFile.open(openAdapterFile(dir, variant));
  try {
    const ranks = new Map<string, number>();
    for (const name of file.file.tensors.keys()) {
      const m = /^(.*)\.lora_A\.weight$/.exec(name);
      if (m) ranks.set(m[1], file.shape(name)[0]);
    }
    return ranks;
  } finally {
    file.close();
  }
}

/** linear name → adapter (float64 factors) of a variant; `only` reads one linear. */
export function readAdapters(dir: string, variant: string, only?: string): Map<string, Adapter> {
  return readFactorPairs(openAdapterFile(dir, variant), only);
}

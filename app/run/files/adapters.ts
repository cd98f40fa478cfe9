// adapters/<variant>.safetensors: a variant's PEFT-style adapter per linear, F32
// (`<linear>.lora_A.weight` [r, in], `<linear>.lora_B.weight` [out, r]; r may differ per
// linear and be 0), with method, rank or ranks, Σ split and bits in __metadata__. metrics.json
// refers to it by its run-relative path (adapterRelative).
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Adapter } from '../../compensate/adapter.js';
import type { LinearInfo } from '../../model/types.js';
import { RunError } from '../errors.js';
import { writeSafetensors, type TensorToWrite } from '../safetensors-writer.js';
import { factorPairMetadata, factorRanks, readFactorPairs } from './decompositions.js';
import { metadataToWrite, readMetadata, wholeNumber } from './metadata.js';
import { withRunFile } from './tensors.js';

export const ADAPTERS_DIR = 'adapters';

/** `ranks`: a JSON object linear → rank (budget and explicit-ranks variants). */
const ranksJson = z.string().refine((text) => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((r) => Number.isInteger(r) && (r as number) >= 0);
  } catch {
    return false;
  }
}, 'expected a JSON object of linear → rank');

/** The method, one rank or a budget and the ranks per linear, where Σ sits and the factors' bits (32: float). */
const adapterMetadata = factorPairMetadata.extend({
  method: z.string({ error: 'expected the method' }),
  rank: wholeNumber.optional(),
  budget: wholeNumber.optional(),
  ranks: ranksJson.optional(),
  bits: z.enum(['4', '8', '32'], { error: 'expected 4, 8 or 32' }).optional(),
});

/** The run-relative path metrics.json records: `adapters/<variant>.safetensors`. */
export const adapterRelative = (variant: string) => `${ADAPTERS_DIR}/${variant}.safetensors`;

/** A variant's adapter file; a name that could leave the folder is refused. */
export function adapterPath(dir: string, variant: string): string {
  if (variant.includes('/') || variant.includes('\\') || variant.includes('..')) throw new RunError(`${variant}: not a variant name`);
  return join(dir, ADAPTERS_DIR, `${variant}.safetensors`);
}

/** Whether a variant has an adapter file; a name that could leave the folder has none. */
export function hasAdapter(dir: string, variant: string): boolean {
  try {
    return existsSync(adapterPath(dir, variant));
  } catch {
    return false;
  }
}

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
  const path = adapterPath(dir, variant);
  writeSafetensors(path, tensors, metadataToWrite(path, metadata, adapterMetadata));
}

function openAdapterFile(dir: string, variant: string): string {
  const path = adapterPath(dir, variant);
  if (!existsSync(path)) throw new RunError(`${path}: missing (rerun the experiment to recreate it)`);
  return path;
}

/** linear name → rank of each adapter in a variant's file (shapes only). */
export function adapterRanks(dir: string, variant: string): Map<string, number> {
  return withRunFile(openAdapterFile(dir, variant), (file) => {
    readMetadata(file, adapterMetadata);
    return factorRanks(file);
  });
}

/** linear name → adapter (float64 factors) of a variant; `only` reads one linear. */
export function readAdapters(dir: string, variant: string, only?: string): Map<string, Adapter> {
  return readFactorPairs(openAdapterFile(dir, variant), only);
}

/** One linear's adapter as stored (float32): A [rank, in], B [out, rank]. */
export interface StoredAdapter {
  rank: number;
  /** [rank, in] */
  A: Float32Array;
  /** [out, rank] */
  B: Float32Array;
}

/**
 * Every listed linear's adapter of a variant as stored (float32, what exports write) and the
 * file's metadata (method, rank or ranks, split, bits); a missing linear or a factor that does
 * not fit the linear is a RunError naming the file and the linear.
 */
export function readVariantAdapters(dir: string, variant: string, linears: readonly LinearInfo[]): { adapters: Map<string, StoredAdapter>; metadata: Record<string, string> } {
  const path = openAdapterFile(dir, variant);
  return withRunFile(path, (file) => {
    readMetadata(file, adapterMetadata);
    const adapters = new Map<string, StoredAdapter>();
    for (const l of linears) {
      const keyA = `${l.name}.lora_A.weight`;
      const keyB = `${l.name}.lora_B.weight`;
      if (!file.has(keyA) || !file.has(keyB)) throw new RunError(`${path}: missing ${keyA} or ${keyB}`);
      const [r, inDim] = file.shape(keyA);
      const [out, rB] = file.shape(keyB);
      if (inDim !== l.in || out !== l.out || r !== rB) throw new RunError(`${path}: ${l.name} has lora_A [${r}, ${inDim}] and lora_B [${out}, ${rB}], expected [r, ${l.in}] and [${l.out}, r]`);
      adapters.set(l.name, { rank: r, A: file.f32(keyA), B: file.f32(keyB) });
    }
    return { adapters, metadata: file.metadata };
  });
}

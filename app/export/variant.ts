// A run's variant as an export sees it: the compressed weights W_c per linear, and for an
// adapter variant its `lora_A` [r, in] / `lora_B` [out, r] per linear with that linear's rank
// (uniform for `eora-r16`, per linear for budget variants, 0 where a budget gave none).
// Variants are found on disk (adapters/<name>.safetensors), not from a fixed list of names,
// so renamed or new variants export without changes here.
import { linears } from '../model/inspect.js';
import type { LinearInfo, Model } from '../model/types.js';
import { RunFolder } from '../run/run.js';
import { adapterVariants, hasAdapter, readVariantAdapters, type StoredAdapter } from '../run/files/adapters.js';
import { openCompressed } from '../run/files/compressed.js';
import { ExportError } from './atomic-dir.js';

export type LinearAdapterData = StoredAdapter;

export interface VariantSource {
  run: RunFolder;
  variant: string;
  linears: LinearInfo[];
  /** W_c [out, in] by HF weight name (`….q_proj.weight`), read from the run when asked for. */
  compressed: { get(name: string): Float32Array };
  /** Linear module name → adapter; empty for the `compressed` variant. */
  adapters: Map<string, LinearAdapterData>;
  /** Metadata stored with the adapters (method, rank or ranks, split, bits). */
  adapterMetadata: Record<string, string>;
  /** Closes the run's compressed.safetensors. */
  close(): void;
}

/** Variants a run can export: `compressed`, then every adapters/<name>.safetensors. */
export function listVariants(runDir: string): string[] {
  const run = RunFolder.open(runDir);
  return ['compressed', ...adapterVariants(run.dir)];
}

/** Reads W_c and the variant's adapters, checking them against the model's linears. */
export function loadVariant(runDir: string, variant: string, model: Model): VariantSource {
  const run = RunFolder.open(runDir);
  if (run.stage('compress').status !== 'done') throw new ExportError(`${run.dir}: compression has not finished; nothing to export`);
  const all = linears(model);
  if (variant !== 'compressed' && !hasAdapter(run.dir, variant)) {
    throw new ExportError(`${run.dir}: no variant "${variant}" (available: ${listVariants(runDir).join(', ')})`);
  }
  const { adapters, metadata: adapterMetadata } = variant === 'compressed' ? { adapters: new Map<string, StoredAdapter>(), metadata: {} } : readVariantAdapters(run.dir, variant, all);
  const file = openCompressed(run.dir);
  const known = new Set(all.map((l) => `${l.name}.weight`));
  for (const name of known) {
    if (!file.has(name)) {
      file.close();
      throw new ExportError(`${file.path}: missing ${name}`);
    }
  }
  const compressed = {
    get(name: string): Float32Array {
      if (!known.has(name)) throw new ExportError(`${file.path}: ${name} is not a compressed linear`);
      return file.f32(name);
    },
  };
  return { run, variant, linears: all, compressed, adapters, adapterMetadata, close: () => file.close() };
}

/** W_c + B·A [out, in] in float32, the sum and products formed in float64. */
export function mergeAdapter(wc: Float32Array, a: LinearAdapterData | undefined, out: number, inDim: number): Float32Array {
  if (!a || a.rank === 0) return wc;
  const merged = new Float32Array(wc.length);
  const row = new Float64Array(inDim);
  for (let i = 0; i < out; i++) {
    for (let c = 0; c < inDim; c++) row[c] = wc[i * inDim + c];
    for (let j = 0; j < a.rank; j++) {
      const b = a.B[i * a.rank + j];
      if (b === 0) continue;
      const base = j * inDim;
      for (let c = 0; c < inDim; c++) row[c] += b * a.A[base + c];
    }
    for (let c = 0; c < inDim; c++) merged[i * inDim + c] = row[c];
  }
  return merged;
}

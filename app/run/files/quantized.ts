// quantized.safetensors: the exact quantized representation of each linear (integer codes,
// scales, zero points, act-order g_idx), kept next to W_c so exports can write the codes the
// solver chose instead of guessing a grid from W_c (GPTQ fits a group's grid before the group's
// own updates, so its extremes are not recoverable from the dequantized values).
//
//   per linear `<linear>.qcodes` U8 [out, in], `<linear>.qscales` and `<linear>.qzeros` F32
//   [out, groups], `<linear>.g_idx` I32 [in] (act-order only), `<linear>.qconfig` F32 [3] =
//   [bits, group_size (−1: per row), sym 0/1]
//
// Written when a compress or import-gptq stage finishes (experiment/stages/blocks.ts; its
// per-layer checkpoints carry the same tensors as F32, export/quant-state.ts's quantTensors).
// Read lazily, one linear at a time, so exporting a large model never holds every code in
// memory. Runs made before codes were kept have no such file: formats needing codes then say so.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_BITS, MIN_BITS } from '../../compress/quantizer.js';
import type { QuantState } from '../../compress/types.js';
import { writeSafetensorsFile, type OutTensor } from '../../export/safetensors-out.js';
import { readRange } from '../../model/binary.js';
import { SafetensorsFile } from '../../model/safetensors.js';
import { valuesOf, type TensorToWrite } from '../safetensors-writer.js';
import { COMPRESSED, compressedPath } from './compressed.js';
import { checkMetadata, metadataToWrite } from './metadata.js';
import { withRunFile } from './tensors.js';
import { RunError } from '../errors.js';
import { ModelError } from '../../model/types.js';

export const QUANTIZED = 'quantized.safetensors';
export const quantizedPath = (dir: string) => join(dir, QUANTIZED);
/** What the file holds, in words (the codes' layout is in the tensors, checked by QuantStore.open). */
const quantizedMetadata = z.looseObject({ content: z.string({ error: 'expected a description of the content' }) });

let temps = 0;

/** Writes the run's quantized.safetensors atomically from quantTensors' output: codes as U8, g_idx as I32. */
export function writeQuantized(dir: string, tensors: readonly TensorToWrite[]): void {
  const path = quantizedPath(dir);
  const out: OutTensor[] = tensors.map((t) => {
    if (t.name.endsWith('.qcodes')) return { name: t.name, dtype: 'U8', shape: t.shape, data: () => Uint8Array.from(valuesOf(t)) };
    if (t.name.endsWith('.g_idx')) return { name: t.name, dtype: 'I32', shape: t.shape, data: () => Int32Array.from(valuesOf(t)) };
    return { name: t.name, dtype: 'F32', shape: t.shape, data: () => Float32Array.from(valuesOf(t)) };
  });
  const temp = `${path}.tmp-${process.pid}-${temps++}`; // the run folder's temp pattern: a dead writer's is cleaned up (run.ts)
  try {
    writeSafetensorsFile(temp, out, metadataToWrite(path, { content: 'exact quantized state per linear (export/quant-state.ts)' }, quantizedMetadata)); // content unchanged: files stay byte-identical
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** A run's quantized.safetensors, read one linear at a time. */
export class QuantStore {
  private constructor(
    private readonly path: string,
    private readonly file: SafetensorsFile,
    /** Linear module names with stored codes. */
    readonly names: string[],
  ) {}

  /**
   * The run's store, or null when the run has none (not quantized, or made before codes were
   * kept). Every tensor's dtype and shape is checked here, against its linear's [out, in] (its
   * W_c in compressed.safetensors) and its qconfig: a damaged or foreign file fails at once,
   * naming the file and the tensor, before an export writes anything from it.
   */
  static open(runDir: string): QuantStore | null {
    const path = quantizedPath(runDir);
    if (!existsSync(path)) return null;
    const file = asRunError(path, () => SafetensorsFile.open(path));
    const names = [...file.tensors.keys()].filter((k) => k.endsWith('.qconfig')).map((k) => k.slice(0, -'.qconfig'.length));
    const store = new QuantStore(path, file, names);
    try {
      checkMetadata(path, file.metadata ?? {}, quantizedMetadata);
      const weights = compressedPath(runDir);
      if (!existsSync(weights)) throw new RunError(`${weights}: missing (${path} needs its linears' shapes)`);
      asRunError(path, () => store.checkLayout(withRunFile(weights, (compressed) => new Map(names.filter((n) => compressed.has(`${n}.weight`)).map((n) => [n, compressed.shape(`${n}.weight`)])))));
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  /** Every tensor belongs to a linear with a qconfig and has the dtype and shape its [out, in] and qconfig give. */
  private checkLayout(shapes: ReadonlyMap<string, number[]>): void {
    const fail = (tensor: string, problem: string) => new RunError(`${this.path}: ${tensor}: ${problem}`);
    const known = new Set<string>();
    for (const name of this.names) {
      const weight = shapes.get(name);
      if (weight?.length !== 2) throw fail(`${name}.qconfig`, `no linear ${name} in ${COMPRESSED} to hold codes for`);
      const [out, inDim] = weight;
      const { groupSize, actOrder } = this.config(name);
      const groups = groupSize === -1 ? 1 : Math.ceil(inDim / groupSize);
      const expected: [string, readonly string[], number[]][] = [
        ['qconfig', ['F32'], [3]],
        ['qcodes', ['U8', 'F32'], [out, inDim]],
        ['qscales', ['F32'], [out, groups]],
        ['qzeros', ['F32'], [out, groups]],
        ...(actOrder ? [['g_idx', ['I32', 'F32'], [inDim]] as [string, readonly string[], number[]]] : []),
      ];
      for (const [suffix, dtypes, shape] of expected) {
        const key = `${name}.${suffix}`;
        const t = this.file.tensors.get(key);
        if (!t) throw fail(key, 'missing');
        if (!dtypes.includes(t.dtype)) throw fail(key, `dtype ${t.dtype}, expected ${dtypes.join(' or ')}`);
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw fail(key, `shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] (${name} is [${out}, ${inDim}], group size ${groupSize})`);
        known.add(key);
      }
    }
    for (const key of this.file.tensors.keys()) if (!known.has(key)) throw fail(key, 'belongs to no linear with a qconfig');
  }

  has(name: string): boolean {
    return this.file.tensors.has(`${name}.qconfig`);
  }

  config(name: string): { bits: number; groupSize: number; sym: boolean; actOrder: boolean } {
    const config = this.file.read(`${name}.qconfig`);
    const [bits, groupSize, sym] = config;
    if (config.length !== 3 || !(Number.isInteger(bits) && bits >= MIN_BITS && bits <= MAX_BITS) || !(groupSize === -1 || (Number.isInteger(groupSize) && groupSize > 0)) || (sym !== 0 && sym !== 1)) {
      throw new RunError(`${this.path}: ${name}.qconfig: expected [bits ${MIN_BITS}–${MAX_BITS}, group size (−1 or positive), sym 0|1], got [${Array.from(config).join(', ')}]`);
    }
    return { bits, groupSize, sym: sym === 1, actOrder: this.file.tensors.has(`${name}.g_idx`) };
  }

  /** Zero points [out, groups] alone (cheap: what the GPTQ format choice needs). */
  zeros(name: string): Float32Array {
    return asRunError(this.path, () => this.file.read(`${name}.qzeros`));
  }

  get(name: string): QuantState {
    return asRunError(this.path, () => this.state(name));
  }

  private state(name: string): QuantState {
    if (!this.has(name)) throw new RunError(`${this.path}: has no quantized state for ${name}`);
    const c = this.config(name);
    const scales = this.file.read(`${name}.qscales`);
    const state: QuantState = { bits: c.bits, groupSize: c.groupSize, sym: c.sym, codes: Uint8Array.from(this.inRange(`${name}.qcodes`, 2 ** c.bits, `${c.bits}-bit codes`)), scales, zeros: this.zeros(name) };
    if (c.actOrder) state.gIdx = Int32Array.from(this.inRange(`${name}.g_idx`, this.file.tensors.get(`${name}.qscales`)!.shape[1], 'groups'));
    return state;
  }

  /** The stored integers, each checked to be a whole number in 0 … end − 1 before any conversion could wrap it. */
  private inRange(key: string, end: number, what: string): ArrayLike<number> {
    const values = this.integers(key);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!(Number.isInteger(v) && v >= 0 && v < end)) throw new RunError(`${this.path}: ${key}: value ${v} at index ${i} is outside 0…${end - 1} (${what})`);
    }
    return values;
  }

  close(): void {
    this.file.close();
  }

  /** U8 / I32 read as stored; F32 (per-layer checkpoint form) converted. */
  private integers(key: string): ArrayLike<number> {
    const t = this.file.tensors.get(key);
    if (!t) throw new RunError(`${this.path}: has no tensor named "${key}"`);
    if (t.dtype === 'F32') return this.file.read(key);
    if (t.dtype !== 'U8' && t.dtype !== 'I32') throw new RunError(`${this.path}: tensor "${key}" has dtype ${t.dtype}, expected U8, I32 or F32`);
    const bytes = readRange(this.path, t.offset, t.byteLength);
    return t.dtype === 'U8' ? bytes : new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  }
}

/**
 * `work`, with the safetensors reader's ModelError (a cut or malformed file) rethrown as the
 * RunError it is here, naming the full path: a damaged run folder is one kind of failure.
 */
function asRunError<T>(path: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof ModelError)) throw error;
    throw new RunError(`${path}: ${error.message.slice(error.file.length + 2)}`, { cause: error });
  }
}

/** Every stored state at once (tests and small models). */
export function readQuantStates(runDir: string): Map<string, QuantState> | null {
  const store = QuantStore.open(runDir);
  if (!store) return null;
  try {
    return new Map(store.names.map((n) => [n, store.get(n)]));
  } finally {
    store.close();
  }
}

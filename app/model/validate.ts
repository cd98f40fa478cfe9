// Checks that keep a hostile or broken checkpoint from hanging the engine or turning into a
// silent NaN result: a config's sizes are checked against the weight files' tensor index
// before anything sized by the config is built, and every tensor read is checked for
// non-finite values before its first use.
import { ModelError, type Model } from './types.js';

/**
 * config.json's num_hidden_layers against the layers that have tensors in the weight files:
 * an absurd value (1e9) would otherwise build a name table per layer (minutes, gigabytes, or
 * "Map maximum size exceeded") before the first missing tensor is noticed.
 */
export function checkLayerCount(numLayers: number, tensorNames: Iterable<string>, weightsFile: string): void {
  let stored = 0;
  for (const name of tensorNames) {
    const match = /^model\.layers\.(\d+)\./.exec(name);
    if (match) stored = Math.max(stored, Number(match[1]) + 1);
  }
  if (numLayers > stored) {
    throw new ModelError(weightsFile, `config.json sets num_hidden_layers ${numLayers} but the weights hold tensors for ${stored} layer${stored === 1 ? '' : 's'}`);
  }
}

/** Number of NaN and ±Inf entries. */
export function countNonFinite(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    // x - x is 0 for every finite x, NaN for NaN and ±Inf: one branch-free test.
    if (values[i]! - values[i]! !== 0) count++;
  }
  return count;
}

/** Throws a ModelError naming the tensor and the count when `values` holds NaN or ±Inf. */
export function requireFinite(values: Float32Array, tensor: string, file: string): Float32Array {
  const bad = countNonFinite(values);
  if (bad > 0) throw new ModelError(file, `tensor ${tensor} has ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or ±Inf) among ${values.length}`);
  return values;
}

/** The same model with every readTensor checked by requireFinite (the check costs one pass over data already read). */
export function withFiniteReads(model: Model): Model {
  const read = model.readTensor.bind(model);
  return Object.assign(model, { readTensor: (name: string) => requireFinite(read(name), name, model.path) });
}

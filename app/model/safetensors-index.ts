// Sharded safetensors: `model.safetensors.index.json` = {metadata?, weight_map: {tensor: shard}}.
// Every shard named is opened (header only) and must hold every tensor mapped to it, so a
// missing shard or a stale index fails at open, not halfway through a compression run.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, isObject, readJsonObject } from './json.js';
import { SafetensorsFile, type StoredTensor, type TensorStore } from './safetensors.js';
import { ModelError } from './types.js';

export const INDEX_FILE = 'model.safetensors.index.json';

export class ShardedSafetensors implements TensorStore {
  private constructor(
    private readonly shards: Map<string, SafetensorsFile>,
    readonly tensors: ReadonlyMap<string, StoredTensor>,
  ) {}

  static open(indexPath: string): ShardedSafetensors {
    const file = basename(indexPath);
    const index = readJsonObject(indexPath);
    const weightMap = index.weight_map;
    if (!isObject(weightMap)) {
      throw new ModelError(file, 'weight_map must be an object mapping tensor names to shard files');
    }
    const shards = new Map<string, SafetensorsFile>();
    const tensors = new Map<string, StoredTensor>();
    try {
      for (const [name, shard] of Object.entries(weightMap)) {
        // A shard is a file name in the same directory; a path could point anywhere on disk.
        if (typeof shard !== 'string' || shard === '' || shard !== basename(shard) || shard === '..') {
          throw new ModelError(file, `weight_map maps "${name}" to ${describe(shard)}, which is not a file name`);
        }
        let store = shards.get(shard);
        if (!store) {
          const shardPath = join(dirname(indexPath), shard);
          if (!existsSync(shardPath)) {
            throw new ModelError(file, `weight_map maps "${name}" to ${shard}, which does not exist`);
          }
          store = SafetensorsFile.open(shardPath);
          shards.set(shard, store);
        }
        const tensor = store.tensors.get(name);
        if (!tensor) throw new ModelError(shard, `does not contain tensor "${name}", which ${file} maps to it`);
        tensors.set(name, tensor);
      }
    } catch (error) {
      for (const store of shards.values()) store.close();
      throw error;
    }
    return new ShardedSafetensors(shards, tensors);
  }

  read(name: string, into?: Float32Array): Float32Array {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new ModelError(INDEX_FILE, `has no tensor named "${name}"`);
    return this.shards.get(tensor.file)!.read(name, into);
  }

  readRows(name: string, start: number, count: number, into?: Float32Array): Float32Array {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new ModelError(INDEX_FILE, `has no tensor named "${name}"`);
    return this.shards.get(tensor.file)!.readRows(name, start, count, into);
  }

  close(): void {
    for (const store of this.shards.values()) store.close();
  }
}

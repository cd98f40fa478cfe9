// Models stay open in the engine between calls (the UI asks many questions of one model), and
// so do their runners: a ModelRunner owns the onnxruntime sessions built for that model's
// shapes, which are the expensive part to recreate. Keyed by resolved path.
import { resolve } from 'node:path';
import { ModelRunner } from '../forward/runner.js';
import { resolveModelPath } from '../model/hub.js';
import { bundledModelPath, openModel } from '../model/open.js';
import type { Model } from '../model/types.js';
import type { Device } from '../onnx/runtime.js';

export class ModelCache {
  private readonly models = new Map<string, Promise<Model>>();
  private readonly runners = new Map<string, Promise<ModelRunner>>();

  constructor(private readonly device: Device) {}

  get(path?: string): Promise<Model> {
    let key: string;
    try {
      key = modelKey(path);
    } catch (error) {
      return Promise.reject(error); // a hub id not in the cache
    }
    let model = this.models.get(key);
    if (!model) {
      model = openModel(key);
      this.models.set(key, model);
      // A failed open is not cached: the user may fix the file and retry.
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  runner(path?: string): Promise<ModelRunner> {
    let key: string;
    try {
      key = modelKey(path);
    } catch (error) {
      return Promise.reject(error);
    }
    let runner = this.runners.get(key);
    if (!runner) {
      runner = this.get(key).then((model) => ModelRunner.create(model, { device: this.device, memArena: true }));
      this.runners.set(key, runner);
      runner.catch(() => this.runners.delete(key));
    }
    return runner;
  }

  async closeAll() {
    for (const runner of this.runners.values()) await (await runner.catch(() => null))?.release();
    for (const model of this.models.values()) (await model.catch(() => null))?.close();
    this.runners.clear();
    this.models.clear();
  }
}

/** A path or a hub repo id (ORG/NAME[@rev], resolved to its cached snapshot) → the cache key. */
function modelKey(path?: string): string {
  return resolve(path === undefined ? bundledModelPath() : resolveModelPath(path));
}

// Models stay open in the engine between calls (the UI asks many questions of one model).
// Keyed by resolved path; the bundled default when no path is given.
import { resolve } from 'node:path';
import { bundledModelPath, openModel } from '../model/open.js';
import type { Model } from '../model/types.js';

export class ModelCache {
  private readonly models = new Map<string, Promise<Model>>();

  get(path?: string): Promise<Model> {
    const key = resolve(path ?? bundledModelPath());
    let model = this.models.get(key);
    if (!model) {
      model = openModel(key);
      this.models.set(key, model);
      // A failed open is not cached: the user may fix the file and retry.
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  async closeAll() {
    for (const model of this.models.values()) (await model.catch(() => null))?.close();
    this.models.clear();
  }
}

// What the whole window shares: the engine's description and the open model. Views read it;
// only `open()` changes the model, and a failed open leaves the previous model in place.
import type { EngineInfo, ModelSummary, Progress } from '../../../app/contract/index.js';
import { engine, errorMessage } from './engine.js';

export interface Opening {
  /** What the user asked for; undefined = the bundled model. */
  path: string | undefined;
  progress: Progress | null;
}

class Workbench {
  info = $state.raw<EngineInfo | null>(null);
  infoError = $state<string | null>(null);

  /** The open model; replaced only by a successful open. */
  model = $state.raw<ModelSummary | null>(null);
  /** The open in flight, if any (the latest request wins). */
  opening = $state.raw<Opening | null>(null);
  openError = $state<string | null>(null);

  #latest = 0;

  async loadInfo(): Promise<void> {
    try {
      this.info = await engine.call('engine.info', {});
      this.infoError = null;
    } catch (error) {
      this.infoError = errorMessage(error);
    }
  }

  /** Opens a model (undefined = the bundled one). Resolves to whether it is now the open model. */
  async open(path?: string): Promise<boolean> {
    const ticket = ++this.#latest;
    const current = () => ticket === this.#latest;
    this.opening = { path, progress: null };
    this.openError = null;
    try {
      const model = await engine.call('model.inspect', path === undefined ? {} : { model: path }, {
        onProgress: (progress) => {
          if (current()) this.opening = { path, progress };
        },
      });
      if (!current()) return false;
      this.model = model;
      return true;
    } catch (error) {
      if (current()) this.openError = errorMessage(error);
      return false;
    } finally {
      if (current()) this.opening = null;
    }
  }
}

export const workbench = new Workbench();

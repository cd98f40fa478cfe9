// The engine's implementation of the contract: one function per method. Runs in the worker.
import { listSupportedBackends } from '../onnx/runtime.js';
import type { Method, ParsedParams, Result } from '../contract/index.js';
import type { JobContext } from '../jobs/context.js';
import type { WorkerConfig } from '../jobs/messages.js';
import { bundledModelPath } from '../model/open.js';
import { linears, linearStats, summarizeModel, weightHistogram } from '../model/inspect.js';
import { ModelCache } from './models.js';
import { engineVersion } from './version.js';

export type Handlers = {
  [M in Method]: (params: ParsedParams<M>, context: JobContext) => Promise<Result<M>>;
};

export function createHandlers(config: WorkerConfig): Handlers {
  const models = new ModelCache();
  return {
    async 'engine.info'() {
      return {
        version: engineVersion(),
        device: config.device,
        backends: listSupportedBackends(),
        bundledModel: bundledModelPath(),
        host: config.host === 'electron' ? 'electron' : 'server',
      };
    },

    async 'model.inspect'({ model: path }, context) {
      const model = await models.get(path);
      const summary = summarizeModel(model);
      const all = linears(model);
      const rows = [];
      for (const [i, linear] of all.entries()) {
        const stats = linearStats(model, linear.name);
        rows.push({ ...linear, params: stats.params, frobenius: stats.frobenius, max_abs: stats.max_abs });
        context.progress({ stage: 'weight statistics', done: i + 1, total: all.length });
        await context.checkpoint();
      }
      return { ...summary, linears: rows };
    },

    async 'model.histogram'({ model: path, linear, bins }) {
      const model = await models.get(path);
      const h = weightHistogram(model, linear, bins);
      return { linear, min: h.min, max: h.max, edges: h.edges, counts: h.counts };
    },

    async 'model.generate'() {
      throw new Error('not wired yet');
    },

    async 'model.perplexity'() {
      throw new Error('not wired yet');
    },
  };
}

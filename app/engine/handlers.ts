// The engine's implementation of the contract: one function per method. Runs in the worker.
import { hubCacheDir, listCachedModels } from '../model/hub.js';
import { listSupportedBackends } from '../onnx/runtime.js';
import type { HostMethod, Method, ParsedParams, Result } from '../contract/index.js';
import type { JobContext } from '../jobs/context.js';
import type { WorkerConfig } from '../jobs/messages.js';
import { perplexity } from '../eval/perplexity.js';
import { generate } from '../generate/generate.js';
import { readBoundedText } from '../model/validate.js';
import { bundledModelPath, resourcesPath } from '../model/open.js';
import { linears, linearStats, summarizeModel, weightHistogram } from '../model/inspect.js';
import { ModelCache } from './models.js';
import { engineVersion } from '../paths.js';
import { experimentDefaults, validateExperiment } from './experiments.js';
import { runJobs } from './run-jobs.js';
import { withVariantRunner } from './variant-runner.js';
import { deleteRunFolder, listRunFolders, readCurves, readRunDetails, readSpectrum } from './run-reader.js';

/** Every method but the host's own (jobs.*: app/jobs/registry.ts answers those). */
export type Handlers = {
  [M in Exclude<Method, HostMethod>]: (params: ParsedParams<M>, context: JobContext) => Promise<Result<M>>;
};

export function createHandlers(config: WorkerConfig): Handlers {
  const models = new ModelCache(config.device);
  const jobs = runJobs(config);
  return {
    ...jobs,
    async 'engine.info'() {
      return {
        version: engineVersion(),
        device: config.device,
        backends: listSupportedBackends(),
        bundledModel: bundledModelPath(),
        host: config.host === 'electron' ? 'electron' : 'server',
      };
    },

    async 'models.cached'() {
      return { cache: hubCacheDir(), models: listCachedModels() };
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

    async 'model.generate'({ model: path, prompt, maxNewTokens, temperature, topP, seed, variant }, context) {
      if (variant) return withVariantRunner(await models.get(path), config.device, variant, (runner) => generateWith(runner));
      return generateWith(await models.runner(path));
      async function generateWith(runner: Awaited<ReturnType<typeof models.runner>>) {
        const result = await generate(runner, prompt, {
          maxNewTokens,
          temperature,
          topP,
          seed,
          signal: context.signal,
          onToken: (_id, index) => context.progress({ stage: 'generating', done: index + 1, total: maxNewTokens }),
        });
        return { prompt, text: result.text, token_ids: result.tokenIds, seconds: result.seconds };
      }
    },

    async 'model.perplexity'({ model: path, text: file, seqLen, stride, maxTokens }, context) {
      const source = file ?? resourcesPath('data', 'tinystories', 'validation.txt');
      const text = readBoundedText(source); // refuses /dev/zero, FIFOs, and text over the cap
      const runner = await models.runner(path);
      const result = await perplexity(runner, text, {
        seqLen,
        stride,
        maxTokens,
        source,
        signal: context.signal,
        onProgress: (done, total) => context.progress({ stage: 'scoring', done, total }),
      });
      if (!Number.isFinite(result.ppl)) throw new Error(`perplexity of ${source} is ${result.ppl} (mean NLL ${result.nll}): the model's outputs are not finite`);
      return { model: runner.model.path, text: source, tokens: result.tokens, nll: result.nll, ppl: result.ppl, seconds: result.seconds };
    },

    async defaults() {
      return experimentDefaults(jobs.runsRoot());
    },

    async 'runs.list'({ root }) {
      const dir = root ?? jobs.runsRoot();
      return { root: dir, runs: listRunFolders(dir) };
    },

    async 'runs.open'({ dir }) {
      return readRunDetails(dir);
    },

    async 'runs.delete'({ dir }) {
      deleteRunFolder(dir);
      return { dir };
    },

    async 'run.spectrum'({ dir, linear }) {
      return readSpectrum(dir, linear);
    },

    async 'run.curves'({ dir, method }) {
      return readCurves(dir, method);
    },

    async 'experiment.validate'({ config: value }) {
      return validateExperiment(value);
    },
  };
}

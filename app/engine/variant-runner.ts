// A runner holding one variant of a run (compressed, eora-r16, …) for "Try a variant": its own
// ModelRunner, so the cached runner of the model (shared with every other call) never carries
// a variant's weights; released after the call. The run must have been made from this model.
import { resolve } from 'node:path';
import { VariantLoader } from '../experiment/variants.js';
import { ModelRunner } from '../forward/runner.js';
import type { Model } from '../model/types.js';
import type { Device } from '../onnx/runtime.js';
import { modelFingerprint, RunError, RunFolder } from '../run/run.js';

export async function withVariantRunner<T>(model: Model, device: Device, variant: { dir: string; name: string }, work: (runner: ModelRunner) => Promise<T>): Promise<T> {
  const run = RunFolder.open(resolve(variant.dir));
  if (run.manifest.model.fingerprint !== modelFingerprint(model)) throw new RunError(`${run.dir} was made from ${run.manifest.model.path}, not from ${model.path}; open that model to try its variants`);
  const plan = { name: variant.name };
  const runner = await ModelRunner.create(model, { device, memArena: true }); // plain passes only: RunnerOptions.memArena
  try {
    new VariantLoader(run, model).load(runner, plan);
    return await work(runner);
  } finally {
    await runner.release();
  }
}

// The one contract between the UI and the engine. Electron's IPC (main/) and the headless
// server (app/server/) both carry exactly these calls; both validate every request against
// the schemas here before the engine sees it. This file is pure: no Node, no DOM, so the
// renderer imports it too.
import { z } from 'zod';
import { ContractError } from './errors.js';
import { jobParams } from './jobs.js';
import { runParams } from './runs.js';

/** A model on disk (a Hugging Face directory or a llama2.c .bin) or a hub id ORG/NAME[@rev] in the local cache. Absent = bundled default. */
const modelPath = z.string().min(1).max(4096).optional();

export const params = {
  /** Engine version, compute devices, the bundled model. */
  'engine.info': z.object({}).strict(),
  /** Models in the local Hugging Face hub cache (repo id, revision, size), to open by id. */
  'models.cached': z.object({}).strict(),
  /** Architecture summary plus every linear with its weight statistics. */
  'model.inspect': z.object({ model: modelPath }).strict(),
  /** Histogram of one linear's weights. */
  'model.histogram': z
    .object({
      model: modelPath,
      linear: z.string().min(1).max(256),
      bins: z.number().int().min(1).max(1000).default(60),
    })
    .strict(),
  /** Greedy (or sampled) continuation of a prompt. */
  'model.generate': z
    .object({
      model: modelPath,
      prompt: z.string().max(10_000),
      maxNewTokens: z.number().int().min(1).max(1024).default(64),
      temperature: z.number().min(0).max(10).default(0),
      topP: z.number().gt(0).max(1).default(1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
      /** Generate with a variant of a run made from this model (compressed, eora-r16, …) instead of its own weights. */
      variant: z
        .object({ dir: z.string().min(1).max(4096), name: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'a variant name: letters, digits, . _ - only') })
        .strict()
        .optional(),
    })
    .strict(),
  /** Perplexity of a text file (rolling windows, see app/eval/perplexity.ts). */
  'model.perplexity': z
    .object({
      model: modelPath,
      /** A text file; absent = the bundled TinyStories validation half. */
      text: z.string().min(1).max(4096).optional(),
      seqLen: z.number().int().min(2).max(32_768).optional(),
      stride: z.number().int().min(1).max(32_768).optional(),
      maxTokens: z.number().int().min(2).optional(),
    })
    .strict(),
  ...runParams,
  ...jobParams,
} as const;

export type Method = keyof typeof params;
export type Params<M extends Method> = z.input<(typeof params)[M]>;
export type ParsedParams<M extends Method> = z.output<(typeof params)[M]>;

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.hasOwn(params, name);
}

/** Validates a request; the error message names the method and the offending field. */
export function parseParams<M extends Method>(method: M, raw: unknown): ParsedParams<M> {
  const result = params[method].safeParse(raw ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : 'params';
    throw new ContractError('invalid_params', `${method}: ${where}: ${issue.message}`);
  }
  return result.data as ParsedParams<M>;
}

export { ContractError, toWireError, type ErrorCode, type WireError } from './errors.js';

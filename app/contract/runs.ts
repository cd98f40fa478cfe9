// The run-folder and experiment part of the contract: list, open, delete runs, read one
// linear's spectrum or every linear's err(r) curves, validate and start experiments, add a
// variant, export one. Pure (zod only), shared by the renderer, IPC and the server.
import { z } from 'zod';

/** A folder on disk (a run, an export target). */
const folder = z.string().min(1).max(4096);
/** A linear's full name as the model names it: letters, digits, dots, underscores only. */
const linearName = z.string().min(1).max(256).regex(/^[A-Za-z0-9_.-]+$/, 'a linear name: letters, digits, . _ - only');
const variantName = z.string().min(1).max(128).regex(/^[A-Za-z0-9_.-]+$/, 'a variant name: letters, digits, . _ - only');
const compensation = z.enum(['eora', 'svd', 'scaled-svd']);

export const runParams = {
  /** The bundled model, the default experiment config and the runs folder. */
  defaults: z.object({}).strict(),
  /** Every run under `root` (default: the workbench's runs folder). */
  'runs.list': z.object({ root: folder.optional() }).strict(),
  /** One run: manifest, per-linear errors, results with deltas, the linears that have spectra. */
  'runs.open': z.object({ dir: folder }).strict(),
  /** Deletes a run folder (only a folder holding an eora run.json). */
  'runs.delete': z.object({ dir: folder }).strict(),
  /** One linear's spectra file. */
  'run.spectrum': z.object({ dir: folder, linear: linearName }).strict(),
  /** Every linear's err(r) curve for one compensation method (the rank explorer's input). */
  'run.curves': z.object({ dir: folder, method: compensation.default('eora') }).strict(),
  /** Checks an experiment config against the engine's schema; never throws for a bad config. */
  'experiment.validate': z.object({ config: z.unknown() }).strict(),
  /** Runs an experiment into `dir` (default: a new folder under the runs folder). A job. */
  'experiment.start': z.object({ config: z.unknown(), dir: folder.optional() }).strict(),
  /** Continues a stopped or failed run where it left off. A job. */
  'experiment.resume': z.object({ dir: folder }).strict(),
  /** Materializes and evaluates one more variant (a uniform rank or a budget allocation). A job. */
  'run.addVariant': z
    .object({
      dir: folder,
      method: compensation,
      rank: z.number().int().min(1).max(65_536).optional(),
      budget: z.number().int().min(1).optional(),
      /** Per linear (every linear of the model named): an explicit allocation. */
      ranks: z.record(linearName, z.number().int().min(0).max(65_536)).optional(),
    })
    .strict()
    .refine((p) => [p.rank, p.budget, p.ranks].filter((x) => x !== undefined).length === 1, {
      message: 'give exactly one of rank, budget, ranks',
    }),
  /** Writes one variant in a deployable format. A job. */
  'run.export': z
    .object({
      dir: folder,
      variant: variantName,
      format: z.enum(['peft', 'merged', 'compressed', 'onnx']),
      outDir: folder,
      dtype: z.enum(['f32', 'f16', 'bf16']).optional(),
      force: z.boolean().default(false),
    })
    .strict(),
} as const;

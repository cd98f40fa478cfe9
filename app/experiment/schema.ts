// The experiment config: one JSON or YAML file that says what to compress, how to compensate
// and what to measure. This file is pure (zod only: no Node, no DOM) so the UI's form can
// validate field by field with exactly the messages the CLI prints (`issuesOf`).
//
// Keys are snake_case like the run folder's JSON. Every object is strict: an unknown key
// (a typo such as `rank` for `ranks`) is an error, never silently ignored. Paths may be
// absolute or relative to the config file's folder; absent paths mean the bundled data.
import { z } from 'zod';

const positiveInt = (what = 'a positive integer') => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).positive({ error: `expected ${what}` });
const nonNegativeInt = (what = 'an integer ≥ 0') => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(0, { error: `expected ${what}` });
const path = z.string({ error: 'expected a file path (a string)' }).min(1, { error: 'expected a non-empty file path' });
const uniqueList = <T extends z.ZodType>(item: T, what: string) =>
  z
    .array(item, { error: `expected a list of ${what}` })
    .min(1, { error: `expected at least one ${what.replace(/s$/, '')}` })
    .refine((xs) => new Set(xs.map((x) => JSON.stringify(x))).size === xs.length, { error: `expected ${what} without repeats` });

export const calibrationSchema = z.strictObject({
  /** Text (stories separated by blank lines) or .jsonl; default: the bundled TinyStories calibration text. */
  file: path.optional(),
  /** JSONL only: the field holding the text (default "text"). */
  field: z.string({ error: 'expected a JSONL field name' }).min(1).optional(),
  /** JSONL only: a template over the record's fields, e.g. "Q: {question} A: {answer}". */
  template: z.string({ error: 'expected a template string such as "Q: {question} A: {answer}"' }).min(1).optional(),
  samples: positiveInt().default(128),
  seq_len: positiveInt().default(128),
  seed: nonNegativeInt().default(0),
  /** 'sequential': block i is calibrated on compressed blocks 0..i−1 (GPTQ); 'original': on the original model. */
  activations: z.enum(['sequential', 'original'], { error: 'expected "sequential" or "original"' }).default('sequential'),
});

export const compressionSchema = z.strictObject({
  /** `eora compress --quant` grammar: gptq:w3g32, rtn:w4g128, none. */
  quant: z.string({ error: 'expected a quantization spec such as "gptq:w3g32" or "none"' }).default('none'),
  /** `eora compress --prune` grammar: sparsegpt:2:4, wanda:0.5, magnitude:2:4, none. */
  prune: z.string({ error: 'expected a pruning spec such as "sparsegpt:2:4" or "none"' }).default('none'),
});

export const COMPENSATION_METHODS = ['svd', 'eora', 'scaled-svd'] as const;

export const compensationSchema = z.strictObject({
  methods: uniqueList(z.enum(COMPENSATION_METHODS, { error: `expected one of ${COMPENSATION_METHODS.map((m) => `"${m}"`).join(', ')}` }), 'methods').default(['svd', 'eora']),
  ranks: uniqueList(positiveInt(), 'ranks').default([8, 16, 32]),
  /** Adapter parameter budgets Σ r_l·(in_l + out_l), each a variant `eora-budget-{params}` (needs eora). */
  budgets: uniqueList(positiveInt('a positive parameter count'), 'budgets').optional(),
  adapter_bits: z.literal([4, 8], { error: 'expected 4 or 8' }).optional(),
  adapter_group: positiveInt().optional(),
  /** Decomposition rank (default min(out, in, 512) per linear). */
  r_max: positiveInt().optional(),
  /** Which linears get adapters: glob patterns over linear names, and per-pattern ranks (app/contract/modules.ts). */
  modules: z
    .strictObject({
      include: z.array(z.string().min(1, { error: 'expected a non-empty pattern' })).optional(),
      exclude: z.array(z.string().min(1, { error: 'expected a non-empty pattern' })).optional(),
      rank_pattern: z.record(z.string().min(1), z.number().int({ error: 'expected a rank (an integer ≥ 0)' }).min(0, { error: 'expected a rank (an integer ≥ 0)' })).optional(),
    })
    .optional(),
});

export const perplexityTextSchema = z.strictObject({
  /** The key in metrics.json's `ppl` (default: the file's name without extension). */
  name: z.string().min(1).optional(),
  /** Default: the bundled TinyStories validation half. */
  file: path.optional(),
  tokens: positiveInt().min(2, { error: 'expected at least 2 tokens' }).default(20_000),
  seq_len: positiveInt().min(2, { error: 'expected at least 2' }).optional(),
});

export const TASK_FORMATS = ['jsonl', 'arc', 'mathqa'] as const;

export const taskSchema = z
  .strictObject({
    /** A bundled task's name (tinystories_cloze, arc_easy, arc_challenge, mathqa) or the result key for `path`. */
    name: z.string().min(1).optional(),
    path: path.optional(),
    format: z.enum(TASK_FORMATS, { error: `expected one of ${TASK_FORMATS.map((f) => `"${f}"`).join(', ')}` }).optional(),
    /** Score only the first `limit` items. */
    limit: positiveInt().optional(),
  })
  .refine((t) => t.name !== undefined || t.path !== undefined, { error: 'expected "name" (a bundled task) or "path" (a task file)' });

export const generationSchema = z.strictObject({
  prompts: z.array(z.string({ error: 'expected a prompt (a string)' }).min(1, { error: 'expected a non-empty prompt' }), { error: 'expected a list of prompts' }).default([]),
  max_new_tokens: positiveInt().max(1024, { error: 'expected at most 1024' }).default(32),
});

export const evaluationSchema = z.strictObject({
  perplexity: z.array(perplexityTextSchema, { error: 'expected a list of texts' }).default([{ tokens: 20_000 }]),
  tasks: z.array(taskSchema, { error: 'expected a list of tasks' }).default([]),
  generation: generationSchema.default({ prompts: [], max_new_tokens: 32 }),
});

export const experimentSchema = z
  .strictObject({
    /** Free text shown in listings. */
    name: z.string().min(1).optional(),
    /** A Hugging Face folder, a hub repo id ORG/NAME[@rev] in the local cache, or a llama2.c .bin; default: the bundled model. */
    model: path.optional(),
    device: z.enum(['cpu', 'cuda', 'webgpu'], { error: 'expected "cpu", "cuda" or "webgpu"' }).default('cpu'),
    calibration: calibrationSchema.default({ samples: 128, seq_len: 128, seed: 0, activations: 'sequential' }),
    compression: compressionSchema,
    compensation: compensationSchema.optional(),
    evaluation: evaluationSchema.default({ perplexity: [{ tokens: 20_000 }], tasks: [], generation: { prompts: [], max_new_tokens: 32 } }),
  })
  .superRefine((config, ctx) => {
    const c = config.compensation;
    if (c?.budgets && !c.methods.includes('eora')) ctx.addIssue({ code: 'custom', path: ['compensation', 'budgets'], message: 'budgets allocate ranks over EoRA curves: add "eora" to compensation.methods' });
    if (config.calibration.field && config.calibration.template) ctx.addIssue({ code: 'custom', path: ['calibration', 'field'], message: 'give either "field" or "template", not both' });
    // The names results are keyed by: as evaluate.ts resolves them (a file's base name; the default text is validation.txt).
    const names = config.evaluation.perplexity.map((t) => t.name ?? (t.file ?? 'validation.txt').split(/[\\/]/).pop()!.replace(/\.[^.]*$/, ''));
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['evaluation', 'perplexity'], message: 'two texts with the same name: give each a distinct "name"' });
  });

/** The config as written (defaults optional). */
export type ExperimentInput = z.input<typeof experimentSchema>;
/** The config with defaults filled in. */
export type ExperimentConfig = z.output<typeof experimentSchema>;

export interface ConfigIssue {
  /** `compensation.ranks[1]`, or '' for the top level. */
  path: string;
  /** `expected a positive integer, got "8"`. */
  message: string;
}

/** `compensation.ranks[1]` from zod's ['compensation', 'ranks', 1]. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Every problem of `value` as an experiment config, one per field; [] when valid. */
export function issuesOf(value: unknown): ConfigIssue[] {
  const result = experimentSchema.safeParse(value, { reportInput: true });
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const where = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return { path: where, message: `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}` };
    }
    const missing = issue.code === 'invalid_type' && issue.input === undefined;
    const got = issue.code === 'custom' || issue.code === 'invalid_union' || missing ? (missing ? ' (missing)' : '') : `, got ${describe(issue.input)}`;
    return { path: where, message: `${issue.message}${got}` };
  });
}

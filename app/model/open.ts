// The one entry point for opening a model: picks the reader from what is on disk (Netron's
// match/open split, with the sniff done on names and the llama2.c header) and finds the
// bundled resources wherever the code runs from (app/ under Vitest, out/app/ when compiled).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFsError } from './binary.js';
import { isGptqCheckpoint, openGptq } from './gptq.js';
import { openHuggingFace } from './hf.js';
import { resolveModelPath } from './hub.js';
import { openLlama2c } from './llama2c.js';
import { ModelError, type Model } from './types.js';
import { withFiniteReads } from './validate.js';

const PACKAGE_NAME = 'eora-workbench';
const NOT_A_MODEL = 'not a model: expected a Hugging Face directory with config.json or a llama2.c .bin file';

/**
 * Opens a model; no path = the bundled TinyStories-656K. Throws ModelError. Errors about the
 * path itself name the whole path (the user typed it); errors inside a model name the file.
 */
export async function openModel(path?: string): Promise<Model> {
  return withFiniteReads(await openAny(path)); // NaN/Inf weights: an error naming the tensor (validate.ts)
}

async function openAny(path?: string): Promise<Model> {
  // A Hugging Face repo id (ORG/NAME[@rev]) opens its cached snapshot; a path on disk wins.
  const target = resolve(path === undefined ? bundledModelPath() : resolveModelPath(path));
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch (error) {
    throw new ModelError(target, describeFsError(error));
  }
  if (!isDirectory) {
    if (target.endsWith('.bin')) return openLlama2c(target);
    throw new ModelError(target, NOT_A_MODEL);
  }
  if (isGptqCheckpoint(target)) return openGptq(target); // packed qweight/qzeros/scales linears, read dequantized
  if (existsSync(join(target, 'config.json'))) return openHuggingFace(target);
  // A llama2.c folder: exactly one checkpoint .bin next to its tok*.bin / tokenizer.bin.
  const bins = readdirSync(target).filter((name) => name.endsWith('.bin'));
  const tokenizers = bins.filter((name) => /^tok.*\.bin$/.test(name));
  const checkpoints = bins.filter((name) => !tokenizers.includes(name));
  if (checkpoints.length === 1 && tokenizers.length > 0) return openLlama2c(join(target, checkpoints[0]));
  if (checkpoints.length > 1) {
    throw new ModelError(target, `${NOT_A_MODEL} (found several .bin files: ${checkpoints.join(', ')}; open one of them)`);
  }
  if (tokenizers.length > 0) {
    // The bundled stories15m folder holds only its tokenizer until the weights are provisioned.
    throw new ModelError(target, `has ${tokenizers[0]} but no checkpoint .bin; for the bundled stories15m run \`node scripts/stories15m.mjs\` (\`npm ci\` runs it), see SOURCE.md`);
  }
  throw new ModelError(target, NOT_A_MODEL);
}

/** The bundled default model (a Hugging Face directory). */
export function bundledModelPath(): string {
  return resourcesPath('models', 'tinystories-656k');
}

/** A path under the package's `resources/` folder. */
export function resourcesPath(...parts: string[]): string {
  return join(packageRoot(), 'resources', ...parts);
}

let ROOT: string | null = null;

/** Walks up from this file to the package.json named eora-workbench (app/package.json has no name). */
function packageRoot(): string {
  if (ROOT) return ROOT;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) return (ROOT = dir);
    if (dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${start}`);
  }
}

function readName(manifest: string): unknown {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}

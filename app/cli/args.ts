// Argument parsing for every command: node's util.parseArgs in strict mode, plus typed
// readers for numeric options that say which option was wrong and why.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MODULE_PRESETS, type ModuleSelection } from '../contract/modules.js';
import { DeviceError, parseDevice, type Device } from '../onnx/runtime.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** A command-line mistake: printed with the command's usage hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars only draw there). */
  stderrIsTTY: boolean;
}

export interface Command {
  name: string;
  /** One line for `eora --help`. */
  summary: string;
  /** The full `eora NAME --help` text. */
  help: string;
  options: Options;
  maxPositionals: number;
  run(args: Parsed, io: CliIO): Promise<number>;
}

export const helpOption: Options = { help: { type: 'boolean', short: 'h' } };

export function parseCommandArgs(command: Command, argv: string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...helpOption, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > command.maxPositionals) {
      throw new UsageError(`unexpected argument "${positionals[command.maxPositionals]}"`);
    }
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // parseArgs' messages are clear but long; keep their first sentence.
    throw new UsageError((error as Error).message.split('. ')[0]);
  }
}

/** The RUN_DIR positional of commands that work on a run. */
export function runDirArgument(args: Parsed): string {
  const dir = args.positionals[0];
  if (!dir) throw new UsageError('RUN_DIR is required (a folder made by `eora compress`)');
  return dir;
}

export function stringOption(args: Parsed, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function intOption(args: Parsed, name: string, range: { min?: number; max?: number } = {}): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) throw new UsageError(`--${name} must be an integer, got "${raw}"`);
  checkRange(name, value, range);
  return value;
}

export function numberOption(args: Parsed, name: string, range: { min?: number; max?: number } = {}): number | undefined {
  const raw = stringOption(args, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  checkRange(name, value, range);
  return value;
}

function checkRange(name: string, value: number, { min, max }: { min?: number; max?: number }) {
  if (min !== undefined && value < min) throw new UsageError(`--${name} must be at least ${min}, got ${value}`);
  if (max !== undefined && value > max) throw new UsageError(`--${name} must be at most ${max}, got ${value}`);
}

/** --device as a usage error when unknown (exit 2), like any other bad option value. */
export function deviceOption(args: Parsed): Device {
  try {
    return parseDevice(stringOption(args, 'device') ?? 'cpu');
  } catch (error) {
    if (error instanceof DeviceError) throw new UsageError(`--device: ${error.message}`);
    throw error;
  }
}

/** The --modules help lines, text starting at `column` as in the command's other options. */
export function modulesHelp(column: number, what = 'compensation.modules of an experiment file'): string {
  const pad = ' '.repeat(column);
  return [
    `${'  --modules SPEC'.padEnd(column)}which linears get adapters (${what}):`,
    `${pad}a preset (${Object.keys(MODULE_PRESETS).join(' | ')}) or \`;\`-separated parts include=GLOB[,…]`,
    `${pad}exclude=GLOB[,…] rank_pattern=GLOB:RANK[,…], e.g.`,
    `${pad}'include=*.mlp.*;exclude=model.layers.0.*;rank_pattern=down_proj:16'`,
  ].join('\n');
}

/**
 * --modules SPEC → a ModuleSelection (app/contract/modules.ts): a preset name, or parts
 * `include=…`, `exclude=…`, `rank_pattern=GLOB:RANK,…` joined by `;`. Patterns are checked
 * against the model later, by the engine, with the experiment file's messages.
 */
export function modulesOption(args: Parsed): ModuleSelection | undefined {
  const spec = stringOption(args, 'modules')?.trim();
  if (spec === undefined) return undefined;
  if (Object.hasOwn(MODULE_PRESETS, spec)) return MODULE_PRESETS[spec];
  const selection: ModuleSelection = {};
  for (const part of spec.split(';').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    if (key !== 'include' && key !== 'exclude' && key !== 'rank_pattern') {
      throw new UsageError(`--modules: "${part}" is not include=…, exclude=… or rank_pattern=… (nor a preset: ${Object.keys(MODULE_PRESETS).join(', ')})`);
    }
    if (selection[key] !== undefined) throw new UsageError(`--modules: ${key} is given twice`);
    const items = part.slice(eq + 1).split(',').map((p) => p.trim());
    if (eq < 0 || items.some((p) => p === '')) throw new UsageError(`--modules: ${key} needs a comma-separated list without empty entries, got "${part}"`);
    if (key !== 'rank_pattern') selection[key] = items;
    else selection.rank_pattern = Object.fromEntries(items.map((item) => rankPatternEntry(item)));
  }
  if (Object.keys(selection).length === 0) throw new UsageError('--modules: empty selection');
  return selection;
}

/** "down_proj:16" → ["down_proj", 16]; the rank after the last colon. */
function rankPatternEntry(item: string): [string, number] {
  const colon = item.lastIndexOf(':');
  const [pattern, rank] = [item.slice(0, colon).trim(), item.slice(colon + 1).trim()];
  if (colon <= 0 || !/^\d+$/.test(rank)) throw new UsageError(`--modules: rank_pattern entry "${item}" is not GLOB:RANK (a rank is an integer ≥ 0)`);
  return [pattern, Number(rank)];
}

// Argument parsing for every command: node's util.parseArgs in strict mode, plus typed
// readers for numeric options that say which option was wrong and why.
import { parseArgs, type ParseArgsConfig } from 'node:util';
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

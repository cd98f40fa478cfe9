// Method specs: the one-line names used by the CLI, experiment files and the UI.
//
//   none
//   rtn:w4g128  rtn:w4                     (w<bits>[g<group>]; no g = one grid per output channel)
//   gptq:w3g32[,act][,static][,sym][,damp=0.01][,block=128]
//   magnitude:0.5  wanda:2:4               (a fraction in [0, 1), or N:M = keep N of every M)
//   sparsegpt:0.5  sparsegpt:2:4+w4g128[,sym][,damp=…][,block=…]   (+ quantization: joint mode)
//
// Quantization is asymmetric unless `sym` (the GPTQ scripts' default).
import { checkSparsity } from './masks.js';
import { checkQuantConfig } from './quantizer.js';
import { DEFAULT_PERCDAMP } from './hessian.js';
import { DEFAULT_BLOCK_SIZE } from './sweep.js';
import { CompressError, type QuantConfig, type Sparsity } from './types.js';

export const METHOD_NAMES = ['none', 'rtn', 'gptq', 'magnitude', 'wanda', 'sparsegpt'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export type MethodSpec =
  | { method: 'none' }
  | { method: 'rtn'; quant: QuantConfig }
  | { method: 'gptq'; quant: QuantConfig; actOrder: boolean; staticGroups: boolean; percdamp: number; blockSize: number }
  | { method: 'magnitude' | 'wanda'; sparsity: Sparsity }
  | { method: 'sparsegpt'; sparsity: Sparsity; quant?: QuantConfig; percdamp: number; blockSize: number };

/** Options each method accepts after its arguments, comma-separated. */
const OPTIONS: Record<MethodName, readonly string[]> = {
  none: [],
  rtn: ['sym'],
  gptq: ['act', 'static', 'sym', 'damp', 'block'],
  magnitude: [],
  wanda: [],
  sparsegpt: ['sym', 'damp', 'block'],
};
const VALUED = new Set(['damp', 'block']);

export function parseMethod(text: string): MethodSpec {
  const spec = text.trim();
  if (spec === '') throw new CompressError('empty method spec (e.g. gptq:w4g128, sparsegpt:2:4, none)');
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  if (!isMethodName(name)) throw new CompressError(`unknown method '${name}' (known: ${METHOD_NAMES.join(', ')})`);
  if (name === 'none') {
    if (colon >= 0) throw new CompressError(`'none' takes no arguments, got '${spec}'`);
    return { method: 'none' };
  }
  const [body, ...optionParts] = (colon < 0 ? '' : spec.slice(colon + 1)).split(',');
  const options = parseOptions(name, optionParts);
  const sym = options.has('sym');

  if (name === 'rtn' || name === 'gptq') {
    const quant = parseQuant(body, sym, name);
    if (name === 'rtn') return { method: 'rtn', quant };
    const staticGroups = options.has('static');
    if (staticGroups && quant.groupSize === -1) throw new CompressError(`gptq option 'static' needs a group size (e.g. w4g128), got '${body}'`);
    return { method: 'gptq', quant, actOrder: options.has('act'), staticGroups, percdamp: percdampOf(options), blockSize: blockSizeOf(options) };
  }

  const parts = body.split('+');
  if (parts.length > 2) throw new CompressError(`expected <sparsity>[+<quantization>], got '${body}'`);
  const sparsity = parseSparsity(parts[0], name);
  if (name !== 'sparsegpt') {
    if (parts.length > 1) throw new CompressError(`only sparsegpt prunes and quantizes in one pass; '${spec}' is not supported`);
    return { method: name, sparsity };
  }
  if (sym && parts.length < 2) throw new CompressError(`sparsegpt option 'sym' needs a quantization part (e.g. sparsegpt:2:4+w4g128,sym)`);
  const result: MethodSpec = { method: 'sparsegpt', sparsity, percdamp: percdampOf(options), blockSize: blockSizeOf(options) };
  if (parts.length > 1) result.quant = parseQuant(parts[1], sym, name);
  return result;
}

/** The canonical spec text; parseMethod(formatMethod(s)) equals s. */
export function formatMethod(spec: MethodSpec): string {
  switch (spec.method) {
    case 'none':
      return 'none';
    case 'rtn':
      return `rtn:${formatQuant(spec.quant)}${spec.quant.sym ? ',sym' : ''}`;
    case 'gptq': {
      const flags = [spec.actOrder && 'act', spec.staticGroups && 'static', spec.quant.sym && 'sym', ...solverFlags(spec)];
      return `gptq:${formatQuant(spec.quant)}${flags.filter(Boolean).map((f) => `,${f}`).join('')}`;
    }
    case 'magnitude':
    case 'wanda':
      return `${spec.method}:${formatSparsity(spec.sparsity)}`;
    case 'sparsegpt': {
      const quant = spec.quant ? `+${formatQuant(spec.quant)}` : '';
      const flags = [spec.quant?.sym && 'sym', ...solverFlags(spec)];
      return `sparsegpt:${formatSparsity(spec.sparsity)}${quant}${flags.filter(Boolean).map((f) => `,${f}`).join('')}`;
    }
  }
}

function isMethodName(name: string): name is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(name);
}

function parseOptions(method: MethodName, parts: string[]): Map<string, string> {
  const allowed = OPTIONS[method];
  const options = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!allowed.includes(key)) {
      const known = allowed.length ? `known: ${allowed.join(', ')}` : 'it takes none';
      throw new CompressError(`unknown option '${key}' for ${method} (${known})`);
    }
    if (options.has(key)) throw new CompressError(`option '${key}' given twice`);
    if (VALUED.has(key) && eq < 0) throw new CompressError(`option '${key}' needs a value (e.g. ${key}=${key === 'damp' ? DEFAULT_PERCDAMP : DEFAULT_BLOCK_SIZE})`);
    if (!VALUED.has(key) && eq >= 0) throw new CompressError(`option '${key}' takes no value, got '${part}'`);
    options.set(key, value);
  }
  return options;
}

function parseQuant(token: string, sym: boolean, method: string): QuantConfig {
  const m = /^w(\d+)(?:g(\d+))?$/.exec(token);
  if (!m) throw new CompressError(`${method} expects a quantization like 'w4g128' (4 bits, groups of 128) or 'w4' (per output channel), got '${token}'`);
  const quant: QuantConfig = { bits: Number(m[1]), groupSize: m[2] === undefined ? -1 : Number(m[2]), sym };
  checkQuantConfig(quant);
  return quant;
}

function parseSparsity(token: string, method: string): Sparsity {
  const nm = /^(\d+):(\d+)$/.exec(token);
  let sparsity: Sparsity;
  if (nm) sparsity = { kind: 'nm', n: Number(nm[1]), m: Number(nm[2]) };
  else if (/^\d*\.?\d+$/.test(token)) sparsity = { kind: 'unstructured', p: Number(token) };
  else throw new CompressError(`${method} expects a sparsity like '0.5' or an N:M pattern like '2:4', got '${token}'`);
  checkSparsity(sparsity);
  return sparsity;
}

function percdampOf(options: Map<string, string>): number {
  const text = options.get('damp');
  if (text === undefined) return DEFAULT_PERCDAMP;
  const v = Number(text);
  if (text === '' || !(v >= 0 && Number.isFinite(v))) throw new CompressError(`damp must be a number ≥ 0, got '${text}'`);
  return v;
}

function blockSizeOf(options: Map<string, string>): number {
  const text = options.get('block');
  if (text === undefined) return DEFAULT_BLOCK_SIZE;
  const v = Number(text);
  if (!/^\d+$/.test(text) || v < 1) throw new CompressError(`block must be a positive integer, got '${text}'`);
  return v;
}

function solverFlags(spec: { percdamp: number; blockSize: number }): string[] {
  const flags: string[] = [];
  if (spec.percdamp !== DEFAULT_PERCDAMP) flags.push(`damp=${spec.percdamp}`);
  if (spec.blockSize !== DEFAULT_BLOCK_SIZE) flags.push(`block=${spec.blockSize}`);
  return flags;
}

function formatQuant(q: QuantConfig): string {
  return `w${q.bits}${q.groupSize === -1 ? '' : `g${q.groupSize}`}`;
}

function formatSparsity(s: Sparsity): string {
  return s.kind === 'nm' ? `${s.n}:${s.m}` : String(s.p);
}

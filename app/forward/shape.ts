// The sizes a decoder block's graph depends on, derived once from the config. Everything a
// graph's structure depends on is here, so `signature()` identifies a session uniquely.
import type { LinearKind, ModelConfig } from '../model/types.js';

export interface BlockShape {
  hidden: number; // d
  heads: number; // query heads, nH
  kvHeads: number; // key/value heads, nKv (nH % nKv == 0)
  headDim: number; // hd
  intermediate: number; // MLP width, I
  eps: number; // RMSNorm epsilon
  /** q/k/v projections have biases (Qwen2). */
  bias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  qkNorm?: boolean;
}

export interface HeadShape {
  hidden: number; // d
  vocab: number; // V
  eps: number;
}

export function blockShape(config: ModelConfig): BlockShape {
  const shape: BlockShape = {
    hidden: config.hidden_size,
    heads: config.num_heads,
    kvHeads: config.num_kv_heads,
    headDim: config.head_dim,
    intermediate: config.intermediate_size,
    eps: config.rms_norm_eps,
    bias: config.attention_bias,
    qkNorm: config.qk_norm ?? false,
  };
  checkBlockShape(shape);
  return shape;
}

export function headShape(config: ModelConfig): HeadShape {
  return { hidden: config.hidden_size, vocab: config.vocab_size, eps: config.rms_norm_eps };
}

export function checkBlockShape(s: BlockShape): void {
  for (const key of ['hidden', 'heads', 'kvHeads', 'headDim', 'intermediate'] as const) {
    if (!Number.isSafeInteger(s[key]) || s[key] < 1) throw new Error(`config: ${key} must be a positive integer, got ${s[key]}`);
  }
  if (s.heads % s.kvHeads !== 0) throw new Error(`config: num_heads (${s.heads}) must be a multiple of num_kv_heads (${s.kvHeads})`);
  if (s.headDim % 2 !== 0) throw new Error(`config: head_dim (${s.headDim}) must be even for rotary embeddings`);
  if (!(s.eps > 0)) throw new Error(`config: rms_norm_eps must be positive, got ${s.eps}`);
}

/** Derived widths: q rows (nH·hd) and k/v rows (nKv·hd). */
export const qWidth = (s: BlockShape) => s.heads * s.headDim;
export const kvWidth = (s: BlockShape) => s.kvHeads * s.headDim;

/** plain: the forward; stats: + calibration Gram matrices; cache: + past/present keys and values. */
export type BlockVariant = 'plain' | 'stats' | 'cache';

/** The calibration Grams XᵀX of the stats variant, one per distinct linear input (calibration.ts). */
export type GramName = 'attn_in' | 'o_in' | 'mlp_in' | 'down_in';
export const gramNames: readonly GramName[] = ['attn_in', 'o_in', 'mlp_in', 'down_in'];

/** The linears of a block, in graph order: the kinds a low-rank adapter can attach to. */
export const LINEAR_KINDS: readonly LinearKind[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/**
 * The linears of a block that carry an unmerged low-rank adapter (y = x·Wᵀ + (x·Aᵀ)·Bᵀ), in
 * LINEAR_KINDS order. Ranks are symbolic in the graph, so only the set enters the signature.
 */
export function loraKinds(kinds: Iterable<LinearKind>): LinearKind[] {
  const set = new Set(kinds);
  return LINEAR_KINDS.filter((kind) => set.has(kind));
}

export function blockSignature(s: BlockShape, variant: BlockVariant, lora: readonly LinearKind[] = [], grams: readonly GramName[] = gramNames): string {
  const subset = variant === 'stats' && grams.length < gramNames.length ? ` grams=${gramNames.filter((n) => grams.includes(n)).join(',')}` : '';
  const base = `llama-block d=${s.hidden} h=${s.heads} kv=${s.kvHeads} hd=${s.headDim} i=${s.intermediate} eps=${s.eps} bias=${+s.bias}${s.qkNorm ? ' qknorm' : ''} ${variant}${subset}`;
  const kinds = loraKinds(lora);
  return kinds.length ? `${base} lora=${kinds.join(',')}` : base;
}

export type HeadMode = 'logits' | 'last' | 'nll';

export function headSignature(s: HeadShape, mode: HeadMode): string {
  return `llama-head d=${s.hidden} v=${s.vocab} eps=${s.eps} mode=${mode}`;
}

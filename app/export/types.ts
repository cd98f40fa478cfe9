// What every export format takes and reports.
import type { Model } from '../model/types.js';
import type { OutDtype } from './safetensors-out.js';
import type { VariantSource } from './variant.js';

export type ExportFormat = 'peft' | 'merged' | 'compressed' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['peft', 'merged', 'compressed', 'onnx'];

export type FloatDtype = Extract<OutDtype, 'F32' | 'F16' | 'BF16'>;

export interface ExportProgress {
  done: number;
  total: number;
  /** The tensor or step just finished. */
  label: string;
}

export interface ExportOptions {
  /** Weight dtype of merged/compressed checkpoints (default f32; peft adapters keep f32 unless set). */
  dtype?: 'f16' | 'bf16' | 'f32';
  /** Replace an existing non-empty output folder. */
  force?: boolean;
  /** Shard checkpoints above this many bytes (default 2 GB). */
  shardBytes?: number;
  signal?: AbortSignal;
  onProgress?: (event: ExportProgress) => void;
}

/** What one format writes into the (temp) folder it is given. */
export interface FormatContext {
  dir: string;
  /** The absolute path the export folder will have once written (dir is its temp twin): what configs name. */
  target: string;
  source: VariantSource;
  model: Model;
  options: ExportOptions;
  /** Announces how many steps the format will report. */
  begin: (total: number) => void;
  /** Called after each tensor or step; checks for cancellation. */
  step: (label: string) => void;
  /** Filled in by the format: facts for export.json (and the README). */
  notes: Record<string, unknown>;
}

export const DEFAULT_SHARD_BYTES = 2_000_000_000;

export function floatDtype(dtype: ExportOptions['dtype']): FloatDtype {
  return dtype === 'f16' ? 'F16' : dtype === 'bf16' ? 'BF16' : 'F32';
}

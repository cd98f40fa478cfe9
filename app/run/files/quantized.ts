// quantized.safetensors: the exact integer codes, scales, zeros and g_idx per linear (format and
// reader in export/quant-state.ts, which exports read); this module owns where it lives.
import { join } from 'node:path';

export const QUANTIZED = 'quantized.safetensors';

export const quantizedPath = (dir: string) => join(dir, QUANTIZED);

// Optional round-to-nearest quantization of the adapter factors, and what it costs in output
// error. Both factors are quantized along their own input dimension, in groups, each group
// with its own asymmetric min/max grid (as GPTQ's default quantizer):
//   A: [r, in]   groups along `in` (each row of A reads the layer input x)
//   B: [out, r]  groups along `r`  (each row of B reads the r-dim code A·x; r ≤ groupSize is
//                one group per row)
// The Σ split matters here, not for B·A: 'sqrt' gives both factors comparable ranges, while
// 'B' puts all of Σ's dynamic range into B's columns (adapter.ts).
// The report compares output errors on the calibration set, formed the same way for both:
//   extra = tr(R̂·C·R̂ᵀ)/tr(W·C·Wᵀ) − tr(R·C·Rᵀ)/tr(W·C·Wᵀ),  R = ΔW − B·A, R̂ = ΔW − B̂·Â.
import { subtract, zeros, type Matrix } from '../linalg/matrix.js';
import { adapterProduct, type Adapter } from './adapter.js';
import type { LayerInput } from './decomposition.js';
import { float64Products, outputEnergy, type Products } from './products.js';

export interface AdapterQuantOptions {
  bits: 4 | 8;
  /** Elements per group along each factor's input dimension (default 128). */
  groupSize?: number;
}

/** Dequantized RTN copy of m: [rows, cols], groups of `groupSize` consecutive columns per row. */
export function quantizeRtn(m: Matrix, bits: number, groupSize: number): Matrix {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new RangeError(`bits = ${bits} must be an integer in [2, 16]`);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new RangeError(`groupSize = ${groupSize} must be a positive integer`);
  const { rows, cols } = m;
  const levels = 2 ** bits - 1;
  const q = zeros(rows, cols);
  for (let i = 0; i < rows; i++)
    for (let g = 0; g < cols; g += groupSize) {
      const start = i * cols + g;
      const end = i * cols + Math.min(g + groupSize, cols);
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = start; k < end; k++) {
        lo = Math.min(lo, m.data[k]);
        hi = Math.max(hi, m.data[k]);
      }
      // The grid always contains 0 (zero-point), so exact zeros — dropped directions — stay 0.
      lo = Math.min(lo, 0);
      hi = Math.max(hi, 0);
      const scale = (hi - lo) / levels;
      if (scale === 0) continue; // an all-zero group
      const zero = Math.round(-lo / scale);
      for (let k = start; k < end; k++) {
        const code = Math.min(levels, Math.max(0, Math.round(m.data[k] / scale) + zero));
        q.data[k] = (code - zero) * scale;
      }
    }
  return q;
}

export function quantizeAdapter(adapter: Adapter, options: AdapterQuantOptions): Adapter {
  const groupSize = options.groupSize ?? 128;
  return { ...adapter, B: quantizeRtn(adapter.B, options.bits, groupSize), A: quantizeRtn(adapter.A, options.bits, groupSize) };
}

export interface AdapterQuantReport {
  bits: number;
  groupSize: number;
  /** Relative output error with the float adapter. */
  outputError: number;
  /** … with the quantized adapter. */
  quantizedOutputError: number;
  /** quantizedOutputError − outputError. */
  extra: number;
  quantized: Adapter;
}

export async function adapterQuantization(layer: LayerInput, adapter: Adapter, options: AdapterQuantOptions, products: Products = float64Products): Promise<AdapterQuantReport> {
  const { W, Wc, C } = layer;
  const dW = subtract(W, Wc); // [out, in]
  const energy = await outputEnergy(products, W, C);
  const scale = energy > 0 ? energy : 1;
  const quantized = quantizeAdapter(adapter, options);
  const outputError = (await outputEnergy(products, subtract(dW, adapterProduct(adapter)), C)) / scale;
  const quantizedOutputError = (await outputEnergy(products, subtract(dW, adapterProduct(quantized)), C)) / scale;
  return { bits: options.bits, groupSize: options.groupSize ?? 128, outputError, quantizedOutputError, extra: quantizedOutputError - outputError, quantized };
}

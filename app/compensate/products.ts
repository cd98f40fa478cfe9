// The heavy products of compensation — O(out·in·k) and O(in²·k) — behind one small interface,
// so they can run in onnxruntime (a cached one-node MatMul graph, on the GPU) while the small
// k×k problems stay in float64 TypeScript. The interface is async because ORT's Session.run
// is. Two implementations: float64Products here (linalg/gemm.ts; exact, for tests and small
// layers) and ortProducts (ort-products.ts, onnx/matmul.ts) in float32, which is why the k×k
// problems (eigen, Cholesky) and traces stay float64 here. Subspace iteration also sends its large
// [d, b] block products (Rayleigh quotients Qᵀ·Z, Cholesky-QR Grams) through `matmul` when
// d ≥ 1024 — accurate to ~1e-6 relative there, see randomized.ts.
import { gemm } from '../linalg/gemm.js';
import { transpose, type Matrix } from '../linalg/matrix.js';

export interface Products {
  readonly name: string;
  /**
   * Unit roundoff of the products (2⁻⁵³ float64, 2⁻²⁴ float32; default 2⁻⁵³): how far apart two
   * evaluations of the same product may be, which is what subspace iteration's stopping test
   * has to tolerate (randomized.ts).
   */
  readonly precision?: number;
  /** c: [m, n] = op(a)·b: [k, n], op(a) = a: [m, k], or aᵀ for a stored [k, m] with transA. */
  matmul(a: Matrix, b: Matrix, options?: ProductOptions): Promise<Matrix>;
  /**
   * tr(A·C·Aᵀ) without returning A·C (an implementation may reduce it where it is computed);
   * outputEnergy() falls back to ⟨A·C, A⟩. reuseA as in ProductOptions; C is always reusable.
   */
  outputEnergy?(A: Matrix, C: Matrix, options?: ProductOptions): Promise<number>;
  /**
   * a's entries rounded to float32, which the caller already holds (ORT's Gram computes C in
   * float32): a float32 implementation uses it as a's reused copy (reuseA) instead of making
   * its own — at in = 14336 that is 822 MB of fresh memory and its conversion. Same contract
   * as reuseA: neither array ever changes afterwards (ORT's energies also cache a packing of
   * the float32 copy for as long as it lives).
   */
  adopt?(a: Matrix, rounded: Float32Array): void;
}

export interface ProductOptions {
  /** Use aᵀ (a stored [k, m]): ΔWᵀ·Y and Qᵀ·Z without materializing a transpose. */
  transA?: boolean;
  /**
   * a is an operator applied many times unchanged (ΔW, C in subspace iteration): an
   * implementation may keep a converted copy (ORT: float32) for as long as a.data lives.
   * The caller promises not to mutate a.data afterwards.
   */
  reuseA?: boolean;
  /**
   * a.data is a prefix view (byteOffset 0) of a buffer that is only ever appended to (block
   * Krylov's Qᵀ, one row block per step): an implementation may keep one converted copy per
   * buffer and convert only what was appended since the last call.
   */
  appendOnly?: boolean;
}

export const float64Products: Products = {
  name: 'js-float64',
  precision: 2 ** -53,
  matmul: async (a, b, options) => gemm(options?.transA ? transpose(a) : a, b),
};

/** Σᵢⱼ aᵢⱼ·bᵢⱼ in float64 (so tr(A·C·Aᵀ) = ⟨A·C, A⟩ without forming the [m, m] product). */
export function innerProduct(a: Matrix, b: Matrix): number {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`innerProduct: [${a.rows}, ${a.cols}] vs [${b.rows}, ${b.cols}]`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

/** tr(A·C·Aᵀ) for A: [m, n], C: [n, n] — the output energy ‖A·X‖²_F when C = X·Xᵀ. */
export async function outputEnergy(products: Products, A: Matrix, C: Matrix, options?: ProductOptions): Promise<number> {
  return products.outputEnergy ? products.outputEnergy(A, C, options) : innerProduct(await products.matmul(A, C), A);
}

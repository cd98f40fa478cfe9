// Products in onnxruntime: the heavy O(out·in·k) and O(in²·k) products of compensation run as a
// cached float32 Gemm (onnx/matmul.ts), on whatever device the SessionCache targets.
//
// Precision trade-off: each product is computed in float32 (operands rounded to 24-bit
// mantissas, MLAS float32 accumulation), so an entry carries a relative error of ≈ √k·6e-8
// of the row/column norms — about 1e-6…1e-5 for k in the thousands. That is far below what
// the spectra and error curves are read at (1e-4), while every small, accuracy-critical step
// stays float64 in TypeScript: the k×k eigenproblems and Cholesky factors, and traces
// (products.ts, randomized.ts, spectrum.ts). Consequences to know:
//   • eigenvalues far below σ₁ (≲ 1e-6·σ₁², the float32 noise floor of M = ΔW·C·ΔWᵀ) are
//     not resolved: tails of the error curves near full rank are noise, not signal;
//   • subspace iteration's stopping test scales with `precision` (Ritz values jitter at the
//     float32 level, so a float64-sized tolerance would never settle), and for blocks with
//     d ≥ 1024 rows its block products (Qᵀ·Z, Z·V, Cholesky-QR Grams and X·R⁻¹) run here too,
//     in float32 — see randomized.ts for why that keeps the 1e-4 accuracy.
// Use float64Products for tests of exactness and for small layers (where JS is fast anyway).
import type { Matrix } from '../linalg/matrix.js';
import { matmulF32 } from '../onnx/matmul.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { symmetricEnergy } from '../onnx/symmetric-energy.js';
import type { ProductOptions, Products } from './products.js';

export function ortProducts(cache: SessionCache): Products {
  // float32 copies of reused operators (reuseA), keyed by their float64 storage: converting a
  // 4096² ΔW costs ~30 ms, as much as a [4096, 4096]·[4096, 32] product, and happened twice per
  // subspace iteration. Weak keys: a copy lives exactly as long as the caller's matrix.
  const resident = new WeakMap<Float64Array, Float32Array>();
  // appendOnly operands: one float32 copy per underlying buffer, converted up to `converted`.
  const grown = new WeakMap<ArrayBufferLike, { copy: Float32Array; converted: number }>();
  const float32OfPrefix = (data: Float64Array) => {
    let entry = grown.get(data.buffer);
    if (!entry) grown.set(data.buffer, (entry = { copy: new Float32Array(data.buffer.byteLength / 8), converted: 0 }));
    if (data.length > entry.converted) {
      entry.copy.set(data.subarray(entry.converted), entry.converted);
      entry.converted = data.length;
    }
    return entry.copy.subarray(0, data.length);
  };
  const float32Of = (a: Matrix, reuse: boolean, appendOnly = false) => {
    if (appendOnly && a.data.byteOffset === 0) return float32OfPrefix(a.data);
    if (!reuse) return Float32Array.from(a.data);
    let copy = resident.get(a.data);
    if (!copy) resident.set(a.data, (copy = Float32Array.from(a.data)));
    return copy;
  };
  return {
    name: `onnxruntime-float32 (${cache.device})`,
    precision: 2 ** -24,
    async matmul(a: Matrix, b: Matrix, options: ProductOptions = {}): Promise<Matrix> {
      const transA = options.transA === true;
      const [m, k] = transA ? [a.cols, a.rows] : [a.rows, a.cols];
      if (k !== b.rows) throw new RangeError(`matmul: [${a.rows}, ${a.cols}]${transA ? 'ᵀ' : ''} · [${b.rows}, ${b.cols}]`);
      const c = await matmulF32(cache, float32Of(a, options.reuseA === true, options.appendOnly === true), [a.rows, a.cols], Float32Array.from(b.data), [b.rows, b.cols], { transA });
      return { rows: m, cols: b.cols, data: Float64Array.from(c) };
    },
    adopt(a: Matrix, rounded: Float32Array): void {
      if (rounded.length !== a.data.length) throw new RangeError(`adopt: ${rounded.length} floats for a [${a.rows}, ${a.cols}] matrix`);
      resident.set(a.data, rounded);
    },
    async outputEnergy(A: Matrix, C: Matrix, options: ProductOptions = {}): Promise<number> {
      const [m, k] = [A.rows, A.cols];
      if (C.rows !== k || C.cols !== k) throw new RangeError(`outputEnergy: A [${m}, ${k}], C [${C.rows}, ${C.cols}]`);
      if (m === 0 || k === 0) return 0;
      return symmetricEnergy(cache, options.reuseA === true ? float32Of(A, true) : A.data, float32Of(C, true), m, k);
    },
  };
}

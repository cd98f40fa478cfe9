// The randomized path's promise, checked against exact float64 optima computed independently
// (reference.ts: eigen of C, one-sided Jacobi SVD of ΔW·Q·Λ^½): at every rank r ≤ r_max the
// adapter's output error tr((ΔW − B·A)·C·(ΔW − B·A)ᵀ) is within 0.1 % of the optimum
// tr(M) − Σ_{i≤r} sᵢ², and never below it; each σᵢ within the precision it states (≤ 1e-3).
// Shapes: out < in, out > in, r_max = min(out, in); C rank-deficient (fewer tokens than
// inputs) and C with a condition number far beyond 1e16 (channel scales over twelve decades).
import { describe, expect, it } from 'vitest';
import { matmul, subtract, zeros } from '../linalg/matrix.js';
import { symmetricEigen } from '../linalg/eigen.js';
import { adapterProduct } from './adapter.js';
import { decomposeLayer } from './decomposition.js';
import { float64Products, outputEnergy } from './products.js';
import { randomLayer, type RandomLayer } from './random-layer.js';
import { jacobiSvd } from './reference.js';

/** [min(out, in)] s², the squared singular values of ΔW·Q·Λ^½ (λ < 0 from rounding → 0). */
function exactEoraSpectrum(layer: RandomLayer): Float64Array {
  const { values: lambda, vectors: Q } = symmetricEigen(layer.C);
  const n = layer.C.rows;
  const L = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) L.data[i * n + j] = Q.data[i * n + j] * Math.sqrt(Math.max(lambda[j], 0));
  return jacobiSvd(matmul(layer.dW, L)).s.map((s) => s * s);
}

const cases = [
  { name: 'out < in', spec: { out: 120, in: 200, tokens: 1000, seed: 31, errorDecay: 0.985 }, rMax: 40 },
  { name: 'out > in', spec: { out: 200, in: 120, tokens: 1000, seed: 32, errorDecay: 0.985 }, rMax: 40 },
  { name: 'rank-deficient C (50 tokens, in = 160)', spec: { out: 140, in: 160, tokens: 50, seed: 33 }, rMax: 64 },
  { name: 'C with condition number ≫ 1e16', spec: { out: 128, in: 160, tokens: 600, seed: 34, channelSpread: 4 }, rMax: 40 },
  { name: 'r_max = min(out, in), out > in', spec: { out: 96, in: 64, tokens: 300, seed: 35, errorDecay: 0.97 }, rMax: 64 },
  { name: 'r_max = min(out, in), out < in', spec: { out: 64, in: 96, tokens: 300, seed: 36, errorDecay: 0.97 }, rMax: 64 },
] as const;

describe('randomized EoRA: output error within 0.1 % of the exact optimum at every rank', () => {
  for (const { name, spec, rMax } of cases)
    it(name, async () => {
      const layer = randomLayer(spec);
      const d = await decomposeLayer(layer, { rMax, path: 'randomized', methods: ['eora'] });
      const eora = d.methods.eora!;
      const s2 = exactEoraSpectrum(layer);
      const traceM = s2.reduce((a, v) => a + v, 0);
      expect(Math.abs(d.energies.errorOutput - traceM)).toBeLessThan(1e-10 * traceM);
      let optimum = traceM;
      for (let r = 0; r <= rMax; r++) {
        if (r > 0) optimum = Math.max(optimum - s2[r - 1], 0);
        const ours = eora.curves.output[r] * d.energies.output;
        const rounding = 1e-11 * traceM; // the float64 subtraction tr(M) − Σ at full rank
        expect(ours, `r = ${r}`).toBeLessThanOrEqual(optimum * (1 + 1e-3) + rounding);
        expect(ours, `r = ${r}`).toBeGreaterThanOrEqual(optimum * (1 - 1e-9) - rounding);
      }
      // σᵢ as stated, where they carry signal (the drop rule zeroes the null space of M).
      expect(eora.precision).toBeLessThanOrEqual(1e-3);
      for (let i = 0; i < rMax; i++) if (s2[i] > 1e-10 * s2[0]) expect(Math.abs(eora.basis.sigma2[i] / s2[i] - 1), `σ²_${i}`).toBeLessThan(Math.max(eora.precision, 1e-9));
      // The curve is the adapter's actual output error (B·A applied, not a formula).
      const r = Math.floor(rMax / 2);
      const actual = await outputEnergy(float64Products, subtract(layer.dW, adapterProduct(d.adapterAt('eora', r))), layer.C);
      expect(Math.abs(actual - eora.curves.output[r] * d.energies.output)).toBeLessThan(1e-9 * traceM);
    });
});

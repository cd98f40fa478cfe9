// EoRA against its published construction, and the properties that make the three methods
// comparable. References are computed independently (reference.ts): a one-sided Jacobi SVD
// (no Gram, no squaring), the published factors, and the output error formed as tr(R·C·Rᵀ).
import { describe, expect, it } from 'vitest';
import { maxRelativeError, subtract, type Matrix } from '../linalg/matrix.js';
import { adapterAt, adapterProduct } from './adapter.js';
import { decomposeLayer, type LayerDecomposition } from './decomposition.js';
import { DROP } from './basis.js';
import { eoraBasis } from './eora.js';
import { float64Products, outputEnergy } from './products.js';
import { randomLayer, type RandomLayer } from './random-layer.js';
import { jacobiSvd, publishedEora } from './reference.js';

/** tr(R·C·Rᵀ)/tr(W·C·Wᵀ) with R = ΔW − B·A, formed directly. */
async function directOutputError(layer: RandomLayer, BA: Matrix): Promise<number> {
  return (await outputEnergy(float64Products, subtract(layer.dW, BA), layer.C)) / (await outputEnergy(float64Products, layer.W, layer.C));
}

const shapes = [
  { out: 128, in: 384 }, // out-space path
  { out: 384, in: 128 }, // in-space path
];

describe('EoRA equals the published construction', () => {
  for (const { out, in: inDim } of shapes) {
    it(`[${out}, ${inDim}]: same B·A within 1e-6, and the same B and A up to signs`, async () => {
      const layer = randomLayer({ out, in: inDim, tokens: 3 * inDim, seed: out + inDim, errorDecay: 0.99 });
      const basis = await eoraBasis(layer.dW, layer.C, { rMax: 96 });
      const published = publishedEora(layer.dW, layer.C);
      for (const r of [1, 8, 32, 96]) {
        const ref = published(r);
        const ours = adapterAt(basis, r, 'B');
        expect(maxRelativeError(adapterProduct(ours).data, ref.BA.data)).toBeLessThan(1e-6);
        // Factors agree column by column once each singular pair's sign is aligned.
        for (let j = 0; j < r; j++) {
          const sign = Math.sign(dot(column(ours.B, j), column(ref.B, j)));
          expect(maxRelativeError(column(ours.B, j).map((v) => v * sign), column(ref.B, j))).toBeLessThan(1e-6);
          expect(maxRelativeError(row(ours.A, j).map((v) => v * sign), row(ref.A, j))).toBeLessThan(1e-6);
        }
      }
    });
  }
});

const column = (m: Matrix, j: number) => Array.from({ length: m.rows }, (_, i) => m.data[i * m.cols + j]);
const row = (m: Matrix, i: number) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols));
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

const curveCases = [
  { out: 128, in: 384, tokens: 1024, seed: 1, errorDecay: 1 },
  { out: 384, in: 128, tokens: 512, seed: 2, errorDecay: 0.97 },
  { out: 96, in: 96, tokens: 300, seed: 3, errorDecay: 0.9, channelSpread: 2 },
];
const fixtures: { spec: (typeof curveCases)[number]; layer: RandomLayer; d: LayerDecomposition }[] = [];
for (const spec of curveCases) {
  const layer = randomLayer(spec);
  fixtures.push({ spec, layer, d: await decomposeLayer(layer) });
}

describe('error curves on random layers', () => {
  for (const { spec, layer, d } of fixtures) {
    const full = Math.min(spec.out, spec.in);
    const eora = d.methods.eora!;
    const svd = d.methods.svd!;
    const scaled = d.methods['scaled-svd']!;
    const name = `[${spec.out}, ${spec.in}]`;

    it(`${name}: EoRA's output error ≤ scaled SVD's and ≤ SVD's at every rank`, () => {
      for (let r = 0; r <= d.rMax; r++) {
        expect(eora.curves.output[r]).toBeLessThanOrEqual(svd.curves.output[r] + 1e-12);
        expect(eora.curves.output[r]).toBeLessThanOrEqual(scaled.curves.output[r] + 1e-12);
      }
      // Strictly better where it matters: halfway, EoRA leaves clearly less than SVD.
      expect(eora.curves.output[full >> 1]).toBeLessThan(0.9 * svd.curves.output[full >> 1]);
    });

    it(`${name}: curves equal the predicted tr(M) − Σσᵢ² and the directly formed error`, async () => {
      expect(maxRelativeError(eora.curves.output, eora.predictedOutput!)).toBeLessThan(1e-10);
      for (const r of [1, 5, full >> 2, full >> 1]) {
        for (const method of ['eora', 'svd', 'scaled-svd'] as const) {
          const BA = adapterProduct(d.adapterAt(method, r));
          const direct = await directOutputError(layer, BA);
          expect(Math.abs(direct - d.methods[method]!.curves.output[r])).toBeLessThan(1e-10 * d.methods[method]!.curves.output[0]);
        }
      }
    });

    it(`${name}: err(r) is non-increasing and ≈ 0 at full rank`, () => {
      for (const m of [eora, svd, scaled]) {
        for (let r = 1; r <= d.rMax; r++) expect(m.curves.output[r]).toBeLessThanOrEqual(m.curves.output[r - 1] + 1e-15);
        // Directions with σᵢ² ≤ DROP·σ₁² are dropped (basis.ts); each leaves at most that much.
        expect(m.curves.output[full]).toBeLessThan((full * DROP + 1e-13) * m.curves.output[0]);
      }
      // Frobenius → 0 holds for SVD only: a weighted method drops directions the weight makes
      // negligible (here σᵢ² spans more than 12 decades), and their Frobenius part stays.
      expect(svd.curves.frobenius[full]).toBeLessThan(1e-12 * svd.curves.frobenius[0]);
    });

    it(`${name}: SVD's Frobenius error ≤ EoRA's and equals ΔW's spectral tail Σ_{i>r} sᵢ²`, () => {
      const { s } = jacobiSvd(layer.dW);
      const tail = (r: number) => s.slice(r).reduce((a, v) => a + v * v, 0);
      for (let r = 0; r <= d.rMax; r++) {
        expect(svd.curves.frobenius[r]).toBeLessThanOrEqual(eora.curves.frobenius[r] + 1e-12);
        expect(Math.abs(svd.curves.frobenius[r] * d.energies.weight - tail(r))).toBeLessThan(1e-10 * tail(0));
      }
      expect(maxRelativeError(svd.singularValues, s.slice(0, d.rMax))).toBeLessThan(1e-10);
    });
  }
});

// The decomposition's guards and options: rank-deficient C, dead channels, the Σ split.
import { describe, expect, it } from 'vitest';
import { gram, identity, matmul, maxRelativeError, subtract, transpose, type Matrix } from '../linalg/matrix.js';
import { adapterProduct, type SigmaSplit } from './adapter.js';
import { allMethods, decomposeLayer, type LayerDecomposition, type LayerInput } from './decomposition.js';
import { float64Products, outputEnergy, type Products } from './products.js';
import { randomLayer, type RandomLayer } from './random-layer.js';
import { publishedEora } from './reference.js';

const outputError = async (layer: LayerInput, BA: Matrix) =>
  (await outputEnergy(float64Products, subtract(subtract(layer.W, layer.Wc), BA), layer.C)) / (await outputEnergy(float64Products, layer.W, layer.C));
const frobeniusError = (layer: RandomLayer, BA: Matrix) => subtract(layer.dW, BA).data.reduce((s, v) => s + v * v, 0);
const finite = (values: ArrayLike<number>) => Array.from(values).every(Number.isFinite);

const tokens = 40;
const deficient: { out: number; inDim: number; layer: RandomLayer; d: LayerDecomposition }[] = [];
for (const [out, inDim] of [
  [96, 160], // out-space
  [160, 96], // in-space: L = Q·Λ^½ with in − 40 zero eigenvalues
]) {
  const layer = randomLayer({ out, in: inDim, tokens, seed: 7 + out, errorDecay: 0.97 });
  deficient.push({ out, inDim, layer, d: await decomposeLayer(layer) });
}

describe('rank-deficient C (fewer tokens than inputs)', () => {
  for (const { out, inDim, layer, d } of deficient) {
    const eora = d.methods.eora!;

    it(`[${out}, ${inDim}]: no NaN in spectra, curves or adapters of any split`, () => {
      expect(d.covariance.values[tokens]).toBeLessThan(1e-10 * d.covariance.values[0]); // C has rank 40
      for (const method of allMethods) {
        const m = d.methods[method]!;
        expect(finite(m.singularValues) && finite(m.curves.output) && finite(m.curves.frobenius)).toBe(true);
        for (const split of ['B', 'A', 'sqrt'] as const) {
          const { B, A } = d.adapterAt(method, d.rMax, split);
          expect(finite(B.data) && finite(A.data)).toBe(true);
        }
      }
    });

    it(`[${out}, ${inDim}]: EoRA still ≤ SVD and scaled SVD, and reaches 0 at rank = tokens`, () => {
      for (let r = 0; r <= d.rMax; r++) {
        expect(eora.curves.output[r]).toBeLessThanOrEqual(d.methods.svd!.curves.output[r] + 1e-12);
        expect(eora.curves.output[r]).toBeLessThanOrEqual(d.methods['scaled-svd']!.curves.output[r] + 1e-12);
      }
      // M = ΔW·C·ΔWᵀ has rank ≤ 40: forty directions explain every calibration output.
      expect(eora.curves.output[tokens]).toBeLessThan(1e-10 * eora.curves.output[0]);
      expect(eora.basis.sigma2.filter((s) => s > 0).length).toBeLessThanOrEqual(tokens);
    });

    it(`[${out}, ${inDim}]: same output error as the guarded published construction, no larger Frobenius error`, async () => {
      const lambdaMax = d.covariance.values[0];
      const published = publishedEora(layer.dW, layer.C, 1e-10 * lambdaMax); // Λ^-½ → 0 on the null space
      for (const r of [5, 20, tokens]) {
        const ours = adapterProduct(d.adapterAt('eora', r));
        const ref = published(r).BA;
        expect(Math.abs((await outputError(layer, ours)) - (await outputError(layer, ref)))).toBeLessThan(1e-9 * eora.curves.output[0]);
        // ‖ΔW − P_U·ΔW‖² = ‖ΔW‖² − ‖U_rᵀ·ΔW‖² ≤ ‖ΔW‖² − ‖U_rᵀ·ΔW·P_C‖²: never larger.
        expect(frobeniusError(layer, ours)).toBeLessThan(frobeniusError(layer, ref) * (1 + 1e-12));
      }
    });
  }

  it('a dead input channel (C_jj = 0) leaves scaled SVD finite and exact', async () => {
    const layer = randomLayer({ out: 64, in: 80, tokens: 200, seed: 11 });
    for (let t = 0; t < 200; t++) layer.X.data[t * 80 + 3] = 0;
    const dead = { ...layer, C: gram(layer.X) };
    const d = await decomposeLayer(dead);
    const scaled = d.methods['scaled-svd']!;
    expect(finite(scaled.curves.output) && finite(d.adapterAt('scaled-svd', 30).A.data)).toBe(true);
    expect(Math.abs((await outputError(dead, adapterProduct(d.adapterAt('scaled-svd', 30)))) - scaled.curves.output[30])).toBeLessThan(1e-12);
  });
});

const splitLayer = randomLayer({ out: 72, in: 120, tokens: 400, seed: 5, errorDecay: 0.95 });
const split = await decomposeLayer(splitLayer, { rMax: 40 });

describe('Σ split', () => {
  const [layer, d, r] = [splitLayer, split, 24];

  for (const method of allMethods)
    it(`${method}: 'B', 'A' and 'sqrt' give the same B·A`, () => {
      const products = (['B', 'A', 'sqrt'] as SigmaSplit[]).map((split) => adapterProduct(d.adapterAt(method, r, split)));
      expect(maxRelativeError(products[1].data, products[0].data)).toBeLessThan(1e-12);
      expect(maxRelativeError(products[2].data, products[0].data)).toBeLessThan(1e-12);
    });

  it("'A' makes B orthonormal; EoRA's 'B' makes A·C·Aᵀ = I (the published A = V_rᵀ·Λ^-½·Qᵀ)", () => {
    const { B } = d.adapterAt('eora', r, 'A');
    expect(maxRelativeError(matmul(transpose(B), B).data, identity(r).data)).toBeLessThan(1e-12);
    const { A } = d.adapterAt('eora', r, 'B');
    expect(maxRelativeError(matmul(matmul(A, layer.C), transpose(A)).data, identity(r).data)).toBeLessThan(1e-9);
  });

  it("'sqrt' balances the factors: ‖bⱼ‖² = σⱼ = aⱼᵀ·C·aⱼ for EoRA", () => {
    const { B, A } = d.adapterAt('eora', r, 'sqrt');
    const sigma = d.methods.eora!.singularValues;
    const ACAt = matmul(matmul(A, layer.C), transpose(A));
    for (let j = 0; j < r; j++) {
      let b = 0;
      for (let i = 0; i < B.rows; i++) b += B.data[i * r + j] ** 2;
      expect(Math.abs(b - sigma[j])).toBeLessThan(1e-12 * sigma[0]); // B = U_r·Σ^½
      expect(Math.abs(ACAt.data[j * r + j] - sigma[j])).toBeLessThan(1e-9 * sigma[0]); // A = Σ^-½·U_rᵀ·ΔW
    }
  });

  it('adapterAt rejects ranks outside [0, rMax] and methods not computed', async () => {
    expect(() => d.adapterAt('eora', 41)).toThrow(/rank 41/);
    const only = await decomposeLayer(layer, { rMax: 8, methods: ['svd'] });
    expect(() => only.adapterAt('eora', 2)).toThrow(/not computed/);
    expect(only.adapterAt('svd', 0).B.cols).toBe(0);
  });
});

describe('traces given by the caller (compress measured them)', () => {
  const layer = randomLayer({ out: 48, in: 64, tokens: 100, seed: 31, errorDecay: 0.9 });

  it('are used as the energies, skip their products, and leave adapters and curves as computed ones do', async () => {
    const computed = await decomposeLayer(layer, { rMax: 16 });
    const traces = { output: computed.energies.output, errorOutput: computed.energies.errorOutput };
    let energyCalls = 0;
    const counting: Products = { ...float64Products, outputEnergy: (A, C) => (energyCalls++, outputEnergy(float64Products, A, C)) };
    await decomposeLayer(layer, { rMax: 16, products: counting });
    expect(energyCalls).toBe(2); // the control: without traces, both energies go through `products`
    energyCalls = 0;
    const given = await decomposeLayer(layer, { rMax: 16, traces, products: counting });
    expect(energyCalls).toBe(0);
    expect(given.energies).toEqual(computed.energies);
    for (const method of allMethods) {
      expect(Array.from(given.methods[method]!.curves.output)).toEqual(Array.from(computed.methods[method]!.curves.output));
      expect(maxRelativeError(adapterProduct(given.adapterAt(method, 16)).data, adapterProduct(computed.adapterAt(method, 16)).data)).toBe(0);
    }
    // A wrong trace shows in the curves (they are normalized by it): the option is really read.
    const scaled = await decomposeLayer(layer, { rMax: 16, traces: { ...traces, output: 2 * traces.output } });
    expect(scaled.methods.eora!.curves.output[0]).toBeCloseTo(computed.methods.eora!.curves.output[0] / 2, 12);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { gemm } from '../linalg/gemm.js';
import { maxRelativeError, transpose, type Matrix } from '../linalg/matrix.js';
import { rng } from '../linalg/random.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { decomposeLayer } from './decomposition.js';
import { ortProducts } from './ort-products.js';
import { float64Products, outputEnergy } from './products.js';
import { randomLayer } from './random-layer.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());
const products = ortProducts(cache);

const gaussian = (rows: number, cols: number, seed: number): Matrix => {
  const r = rng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, r.normal) };
};

const relative = (got: ArrayLike<number>, want: ArrayLike<number>, count: number) => {
  let worst = 0;
  for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return worst;
};

const transposed = (a: Matrix) => Float64Array.from({ length: a.data.length }, (_, i) => a.data[(i % a.rows) * a.cols + Math.floor(i / a.rows)]);

describe('ortProducts', () => {
  it('matches the float64 product to float32 accuracy', async () => {
    const a = gaussian(45, 300, 1);
    const b = gaussian(300, 29, 2);
    const c = await products.matmul(a, b);
    expect([c.rows, c.cols]).toEqual([45, 29]);
    expect(maxRelativeError(c.data, gemm(a, b).data)).toBeLessThan(1e-5);
  });

  it('appendOnly: a growing prefix view converts only its new rows and gives the same products', async () => {
    const buffer = new Float64Array(6 * 40);
    const source = gaussian(6, 40, 5);
    const b = gaussian(40, 3, 6);
    for (const rows of [2, 4, 6]) {
      buffer.set(source.data.subarray(0, rows * 40)); // rows appended; earlier ones unchanged
      const view = { rows, cols: 40, data: buffer.subarray(0, rows * 40) };
      const got = await products.matmul(view, b, { appendOnly: true });
      expect(maxRelativeError(got.data, gemm(view, b).data), `${rows} rows`).toBeLessThan(1e-5);
      const y = gaussian(rows, 2, rows);
      const back = await products.matmul(view, y, { transA: true, appendOnly: true }); // [40, 2] = viewᵀ·y
      expect(maxRelativeError(back.data, gemm(transpose(view), y).data), `${rows} rows, transposed`).toBeLessThan(1e-5);
    }
  });

  it("adopt: the caller's float32 C is the one the products read (and the decomposition takes C32 as that)", async () => {
    const a = gaussian(64, 64, 11);
    const b = gaussian(64, 3, 12);
    const own = ortProducts(cache);
    const rounded = Float32Array.from(a.data);
    own.adopt!(a, rounded);
    const first = await own.matmul(a, b, { reuseA: true });
    expect(first.data).toEqual((await products.matmul(a, b, { reuseA: true })).data); // the same rounding: the same product
    rounded.fill(0); // the control: the adopted array is really what is read
    expect((await own.matmul(a, b, { reuseA: true })).data.every((v) => v === 0)).toBe(true);
    expect(() => own.adopt!(a, new Float32Array(3))).toThrow('adopt: 3 floats');

    const layer = randomLayer({ out: 64, in: 1100, tokens: 1200, seed: 4, errorDecay: 0.95 });
    const options = { rMax: 8, methods: ['eora'] as const };
    const plain = await decomposeLayer(layer, { ...options, products: ortProducts(cache) });
    const given = await decomposeLayer({ ...layer, C32: Float32Array.from(layer.C.data) }, { ...options, products: ortProducts(cache) });
    expect(given.path).toBe('randomized');
    expect(Array.from(given.methods.eora!.curves.output)).toEqual(Array.from(plain.methods.eora!.curves.output));
    await expect(decomposeLayer({ ...layer, C32: new Float32Array(5) }, { ...options, products: ortProducts(cache) })).rejects.toThrow('C32 has 5 floats');
  });

  it('outputEnergy: tr(A·C·Aᵀ) reduced in onnxruntime equals the float64 ⟨A·C, A⟩ to float32 accuracy', async () => {
    const A = gaussian(70, 300, 3);
    const X = gaussian(500, 300, 4);
    const C = gemm({ rows: 300, cols: 500, data: transposed(X) }, X); // XᵀX: PSD
    const want = await outputEnergy(float64Products, A, C);
    expect(want).toBeGreaterThan(0);
    expect(Math.abs((await outputEnergy(products, A, C)) / want - 1)).toBeLessThan(1e-5);
    expect(await outputEnergy(products, { rows: 0, cols: 300, data: new Float64Array(0) }, C)).toBe(0);
  });

  it('decomposeLayer [256, 384]: top spectra agree with float64Products within their stated precision, curves within 0.1 %', async () => {
    const layer = randomLayer({ out: 256, in: 384, tokens: 1024, seed: 11, errorDecay: 0.98 });
    // 'randomized-blocks': the subspace iteration's block products (Qᵀ·Z, Z·V, Cholesky-QR
    // Grams and R⁻¹) in float32 too, as they are from d = 1024 on.
    for (const variant of ['dense', 'randomized', 'randomized-blocks'] as const) {
      const path = variant === 'dense' ? 'dense' : 'randomized';
      const options = { rMax: 64, path, cTop: 32, randomized: variant === 'randomized-blocks' ? { blockProductsFrom: 1 } : undefined } as const;
      const want = await decomposeLayer(layer, { ...options, products: float64Products });
      const got = await decomposeLayer(layer, { ...options, products });
      // Each side is as precise as it states (randomized: ≤ 1e-3); float32 adds ~1e-5.
      const float32 = 1e-4;
      expect(relative(got.covariance.values, want.covariance.values, 32), `${variant}: C`).toBeLessThan(got.covariance.precision + want.covariance.precision + float32);
      for (const method of ['svd', 'scaled-svd', 'eora'] as const) {
        const [g, w] = [got.methods[method]!, want.methods[method]!];
        const top = 32;
        expect(relative(g.singularValues, w.singularValues, top), `${variant}: ${method}`).toBeLessThan(g.precision + w.precision + float32);
        // Error curves at ranks well above the float32 noise floor: each within 0.1 % of the
        // optimum for its own objective (EoRA, scaled SVD: output), first-order for SVD's.
        const bound = method === 'svd' ? 1e-2 : 2e-3 + float32;
        expect(relative(g.curves.output, w.curves.output, top), `${variant}: ${method} curve`).toBeLessThan(bound);
      }
    }
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { matmulF32 } from '../onnx/matmul.js';
import { DeviceError } from '../onnx/runtime.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { gptqSteps, gptqWithHessian } from './gptq.js';
import { prepareHessian } from './hessian.js';
import { prepareHessianOrt } from './ort-factor.js';
import { STAGE_COLUMNS, runSweepOrt } from './ort-sweep.js';
import { sparsegptSteps, sparsegptWithHessian } from './sparsegpt.js';
import { sameFloats, correlatedMoment, randomLayer } from './testing/layers.js';

const cache = new SessionCache('cpu');
afterAll(() => cache.release());

const n = 384;
const moment = correlatedMoment(n, 11, { tokens: 2 * n, dead: [5] });

function fractionEqual(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) same += +(a[i] === b[i]);
  return same / a.length;
}

describe('runSweepOrt: lazy block updates as onnxruntime Gemms', () => {
  for (const actOrder of [false, true]) {
    it(`GPTQ w3g64${actOrder ? ' act-order' : ''}, blocks of 128 and 100: codes equal the JS sweep's but for rounding-boundary ties`, async () => {
      const layer = randomLayer(80, n, 3);
      const prepared = prepareHessian(moment, n, { actOrder });
      for (const blockSize of [128, 100]) {
        const options = { bits: 3, groupSize: 64, sym: false, actOrder, blockSize };
        const js = gptqWithHessian(layer, prepared, options);
        const ort = await runSweepOrt(cache, gptqSteps(layer, prepared, options), 0);
        expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.999);
        expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
      }
    });
  }

  it(`GPTQ w4g128 act-order over ${STAGE_COLUMNS * 2 + 128} columns: blocks from several ${STAGE_COLUMNS}-column stages agree with the JS sweep`, async () => {
    const wide = STAGE_COLUMNS * 2 + 128;
    const layer = randomLayer(24, wide, 8);
    const prepared = prepareHessian(correlatedMoment(wide, 12, { tokens: wide + 64 }), wide, { actOrder: true });
    const options = { bits: 4, groupSize: 128, sym: false, actOrder: true };
    const js = gptqWithHessian(layer, prepared, options);
    const ort = await runSweepOrt(cache, gptqSteps(layer, prepared, options));
    expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.999);
    expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
  });

  it(`GPTQ w4g96 act-order over ${STAGE_COLUMNS * 2 + 64} columns: a group's lookahead crosses a stage's end (the next stage starts on rows already staged) and codes agree with the JS sweep`, async () => {
    const wide = STAGE_COLUMNS * 2 + 64; // 22 groups of 96; the stage from column 896 is overtaken at 1792
    const layer = randomLayer(16, wide, 13);
    const prepared = prepareHessian(correlatedMoment(wide, 14, { tokens: wide + 64 }), wide, { actOrder: true });
    const options = { bits: 4, groupSize: 96, sym: false, actOrder: true };
    const js = gptqWithHessian(layer, prepared, options);
    for (const maxHistoryFloats of [undefined, 0]) {
      const ort = await runSweepOrt(cache, gptqSteps(layer, prepared, options), undefined, undefined, maxHistoryFloats);
      expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.999);
      expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
    }
  });

  it('GPTQ act-order with static groups (a grid per column) and per-channel sym, odd row count: codes and W_c agree with the JS sweep', async () => {
    const layer = randomLayer(37, n, 9);
    const prepared = prepareHessian(moment, n, { actOrder: true });
    for (const options of [
      { bits: 4, groupSize: 32, sym: false, actOrder: true, staticGroups: true },
      { bits: 3, groupSize: -1, sym: true, actOrder: true },
    ]) {
      const js = gptqWithHessian(layer, prepared, options);
      const ort = await runSweepOrt(cache, gptqSteps(layer, prepared, options), 0);
      expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.999);
      expect(fractionEqual(ort.wc, js.wc)).toBeGreaterThan(0.999);
      expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
    }
  });

  it('SparseGPT 2:4 + w4: identical mask, loss within 1e-4', async () => {
    const layer = randomLayer(64, n, 4);
    const prepared = prepareHessian(moment, n, {});
    const options = { sparsity: { kind: 'nm', n: 2, m: 4 } as const, quant: { bits: 4, groupSize: 128, sym: true } };
    const js = sparsegptWithHessian(layer, prepared, options);
    const ort = await runSweepOrt(cache, sparsegptSteps(layer, prepared, options), 0);
    expect(fractionEqual(ort.mask, js.mask)).toBeGreaterThan(0.999);
    expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
  });

  it('SparseGPT 50 % + w3g48 in blocks of 100 (groups crossing block ends): identical mask, loss within 1e-4', async () => {
    const layer = randomLayer(64, n, 7);
    const prepared = prepareHessian(moment, n, {});
    const options = { sparsity: { kind: 'unstructured', p: 0.5 } as const, quant: { bits: 3, groupSize: 48, sym: false }, blockSize: 100 };
    const js = sparsegptWithHessian(layer, prepared, options);
    const ort = await runSweepOrt(cache, sparsegptSteps(layer, prepared, options), 0);
    expect(fractionEqual(ort.mask, js.mask)).toBeGreaterThan(0.999);
    expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.999);
    expect(Math.abs(ort.loss - js.loss) / js.loss).toBeLessThan(1e-4);
  });

  it('E kept in the sweep\'s workspace or copied row by row into the driver\'s own: the same codes, W_c, mask and loss, bit for bit', async () => {
    const layer = randomLayer(40, n, 10);
    const prepared = prepareHessian(moment, n, { actOrder: true });
    const gptqOptions = { bits: 3, groupSize: 64, sym: false, actOrder: true, blockSize: 100 };
    const kept = await runSweepOrt(cache, gptqSteps(layer, prepared, gptqOptions), 0);
    const copied = await runSweepOrt(cache, gptqSteps(layer, prepared, gptqOptions), 0, undefined, 0);
    expect(Array.from(copied.quant!.codes)).toEqual(Array.from(kept.quant!.codes));
    expect(sameFloats(copied.wc, kept.wc)).toBe(true);
    expect(copied.loss).toBe(kept.loss);
    const plain = prepareHessian(moment, n, {});
    const sparseOptions = { sparsity: { kind: 'unstructured', p: 0.5 } as const, quant: { bits: 3, groupSize: 48, sym: false }, blockSize: 100 };
    const sparseKept = await runSweepOrt(cache, sparsegptSteps(layer, plain, sparseOptions), 0);
    const sparseCopied = await runSweepOrt(cache, sparsegptSteps(layer, plain, sparseOptions), 0, undefined, 0);
    expect(Array.from(sparseCopied.mask)).toEqual(Array.from(sparseKept.mask));
    expect(sameFloats(sparseCopied.wc, sparseKept.wc)).toBe(true);
    expect(sparseCopied.loss).toBe(sparseKept.loss);
  });

  it('on a GPU device a 128-column layer factors and sweeps there too: DeviceError when it cannot start, never a silent CPU run', async () => {
    const gpu = new SessionCache('webgpu');
    try {
      const started = await matmulF32(gpu, new Float32Array(4), [2, 2], new Float32Array(4), [2, 2]).then(
        () => true,
        (error: unknown) => (expect(error).toBeInstanceOf(DeviceError), false),
      );
      const small = correlatedMoment(128, 3);
      const layer = randomLayer(16, 128, 6);
      const options = { bits: 4, groupSize: -1, sym: false };
      const factored = prepareHessianOrt(gpu, small, 128);
      if (!started) {
        await expect(factored).rejects.toThrow(DeviceError);
        await expect(runSweepOrt(gpu, gptqSteps(layer, prepareHessian(small, 128), options))).rejects.toThrow('device webgpu is not available');
        return;
      }
      const js = gptqWithHessian(layer, prepareHessian(small, 128), options);
      const ort = await runSweepOrt(gpu, gptqSteps(layer, await factored, options));
      expect(fractionEqual(ort.quant!.codes, js.quant!.codes)).toBeGreaterThan(0.99);
    } finally {
      await gpu.release();
    }
  });

  it('below minColumns it is the JS sweep, bit for bit', async () => {
    const layer = randomLayer(32, n, 5);
    const prepared = prepareHessian(moment, n, {});
    const options = { bits: 4, groupSize: 128, sym: false };
    const js = gptqWithHessian(layer, prepared, options);
    const ort = await runSweepOrt(cache, gptqSteps(layer, prepared, options));
    expect(sameFloats(ort.wc, js.wc)).toBe(true);
  });
});

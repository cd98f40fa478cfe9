import { describe, expect, it } from 'vitest';
import { GraphBuilder, int } from './builder.js';
import { DeviceError, floatTensor, listSupportedBackends, parseDevice, Session } from './runtime.js';
import { SessionCache } from './sessionCache.js';

/** y = (a + b) · 2 over [N] with a symbolic N; plus s = ReduceSum(y). */
function addGraph(): Uint8Array {
  const g = new GraphBuilder('add-twice');
  const a = g.input('a', 'float32', ['N']);
  const b = g.input('b', 'float32', ['N']);
  const y = g.op('Mul', [g.op('Add', [a, b]), g.constant('float32', [], [2], 'two')]);
  g.output(y, 'y', 'float32', ['N']);
  g.output(g.op('ReduceSum', [y], { keepdims: int(0) }), 's', 'float32', []);
  return g.build();
}

describe('GraphBuilder', () => {
  it('builds a model onnxruntime loads and runs', async () => {
    const session = await Session.create(addGraph(), 'add-twice', { device: 'cpu' });
    expect(session.inputNames).toEqual(['a', 'b']);
    expect(session.outputNames).toEqual(['y', 's']);
    const out = await session.run({ a: floatTensor(Float32Array.from([1, 2, 3]), [3]), b: floatTensor(Float32Array.from([10, 20, 30]), [3]) });
    expect([...(out.y.data as Float32Array)]).toEqual([22, 44, 66]);
    expect(out.s.data[0]).toBe(132);
    await session.release();
  });

  it('catches wiring mistakes while building', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [2]);
    expect(() => g.op('Relu', ['nope'])).toThrow('bad: Relu reads "nope", which is not defined yet');
    expect(() => g.input('x', 'float32', [2])).toThrow('the name "x" is used twice');
    expect(() => g.build()).toThrow('a graph needs at least one output');
    expect(() => g.constant('int64', [3], [1, 2], 'dims')).toThrow('constant dims: 2 values for dims [3]');
  });
});

describe('runtime', () => {
  it('maps device names and rejects unknown ones', () => {
    expect(parseDevice('cpu')).toBe('cpu');
    expect(() => parseDevice('tpu')).toThrow(new DeviceError('unknown device "tpu" (choose cpu, cuda, webgpu)'));
    expect(listSupportedBackends().find((b) => b.name === 'cpu')).toEqual({ name: 'cpu', bundled: true });
  });

  it('a device that cannot start is an error naming it, never a silent CPU fallback', async () => {
    for (const device of ['cuda', 'webgpu'] as const) {
      const created = await Session.create(addGraph(), 'add-twice', { device }).catch((error: Error) => error);
      if (created instanceof Session) {
        expect(created.device).toBe(device); // this machine has the provider
        await created.release();
      } else {
        expect(created).toBeInstanceOf(DeviceError);
        expect(created.message).toMatch(new RegExp(`^device ${device} is not available: .+\\. .*see README$`));
      }
    }
  });

  it('validates feeds against the graph inputs and describes a failed run', async () => {
    const session = await Session.create(addGraph(), 'add-twice', { device: 'cpu' });
    const a = floatTensor(Float32Array.from([1, 2]), [2]);
    await expect(session.run({ a })).rejects.toThrow('add-twice: missing the following inputs: b');
    await expect(session.run({ a, b: a, c: a })).rejects.toThrow('add-twice: unexpected inputs: c (the graph takes a, b)');
    const b = floatTensor(Float32Array.from([1, 2, 3]), [3]);
    await expect(session.run({ a, b })).rejects.toThrow(/add-twice: onnxruntime failed: .*\n {2}inputs: a: float32\[2\]; b: float32\[3\]/);
    expect(() => floatTensor(new Float32Array(5), [2, 3])).toThrow('a float32 tensor of dims [2, 3] needs 6 values, got 5');
    await session.release();
  });
});

describe('SessionCache', () => {
  it('builds each signature once, forgets failures, and refuses use after release', async () => {
    const cache = new SessionCache('cpu');
    let builds = 0;
    const build = () => (builds++, addGraph());
    const [s1, s2] = await Promise.all([cache.get('add', build), cache.get('add', build)]);
    expect(s1).toBe(s2);
    expect(builds).toBe(1);
    await expect(cache.get('broken', () => new Uint8Array([1, 2, 3]))).rejects.toThrow('cannot load the broken graph');
    expect(cache.size).toBe(1);
    await cache.release();
    expect(() => cache.get('add', build)).toThrow('SessionCache: used after release()');
  });
});

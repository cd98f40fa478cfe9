// The streamed forward's read-ahead (prefetch.ts, weight-store.ts): on checkpoints written to
// disk (BF16 and F32, sharded), a pass that reads blocks 1..L−1 and lm_head's chunks 1.. on
// the worker gives the resident runner's numbers, the same ones pass after pass, holds at
// most one block in use plus one being read, and reports a bad tensor or a cut file like the
// synchronous reader does. The worker is forced ('always') where it is under test; 'auto'
// reads ahead only after synchronous reads that waited (here: a reader that sleeps).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openModel } from '../model/open.js';
import { packageRoot } from '../paths.js';
import { writeRandomCheckpoint, type RandomShape } from '../model/random-checkpoint.js';
import { ModelError } from '../model/types.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { weightAccount } from './memory.js';
import { readsWaitOnDisk } from './prefetch.js';
import { ModelRunner } from './runner.js';

const shape: RandomShape = { architecture: 'LlamaForCausalLM', hidden: 64, intermediate: 160, layers: 5, heads: 4, kvHeads: 2, vocab: 2048, tied: false, bias: false, ropeTheta: 10000, maxPositions: 128 };
const d = shape.hidden;
const kv = (shape.kvHeads * d) / shape.heads;
const blockBytes = 4 * (2 * d + 2 * d * d + 2 * kv * d + 3 * shape.intermediate * d);
const root = mkdtempSync(join(tmpdir(), 'eora-prefetch-'));
const sessions = new SessionCache('cpu');
const defaults = { cacheBytes: weightAccount.cacheBytes, headChunkBytes: weightAccount.headChunkBytes, readAhead: weightAccount.readAhead };
afterEach(() => Object.assign(weightAccount, defaults));
afterAll(async () => {
  await sessions.release();
  rmSync(root, { recursive: true, force: true });
});

const tokens = Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 37 + 11) % 2048);
const targets = Int32Array.from(tokens, (_, i) => (i * 53 + 7) % 2048);
const dims = [2, 24] as const;

/** The NLLs of a runner that keeps the model resident (one read per tensor, one head chunk). */
async function resident(dir: string): Promise<Float32Array> {
  weightAccount.cacheBytes = 1 << 30;
  const model = await openModel(dir);
  const runner = await ModelRunner.create(model, { sessions });
  const nll = await runner.forwardNll(tokens, targets, dims);
  await runner.release();
  model.close();
  weightAccount.cacheBytes = defaults.cacheBytes;
  return nll;
}

describe('streamed forward with the next block read ahead on a worker', () => {
  for (const dtype of ['BF16', 'F32'] as const) {
    it(`gives the resident runner's NLL, reading only block 0 and lm_head's first chunk on the main thread (${dtype}, sharded)`, async () => {
      const dir = join(root, dtype);
      writeRandomCheckpoint(dir, shape, { dtype, shardBytes: 300_000, seed: 4 });
      const expected = await resident(dir);
      weightAccount.cacheBytes = 0;
      weightAccount.headChunkBytes = 4 * d * 300; // 2048 rows = 6 chunks of 300 + 248
      weightAccount.readAhead = 'always';
      const model = await openModel(dir);
      const mainThreadReads: string[] = [];
      const read = model.readTensor.bind(model);
      const readRows = model.readRows!.bind(model);
      model.readTensor = (name, into) => (mainThreadReads.push(name), read(name, into));
      model.readRows = (name, start, count, into) => (mainThreadReads.push(`${name}@${start}`), readRows(name, start, count, into));
      const runner = await ModelRunner.create(model, { sessions });
      weightAccount.resetPeak();
      let first: number[] = [];
      for (let pass = 0; pass < 2; pass++) {
        mainThreadReads.length = 0;
        const nll = Array.from(await runner.forwardNll(tokens, targets, dims));
        // The chunked head's running log-sum-exp rounds differently from the resident one-chunk head.
        for (let i = 0; i < nll.length; i++) expect(Math.abs(nll[i] - expected[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected[i])));
        if (pass === 0) first = nll;
        else expect(nll).toEqual(first); // recycled and read-ahead buffers: the same numbers again
        const blockReads = mainThreadReads.filter((n) => n.startsWith('model.layers.'));
        expect(new Set(blockReads.map((n) => n.split('.')[2]))).toEqual(new Set(['0']));
        expect(mainThreadReads.filter((n) => n.startsWith('lm_head.'))).toEqual(['lm_head.weight@0']); // chunks 1..6 read ahead
      }
      // One block in use and the next being read, or one block and two head chunks (one used, one read ahead), plus the norm and the embedding rows.
      expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeGreaterThan(blockBytes);
      expect(weightAccount.peak, JSON.stringify(weightAccount.peakHeld)).toBeLessThanOrEqual(2 * blockBytes + 4 * d * (1 + tokens.length));
      await runner.release();
      model.close();
      expect(weightAccount.resident).toBe(0);
    });
  }

  it('a NaN in a block read ahead is an error naming the tensor, as from the synchronous reader', async () => {
    const dir = join(root, 'nan');
    writeRandomCheckpoint(dir, shape, { dtype: 'BF16', seed: 5 });
    const name = 'model.layers.3.mlp.up_proj.weight';
    const probe = await openModel(dir);
    const at = probe.locate!(name)!;
    probe.close();
    const fd = openSync(at.file, 'r+');
    writeSync(fd, new Uint8Array([0xc0, 0x7f]), 0, 2, at.offset + 2 * 17); // element 17 = BF16 NaN
    closeSync(fd);
    weightAccount.cacheBytes = 0;
    weightAccount.readAhead = 'always';
    const model = await openModel(dir);
    const runner = await ModelRunner.create(model, { sessions });
    const error = await runner.forwardNll(tokens, targets, dims).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/model\.layers\.3\.mlp\.up_proj\.weight has 1 non-finite value/);
    await runner.release();
    model.close();
  });

  it('a file cut after opening is an error naming the file, not a hang or a silent fallback', async () => {
    const dir = join(root, 'cut');
    writeRandomCheckpoint(dir, shape, { dtype: 'BF16', seed: 6 });
    weightAccount.cacheBytes = 0;
    weightAccount.readAhead = 'always';
    const model = await openModel(dir);
    const runner = await ModelRunner.create(model, { sessions });
    const at = model.locate!('model.layers.2.self_attn.q_proj.weight')!;
    truncateSync(at.file, at.offset + 10);
    expect(statSync(at.file).size).toBe(at.offset + 10);
    const error = await runner.forwardNll(tokens, targets, dims).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toMatch(/reading block 2 ahead: .*model\.safetensors: tensor model\.layers\.2\.self_attn\.q_proj\.weight: unexpected end of file at byte \d+; the file may be truncated/);
    await runner.release();
    model.close();
  });

  /** Overwrites one element of `name` on disk with a NaN of the checkpoint's dtype. */
  function plantNaN(at: { file: string; offset: number; dtype: string }, element: number): void {
    const fd = openSync(at.file, 'r+');
    const bytes = at.dtype === 'BF16' ? new Uint8Array([0xc0, 0x7f]) : new Uint8Array([0, 0, 0xc0, 0x7f]);
    writeSync(fd, bytes, 0, bytes.length, at.offset + bytes.length * element);
    closeSync(fd);
  }

  it('a NaN that appears between passes is found in recycled arrays (F32, read on the main thread) and in a read-ahead lm_head chunk (BF16)', async () => {
    for (const [dtype, name] of [['F32', 'model.layers.0.self_attn.o_proj.weight'], ['BF16', 'lm_head.weight']] as const) {
      const dir = join(root, `late-nan-${dtype}`);
      writeRandomCheckpoint(dir, shape, { dtype, seed: 8 });
      weightAccount.cacheBytes = 0;
      weightAccount.headChunkBytes = 4 * d * 300;
      weightAccount.readAhead = 'always';
      const model = await openModel(dir);
      const runner = await ModelRunner.create(model, { sessions });
      await runner.forwardNll(tokens, targets, dims); // every array now carries a count of 0 from this pass
      await runner.forwardNll(tokens, targets, dims);
      plantNaN(model.locate!(name)!, name === 'lm_head.weight' ? 300 * d + 5 : 3); // lm_head: chunk 1, read ahead
      const error = await runner.forwardNll(tokens, targets, dims).catch((e: unknown) => e);
      expect(error, dtype).toBeInstanceOf(ModelError);
      expect((error as Error).message).toContain(`${name}${name === 'lm_head.weight' ? ' rows [300, 600)' : ''} has 1 non-finite value`);
      await runner.release();
      model.close();
    }
  });

  it('runs in a process started with flags a worker must not inherit (node --input-type=module -e …: the scale benchmark does this)', () => {
    const compiled = join(packageRoot(), 'out', 'app', 'forward', 'runner.js');
    expect(existsSync(compiled), 'build the engine first: npm run build:app').toBe(true);
    const dir = join(root, 'flags');
    writeRandomCheckpoint(dir, shape, { dtype: 'BF16', seed: 9 });
    const script = `
      const { weightAccount } = await import(${JSON.stringify(pathToFileURL(join(packageRoot(), 'out', 'app', 'forward', 'memory.js')).href)});
      const { ModelRunner } = await import(${JSON.stringify(pathToFileURL(compiled).href)});
      const { openModel } = await import(${JSON.stringify(pathToFileURL(join(packageRoot(), 'out', 'app', 'model', 'open.js')).href)});
      weightAccount.cacheBytes = 0;
      weightAccount.readAhead = 'always';
      const model = await openModel(${JSON.stringify(dir)});
      const runner = await ModelRunner.create(model);
      const reads = [];
      const read = model.readTensor.bind(model);
      model.readTensor = (name, into) => (reads.push(name), read(name, into));
      const tokens = Int32Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % 2048);
      const nll = await runner.forwardNll(tokens, tokens, [1, 16]);
      await runner.release();
      console.log(JSON.stringify({ finite: nll.every(Number.isFinite), mainThreadBlocks: [...new Set(reads.filter((n) => n.startsWith('model.layers.')).map((n) => n.split('.')[2]))] }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual({ finite: true, mainThreadBlocks: ['0'] });
  });
  /** Blocks whose tensors the main thread read in one pass of `policy`, the reader sleeping `sleepMs` per read (a disk wait: no CPU). */
  async function mainThreadBlocks(policy: 'auto' | 'never', sleepMs: number): Promise<string[][]> {
    const dir = join(root, `policy-${policy}-${sleepMs}`);
    if (!existsSync(dir)) writeRandomCheckpoint(dir, shape, { dtype: 'BF16', seed: 10 });
    weightAccount.cacheBytes = 0;
    weightAccount.readAhead = policy;
    const model = await openModel(dir);
    const read = model.readTensor.bind(model);
    const reads: string[] = [];
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    model.readTensor = (name, into) => (reads.push(name), Atomics.wait(sleeper, 0, 0, sleepMs), read(name, into));
    const runner = await ModelRunner.create(model, { sessions });
    const passes: string[][] = [];
    for (let pass = 0; pass < 2; pass++) {
      reads.length = 0;
      await runner.forwardNll(tokens, targets, dims);
      passes.push([...new Set(reads.filter((n) => n.startsWith('model.layers.')).map((n) => n.split('.')[2]))]);
    }
    await runner.release();
    model.close();
    return passes;
  }

  it("'auto' reads ahead once the synchronous reads waited on the disk (block 0 decides each pass), 'never' reads every block here", async () => {
    // 9 tensors × 3 ms of sleep per block: the reads of block 0 wait far more than they compute.
    expect(await mainThreadBlocks('auto', 3)).toEqual([['0'], ['0']]);
    expect(await mainThreadBlocks('never', 3)).toEqual([['0', '1', '2', '3', '4'], ['0', '1', '2', '3', '4']]);
  });

  it('readsWaitOnDisk: waiting reads are those with less than half their wall time on a CPU; tiny ones tell nothing', () => {
    expect(readsWaitOnDisk(100, 20)).toBe(true); // 80 % waiting: the disk
    expect(readsWaitOnDisk(100, 95)).toBe(false); // a memcpy from the page cache and the widening
    expect(readsWaitOnDisk(100, 130)).toBe(false); // other threads' CPU counts against reading ahead
    expect(readsWaitOnDisk(2, 0)).toBeUndefined();
  });
});

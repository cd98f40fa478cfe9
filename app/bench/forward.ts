// `eora-bench forward`: throughput of the forward pass against the machine's own MatMul rate.
//  1. floor: the best float32 Gemm rate onnxruntime reaches here, on 7B-block-sized products;
//  2. the bundled model: forward + NLL of a perplexity batch, and greedy generation;
//  3. one synthetic 7B-shape decoder block (d 4096, I 11008, 32 heads) on [1, 512] tokens.
// Every rate is also shown as a fraction of the floor: how close the block graph gets to
// pure MatMul speed.
import { ModelRunner } from '../forward/runner.js';
import { generate } from '../generate/generate.js';
import { openModel } from '../model/open.js';
import { GraphBuilder, int } from '../onnx/builder.js';
import { floatTensor, type Device } from '../onnx/runtime.js';
import { SessionCache } from '../onnx/sessionCache.js';
import { blockFlops, headFlops } from './flops.js';
import { measure } from './measure.js';
import { syntheticLlama } from './synthetic.js';

export interface BenchRow {
  name: string;
  shape: string;
  tokensPerSecond?: number;
  gflops?: number;
  /** gflops / the floor's gflops. */
  ofFloor?: number;
  /** Fastest run, and the median (the gap shows how noisy the machine was). */
  seconds: number;
  medianSeconds: number;
}

export async function benchForward(device: Device, report: (row: BenchRow) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const emit = (row: BenchRow) => (rows.push(row), report(row));
  const sessions = new SessionCache(device);
  try {
    const floor = await matmulFloor(sessions);
    emit(floor);
    const ofFloor = (gflops: number) => gflops / floor.gflops!;

    // The bundled model on a perplexity-sized batch ([16, 512] is perplexity()'s default for it).
    const model = await openModel();
    // Its own sessions, as `eora ppl` has: a model kept resident runs with ORT's arenas on.
    const runner = await ModelRunner.create(model, { device }).catch((error) => (model.close(), Promise.reject(error)));
    try {
      const [B, T] = [16, Math.min(512, model.config.max_position_embeddings)];
      const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % model.config.vocab_size);
      const t = await measure(() => runner.forwardNll(tokens, tokens, [B, T]));
      const flops = model.config.num_layers * blockFlops(runner.block, B, T) + headFlops(runner.head.hidden, runner.head.vocab, B * T);
      emit({ name: 'bundled model: forward + NLL', shape: `[${B}, ${T}]`, tokensPerSecond: (B * T) / t.best, gflops: flops / t.best / 1e9, ofFloor: ofFloor(flops / t.best / 1e9), seconds: t.best, medianSeconds: t.median });
      const g = await measure(() => generate(runner, 'Once upon a time', { maxNewTokens: 128, stopAtEos: false }), { minRuns: 3, minSeconds: 1 });
      emit({ name: 'bundled model: greedy generation (KV cache)', shape: '128 new tokens', tokensPerSecond: 128 / g.best, seconds: g.best, medianSeconds: g.median });
    } finally {
      await runner.release();
      model.close();
    }

    // One 7B-shape block: 202M weights (810 MB float32), generated once.
    const big = syntheticLlama({ hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, vocab: 16, layers: 1 });
    try {
      const runner = await ModelRunner.create(big, { sessions });
      const [B, T] = [1, 512];
      const hidden = runner.embed(Int32Array.from({ length: B * T }, (_, i) => i % 16), [B, T]);
      const t = await measure(() => runner.runBlock(0, hidden, [B, T]), { minRuns: 3, minSeconds: 3 });
      const gflops = blockFlops(runner.block, B, T) / t.best / 1e9;
      emit({ name: '7B-shape decoder block (d 4096, I 11008, 32 heads)', shape: `[${B}, ${T}]`, tokensPerSecond: (B * T) / t.best, gflops, ofFloor: ofFloor(gflops), seconds: t.best, medianSeconds: t.median });
    } finally {
      big.close();
    }
  } finally {
    await sessions.release();
  }
  return rows;
}

/** The best float32 Gemm rate over the block's three product shapes, x [M, K] · W[N, K]ᵀ. */
export async function matmulFloor(sessions: SessionCache): Promise<BenchRow> {
  let best: BenchRow | null = null;
  const M = 512;
  for (const [K, N] of [
    [4096, 4096],
    [4096, 11008],
    [11008, 4096],
  ]) {
    const session = await sessions.get(`bench-gemm k=${K} n=${N}`, () => {
      const g = new GraphBuilder('gemm');
      const x = g.input('x', 'float32', ['M', K]);
      const w = g.input('w', 'float32', [N, K]);
      g.output(g.op('Gemm', [x, w], { transB: int(1) }), 'y', 'float32', ['M', N]);
      return g.build();
    });
    const x = new Float32Array(M * K).fill(0.01);
    const w = new Float32Array(N * K).fill(0.02);
    const feeds = { x: floatTensor(x, [M, K]), w: floatTensor(w, [N, K]) };
    const t = await measure(() => session.run(feeds), { minRuns: 5, minSeconds: 2 });
    const gflops = (2 * M * K * N) / t.best / 1e9;
    if (!best || gflops > best.gflops!) best = { name: 'floor: float32 MatMul (Gemm, transB)', shape: `[${M}, ${K}]·[${K}, ${N}]`, gflops, ofFloor: 1, seconds: t.best, medianSeconds: t.median };
  }
  return best!;
}

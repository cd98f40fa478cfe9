// Shared pieces of the compression/compensation benches (gptq.ts, eora.ts): the float32 MatMul
// floor through onnx/matmul.ts, and synthetic correlated calibration tokens with their moment.
import { rng } from '../linalg/random.js';
import { gramF32, matmulF32 } from '../onnx/matmul.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { measure } from './measure.js';

export interface Floor {
  gflops: number;
  shape: string;
  seconds: number;
}

/** Best float32 GFLOP/s of a square [n, n]·[n, n] MatMul through matmulF32 (the engine's own path). */
export async function squareMatmulFloor(cache: SessionCache, n = 4096): Promise<Floor> {
  const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 997) / 997 - 0.5);
  const t = await measure(() => matmulF32(cache, a, [n, n], b, [n, n]), { minRuns: 3, minSeconds: 2, maxRuns: 5 });
  return { gflops: (2 * n ** 3) / t.best / 1e9, shape: `[${n}, ${n}]·[${n}, ${n}]`, seconds: t.best };
}

/**
 * X: [tokens, n] float32 correlated like LLM activations: x = d ⊙ (z + Gᵀf), log-normal channel
 * scales d, 8 shared factors f; returns C = XᵀX (float64 copy of ORT's float32 Gram).
 */
export async function correlatedC(cache: SessionCache, n: number, tokens: number, seed: number): Promise<Float64Array> {
  return (await correlatedGram(cache, n, tokens, seed)).C;
}

/** correlatedC and C32 = C rounded to float32 (ORT's Gram output, symmetrized in place). */
export async function correlatedGram(cache: SessionCache, n: number, tokens: number, seed: number): Promise<{ C: Float64Array; C32: Float32Array }> {
  const random = rng(seed);
  const factors = 8;
  const G = Float64Array.from({ length: factors * n }, random.normal);
  const d = Float64Array.from({ length: n }, () => Math.exp(random.normal()));
  const X = new Float32Array(tokens * n);
  const f = new Float64Array(factors);
  for (let t = 0; t < tokens; t++) {
    for (let q = 0; q < factors; q++) f[q] = random.normal();
    for (let j = 0; j < n; j++) {
      let v = random.normal();
      for (let q = 0; q < factors; q++) v += f[q] * G[q * n + j];
      X[t * n + j] = d[j] * v;
    }
  }
  const C32 = await gramF32(cache, X, [tokens, n]);
  // Symmetrize (float32 Gemm need not be exactly symmetric) while widening.
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i * n + j] = 0.5 * (C32[i * n + j] + C32[j * n + i]);
  C32.set(C); // now exactly Float32Array.from(C), in the Gram's own buffer
  return { C, C32 };
}

export function gaussianF32(count: number, scale: number, seed: number): Float32Array {
  const random = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = scale * random.normal();
  return out;
}

export const secs = (ms: number) => (ms / 1000).toFixed(2) + ' s';

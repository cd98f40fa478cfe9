// `eora-bench eora`: EoRA decomposition to r_max = 256 on LLM-sized linears with the products
// in onnxruntime (compensate/ort-products.ts), against the float32 MatMul floor, and — when
// python3 has numpy — the published path in numpy (eigh(C), ΔW·Q·Λ^½, svd) on the same matrices.
// Time is split into the ORT products (counted FLOPs) and everything else (float64 JS: the
// Rayleigh–Ritz eigenproblems, Cholesky factors of the block orthonormalization, conversions),
// and by stage (energies, C's spectrum, EoRA basis). Accuracy: σ² and C's
// eigenvalues against numpy's, and err(r) — the returned basis' output error — against
// numpy's exact optimum at several ranks. The SVD method's basis is timed on its own line. First,
// the Rayleigh–Ritz alone: band against dense reduction of a band T of block Krylov's shape.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decomposeLayer } from '../compensate/decomposition.js';
import { ortProducts } from '../compensate/ort-products.js';
import { symmetricEnergyFlops } from '../onnx/symmetric-energy.js';
import { krylovBlockFor } from '../compensate/block-krylov.js';
import { outputTraces } from '../compress/ort-metrics.js';
import { svdBasis } from '../compensate/svd.js';
import { topEigenpairs } from '../compensate/top-eigenpairs.js';
import type { LowRankBasis } from '../compensate/basis.js';
import type { ProductOptions, Products } from '../compensate/products.js';
import { bandTridiagonalForm, lowerBand } from '../linalg/band-tridiagonal.js';
import { tridiagonalForm } from '../linalg/eigen.js';
import { rng } from '../linalg/random.js';
import { subtract, zeros, type Matrix } from '../linalg/matrix.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { correlatedGram, gaussianF32, secs, squareMatmulFloor } from './linalg-common.js';

const rMax = 256;
const numpyLimit = 8192;
const tokens = 8192;
/** Default layers; `--shapes OUTxIN,…` picks others (e.g. 4096x14336: out < in). */
const defaultLayers = [
  { out: 4096, in: 4096 },
  { out: 11008, in: 4096 },
];

function parseShapes(shapes: string[]): { out: number; in: number }[] {
  return shapes.map((shape) => {
    const [out, n] = shape.split('x').map(Number);
    if (!(Number.isInteger(out) && Number.isInteger(n) && out >= rMax && n >= rMax)) throw new RangeError(`eora bench: --shapes takes OUTxIN with both ≥ ${rMax}, got "${shape}"`);
    return { out, in: n };
  });
}

const numpyScript = `
import sys, time, numpy as np
out, n, r = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
dW = np.fromfile(sys.argv[1] + '/dW.bin', dtype=np.float32).astype(np.float64).reshape(out, n)
C = np.fromfile(sys.argv[1] + '/C.bin', dtype=np.float64).reshape(n, n)
t0 = time.perf_counter()
lam, Q = np.linalg.eigh(C)
t1 = time.perf_counter()
Y = dW @ (Q * np.sqrt(np.maximum(lam, 0)))
t2 = time.perf_counter()
s = np.linalg.svd(Y, full_matrices=False, compute_uv=True)[1]
t3 = time.perf_counter()
print(f"{t3 - t0} {t1 - t0} {t2 - t1} {t3 - t2} " + " ".join(repr(float(v)) for v in s[:r] ** 2))
print(" ".join(repr(float(v)) for v in lam[::-1][:r]))
print(repr(float(np.sum(s ** 2))))
t4 = time.perf_counter()
sw = np.linalg.svd(dW, full_matrices=False, compute_uv=True)[1]
t5 = time.perf_counter()
print(f"{t5 - t4} " + " ".join(repr(float(v)) for v in sw[:r] ** 2))
`;

/**
 * inner with its products counted: flops, and ms = wall time with at least one product in
 * flight (products that overlap count once). outputEnergy is passed through (without it
 * the energies would fall back to an [out, in] product copied into JavaScript), counted with
 * the flops its symmetric blocking runs (onnx/symmetric-energy.ts).
 */
function countingProducts(inner: Products): Products & { flops: number; ms: number } {
  let inFlight = 0;
  let since = 0;
  const count = async <T>(flops: number, run: () => Promise<T>): Promise<T> => {
    if (inFlight++ === 0) since = performance.now();
    try {
      return await run();
    } finally {
      if (--inFlight === 0) counted.ms += performance.now() - since;
      counted.flops += flops;
    }
  };
  const counted: Products & { flops: number; ms: number } = {
    name: inner.name,
    precision: inner.precision, // the subspace iteration's stopping test scales with it
    flops: 0,
    ms: 0,
    matmul: (a: Matrix, b: Matrix, options?: ProductOptions) => count(2 * a.rows * a.cols * b.cols, () => inner.matmul(a, b, options)),
  };
  if (inner.adopt) counted.adopt = inner.adopt.bind(inner);
  const energy = inner.outputEnergy;
  if (energy) counted.outputEnergy = (A, C, options) => count(symmetricEnergyFlops(A.rows, A.cols), () => energy.call(inner, A, C, options));
  return counted;
}

export interface EoraBenchOptions {
  /** Give the decomposition the two traces compress's metric measures (timed apart), as compensate does. */
  tracesFromCompress?: boolean;
}

export async function benchEora(cache: SessionCache, print: (line: string) => void, shapes?: string[], options: EoraBenchOptions = {}): Promise<void> {
  const layers = shapes ? parseShapes(shapes) : defaultLayers;
  const floor = await squareMatmulFloor(cache);
  print(`floor: float32 MatMul ${floor.shape} via onnx/matmul.ts: ${floor.gflops.toFixed(1)} GFLOP/s`);
  for (const size of [832, 1504]) print(bandAgainstDense(size));
  print(firstTouch());
  const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  if (!hasNumpy) print('numpy comparison: skipped (python3 -c "import numpy" failed)');
  let C: Float64Array | undefined; // [in, in], reused while `in` stays the same
  let C32: Float32Array | undefined; // C rounded to float32 (the Gram ORT computed): the decomposition's float32 products take it rather than rounding C again
  let cIn = 0;
  for (const { out, in: n } of layers) {
    print(`\nEoRA to r_max = ${rMax}, W [${out}, ${n}], C from ${tokens} random correlated tokens`);
    let t0 = performance.now();
    if (!C || cIn !== n) {
      ({ C, C32 } = await correlatedGram(cache, n, tokens, 23));
      cIn = n;
      print(`  C (ORT Gram of [${tokens}, ${n}]): ${secs(performance.now() - t0)}`);
    }
    // ΔW flat-spectrum noise like rounding error; W itself only enters the energies.
    const dW32 = gaussianF32(out * n, 0.02 / Math.sqrt(n), out);
    const W = { rows: out, cols: n, data: Float64Array.from(gaussianF32(out * n, 1 / Math.sqrt(n), out + 1)) };
    const Wc = { rows: out, cols: n, data: new Float64Array(out * n) };
    for (let i = 0; i < Wc.data.length; i++) Wc.data[i] = W.data[i] - dW32[i];
    const traces = options.tracesFromCompress ? await tracesAsCompressTakesThem(cache, W, Wc, C, print) : undefined;
    const products = countingProducts(ortProducts(cache));
    t0 = performance.now();
    // Columns at each stopping test, one list per solver (C's spectrum, then EoRA): steps restart at a new solver.
    const tests: number[][] = [];
    const onIteration = (step: number) => (tests.at(-1) && step > tests.at(-1)!.at(-1)! / krylovBlockFor(rMax) ? tests.at(-1)!.push(step * krylovBlockFor(rMax)) : tests.push([step * krylovBlockFor(rMax)]));
    const d = await decomposeLayer({ W, Wc, C: { rows: n, cols: n, data: C }, C32 }, { rMax, methods: ['eora'], products, randomized: { onIteration }, traces });
    const ms = performance.now() - t0;
    const eora = d.methods.eora!;
    const t1 = performance.now();
    const svd = await svdBasis(subtract(W, Wc), { rMax, products: ortProducts(cache) });
    const svdMs = performance.now() - t1;
    const floorSeconds = products.flops / (floor.gflops * 1e9);
    print(`  ours (${d.path}, ${products.name}): ${secs(ms)} total — energies + C spectrum ${secs(d.milliseconds.spectrum)}, EoRA basis + curves ${secs(eora.milliseconds)} (${eora.basis.iterations ?? '-'} block steps)`);
    const block = krylovBlockFor(rMax);
    print(`    breakdown: energies tr(W·C·Wᵀ), tr(ΔW·C·ΔWᵀ) ${traces ? 'given (line above)' : secs(d.milliseconds.energies)}; C spectrum ${secs(d.milliseconds.spectrum - d.milliseconds.energies)} (block Krylov, ${d.covariance.iterations ?? '-'} × ${block} columns, values only); EoRA basis + curves ${secs(eora.milliseconds)} (block Krylov, ${eora.basis.iterations ?? '-'} × ${block} columns)`);
    print(`    ORT products: ${(products.flops / 1e9).toFixed(0)} GFLOP in ${secs(products.ms)} (wall time with a product in flight, incl. float64↔float32 conversion; ${(products.flops / (products.ms / 1000) / 1e9).toFixed(1)} GFLOP/s); none in flight (float64 JS only) ${secs(ms - products.ms)}`);
    print(`    ratio to the MatMul floor: ${(ms / 1000 / floorSeconds).toFixed(1)}× the ${floorSeconds.toFixed(2)} s its products would take at floor speed`);
    print(`    C spectrum: ${d.covariance.iterations ?? '-'} iterations, stated precision ${d.covariance.precision.toExponential(1)}; EoRA σᵢ stated precision ${eora.precision.toExponential(1)}`);
    print(`    stopping tests at columns (each sized by the last test's fitted rates, ≤ ×1.2): C spectrum ${tests[0]?.join(', ') ?? '-'}; EoRA ${tests[1]?.join(', ') ?? '-'}`);
    print(`    Rayleigh–Ritz stopping tests on the band reduction of T (block-krylov.ts): C spectrum ${d.covariance.bandChecks ?? '-'}, EoRA ${eora.basis.bandChecks ?? '-'}, SVD ${svd.bandChecks ?? '-'}`);
  print(`  SVD decomposition (svdBasis of ΔW, same r_max): ${secs(svdMs)} (block Krylov, ${svd.iterations ?? '-'} × ${block} columns, σᵢ² stated precision ${svd.precision.toExponential(1)})`);
    print(`    σ₁² = ${eora.basis.sigma2[0].toExponential(4)}, σ²_${rMax} = ${eora.basis.sigma2[rMax - 1].toExponential(4)}; output error at r = ${rMax}: ${eora.curves.output[rMax].toExponential(3)} (r = 0: ${eora.curves.output[0].toExponential(3)})`);
    // numpy's eigh is O(in³) in float64: a 14336² C takes longer than the 5-minute run limit here.
    if (hasNumpy && n > numpyLimit) print(`  numpy comparison: skipped (in = ${n} > ${numpyLimit}: eigh of C would outlast the 5-minute limit)`);
    if (hasNumpy && n <= numpyLimit) {
      const dir = mkdtempSync(join(tmpdir(), 'eora-bench-'));
      try {
        writeFileSync(join(dir, 'dW.bin'), new Uint8Array(dW32.buffer));
        writeFileSync(join(dir, 'C.bin'), new Uint8Array(C.buffer));
        writeFileSync(join(dir, 'eora.py'), numpyScript);
        const run = spawnSync('python3', [join(dir, 'eora.py'), dir, String(out), String(n), String(rMax)], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 24 });
        if (run.status !== 0) {
          print(`  numpy: failed (${run.error?.message ?? run.stderr.trim().split('\n').pop()})`);
        } else {
          const [line, lamLine, traceLine, svdLine] = run.stdout.trim().split('\n');
          const [total, eigh, scale, svdSeconds, ...s2] = line.split(' ').map(Number);
          const lam = lamLine.split(' ').map(Number);
          let worst = 0;
          for (let i = 0; i < Math.min(64, s2.length); i++) worst = Math.max(worst, Math.abs(eora.basis.sigma2[i] - s2[i]) / s2[i]);
          print(`  numpy float64 eigh + svd: ${total.toFixed(2)} s (eigh ${eigh.toFixed(2)}, ΔW·Q·Λ^½ ${scale.toFixed(2)}, svd ${svdSeconds.toFixed(2)}); ours / numpy = ${(ms / 1000 / total).toFixed(2)}`);
          print(`    top-64 σ² agreement with numpy: max relative difference ${worst.toExponential(2)}; at i = ${rMax}: ${(Math.abs(eora.basis.sigma2[rMax - 1] - s2[rMax - 1]) / s2[rMax - 1]).toExponential(2)}`);
          let worstC = 0;
          for (let i = 0; i < rMax; i++) worstC = Math.max(worstC, Math.abs(d.covariance.values[i] - lam[i]) / lam[i]);
          print(`    top-${rMax} C eigenvalue agreement with numpy eigh: max relative difference ${worstC.toExponential(2)} (stated ${d.covariance.precision.toExponential(1)})`);
          // err(r) = tr(M) − Σ_{i≤r} sᵢ² is numpy's exact optimum; ours is the error of the
          // returned basis (curves.output × tr(W·C·Wᵀ)); > 0 means ours is above the optimum.
          const traceM = Number(traceLine);
          const parts: string[] = [];
          let optimum = traceM;
          for (let r = 1; r <= rMax; r++) {
            optimum -= s2[r - 1];
            if ([8, 16, 32, 64, 128, 256].includes(r)) parts.push(`r = ${r}: ${((eora.curves.output[r] * d.energies.output) / optimum - 1).toExponential(2)}`);
          }
          print(`    err(r) vs numpy's exact optimum (ours / optimum − 1): ${parts.join(', ')}`);
          printSvdAgainstNumpy(svdLine, svd, dW32, svdMs, print);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

/**
 * The SVD baseline against numpy's svd(ΔW) (σ² in float64, timed with its vectors, as ours
 * returns them): σ² agreement and the Frobenius err(r) = ‖ΔW‖² − Σ_{i≤r} ‖kᵢ‖² of the returned
 * basis (kᵢ: row i of K = Uᵀ·ΔW) over the optimum ‖ΔW‖² − Σ_{i≤r} σᵢ².
 */
function printSvdAgainstNumpy(line: string, svd: LowRankBasis, dW32: Float32Array, svdMs: number, print: (line: string) => void) {
  const [seconds, ...s2] = line.split(' ').map(Number);
  let total = 0;
  for (const v of dW32) total += v * v;
  const inDim = svd.K.cols;
  let worst = 0;
  for (let i = 0; i < 64; i++) worst = Math.max(worst, Math.abs(svd.sigma2[i] - s2[i]) / s2[i]);
  const parts: string[] = [];
  let ours = total;
  let optimum = total;
  for (let r = 1; r <= rMax; r++) {
    for (let c = 0; c < inDim; c++) ours -= svd.K.data[(r - 1) * inDim + c] ** 2;
    optimum -= s2[r - 1];
    if ([8, 32, 128, 256].includes(r)) parts.push(`r = ${r}: ${(ours / optimum - 1).toExponential(2)}`);
  }
  print(`  numpy float64 svd(ΔW): ${seconds.toFixed(2)} s; SVD ours / numpy = ${(svdMs / 1000 / seconds).toFixed(2)}`);
  print(`    SVD top-64 σ² agreement with numpy: max relative difference ${worst.toExponential(2)}; Frobenius err(r) vs optimum (ours / optimum − 1): ${parts.join(', ')}`);
}

/**
 * What fresh memory costs here: this VM (a Firecracker guest) faults pages the host has not
 * backed yet through to the host, and freed memory is handed back, so first touch varies from
 * ~0.3 to ~5 s per GB with the machine's recent history. Every large fresh buffer of a
 * decomposition (C's float32 copy: 822 MB at in = 14336) pays it; the bench prints it so a
 * slow run can be told from a slow change.
 */
function firstTouch(): string {
  const bytes = 512 * 2 ** 20;
  const t0 = performance.now();
  new Float32Array(bytes / 4).fill(1);
  const seconds = (performance.now() - t0) / 1000;
  return `first touch of fresh memory: ${(seconds / (bytes / 2 ** 30)).toFixed(2)} s per GiB (one fill of a new 512 MiB buffer)`;
}

/**
 * Block Krylov's Rayleigh–Ritz on its own: a random symmetric band T [s, s] of semi-bandwidth 32
 * (the shape of block Lanczos' Qᵀ·M·Q; s = 832: C and EoRA at 4096², 1504: the SVD baseline),
 * reduced as a band and densely, and its top 256 eigenpairs through each reduction.
 */
function bandAgainstDense(s: number): string {
  const b = krylovBlockFor(rMax);
  const random = rng(s);
  const T = zeros(s, s);
  for (let i = 0; i < s; i++) for (let j = Math.max(0, i - b); j <= i; j++) T.data[i * s + j] = T.data[j * s + i] = random.normal();
  const timed = <R>(f: () => R): [R, number] => {
    const t0 = performance.now();
    return [f(), performance.now() - t0];
  };
  const [band, bandMs] = timed(() => bandTridiagonalForm(lowerBand(T, b), s, b));
  const [dense, denseMs] = timed(() => tridiagonalForm(T));
  const [, bandPairsMs] = timed(() => topEigenpairs(T, rMax, band));
  const [, densePairsMs] = timed(() => topEigenpairs(T, rMax, dense));
  return `Rayleigh–Ritz of a band T [${s}, ${s}], b = ${b}: band reduction ${bandMs.toFixed(0)} ms vs dense Householder ${denseMs.toFixed(0)} ms (${(denseMs / bandMs).toFixed(1)}×); then top-${rMax} eigenpairs ${bandPairsMs.toFixed(0)} ms vs ${densePairsMs.toFixed(0)} ms`;
}

/**
 * The two traces as the compress stage measures them for its output-error metric
 * (compress/ort-metrics.ts): compress pays for them once per linear, and compensate reuses them
 * from layers.json. Timed here on its own line, outside the decomposition.
 */
async function tracesAsCompressTakesThem(cache: SessionCache, W: Matrix, Wc: Matrix, C: Float64Array, print: (line: string) => void): Promise<{ output: number; errorOutput: number }> {
  const t0 = performance.now();
  const traces = await outputTraces(cache, Float32Array.from(W.data), Float32Array.from(Wc.data), W.rows, W.cols, C);
  print(`  traces tr(W·C·Wᵀ), tr(ΔW·C·ΔWᵀ) by compress's metric (paid by compress, reused by compensate; not in the total below): ${secs(performance.now() - t0)}`);
  return traces;
}

// `eora-bench gptq`: where GPTQ's time goes on LLM-sized linears, against the float32 MatMul floor.
//   factor: Hinv = upper Cholesky of H⁻¹, O(n³) — ORT (compress/ort-factor.ts) and, at the
//           smallest size, the float64 JS factor for comparison. Minimal work 2n³/3 flops.
//   sweep:  the OBS column sweep (compress/sweep.ts), out·n² flops (each row: Σ_j (n − j)
//           multiply-adds ≈ n²/2): as the pipeline runs it, block loads and sub-block updates
//           as ORT Gemms on a float32 panel (compress/ort-sweep.ts) on every row; and all-JS
//           float64, the reference, on a slice of rows with the time scaled by out/rows (the
//           sweep is independent per row; printed as such), whose codes the fast sweep's
//           first rows are compared with.
import { gptqSteps, gptqWithHessian } from '../compress/gptq.js';
import { prepareHessian } from '../compress/hessian.js';
import { prepareHessianOrt } from '../compress/ort-factor.js';
import { WIDE_SUB_BLOCK, runSweepOrt, type SweepStats } from '../compress/ort-sweep.js';
import { GraphBuilder, float, int } from '../onnx/builder.js';
import { floatTensor } from '../onnx/runtime.js';
import type { SessionCache } from '../onnx/sessionCache.js';
import { correlatedC, gaussianF32, secs, squareMatmulFloor } from './linalg-common.js';
import { measure } from './measure.js';

const layers: { out: number; in: number; sweepRows: number }[] = [
  { out: 1024, in: 1024, sweepRows: 1024 },
  { out: 4096, in: 4096, sweepRows: 512 },
  { out: 11008, in: 4096, sweepRows: 512 },
];

/** EORA_BENCH_GPTQ_SIZES=4096x4096,11008x4096 runs only those layers (one size fits a short locked run). */
function selectedLayers(): typeof layers {
  const spec = process.env.EORA_BENCH_GPTQ_SIZES;
  if (!spec) return layers;
  const wanted = spec.split(',').map((s) => s.trim());
  const picked = layers.filter((l) => wanted.includes(`${l.out}x${l.in}`));
  if (picked.length === 0) throw new Error(`EORA_BENCH_GPTQ_SIZES=${spec}: none of ${layers.map((l) => `${l.out}x${l.in}`).join(', ')}`);
  return picked;
}

/**
 * The sweep's Gemm y = c − a·b at its shapes ([M, K]·[K, 4096]), with A read transposed
 * (transA, a: [K, M]) and as given (a: [M, K], what ort-sweep.ts feeds): MLAS packs them differently.
 */
async function gemmLayouts(cache: SessionCache, print: (line: string) => void): Promise<void> {
  const N = 4096;
  const graph = (transA: number) => () => {
    const g = new GraphBuilder(`bench-gemm-transA${transA}`);
    const a = g.input('a', 'float32', transA ? ['K', 'M'] : ['M', 'K']);
    const b = g.input('b', 'float32', ['K', 'N']);
    const c = g.input('c', 'float32', ['M', 'N']);
    g.output(g.op('Gemm', [a, b, c], { transA: int(transA), alpha: float(-1), beta: float(1) }), 'y', 'float32', ['M', 'N']);
    return g.build();
  };
  const parts: string[] = [];
  for (const [M, K] of [[1024, 1024], [128, 896], [896, 128], [64, 64]]) {
    const a = gaussianF32(M * K, 1, M + K);
    const b = gaussianF32(K * N, 1, K);
    const c = gaussianF32(M * N, 1, M);
    const rate: number[] = [];
    for (const transA of [1, 0]) {
      const session = await cache.get(`bench-gemm-transA${transA}`, graph(transA));
      const feeds = { a: floatTensor(a, transA ? [K, M] : [M, K]), b: floatTensor(b, [K, N]), c: floatTensor(c, [M, N]) };
      const y = { y: floatTensor(new Float32Array(M * N), [M, N]) };
      rate.push((2 * M * K * N) / (await measure(() => session.run(feeds, y), { minSeconds: 0.3 })).best / 1e9);
    }
    parts.push(`M ${M} K ${K}: ${rate[0].toFixed(0)} vs ${rate[1].toFixed(0)}`);
  }
  print(`sweep Gemms [M, K]·[K, ${N}], GFLOP/s with transA vs A as [M, K] (ort-sweep.ts): ${parts.join('; ')}`);
}

export async function benchGptq(cache: SessionCache, print: (line: string) => void): Promise<void> {
  const floor = await squareMatmulFloor(cache);
  print(`floor: float32 MatMul ${floor.shape} via onnx/matmul.ts: ${floor.gflops.toFixed(1)} GFLOP/s (${secs(floor.seconds * 1000)})`);
  await gemmLayouts(cache, print);
  const atFloor = (flops: number) => flops / (floor.gflops * 1e9); // seconds at floor speed
  const options = { bits: 4, groupSize: 128, sym: false, actOrder: true } as const;
  const hessians = new Map<number, Awaited<ReturnType<typeof prepareHessianOrt>>>();
  for (const { out, in: n, sweepRows } of selectedLayers()) {
    print(`\nGPTQ w4g128 act-order, W [${out}, ${n}]`);
    let prepared = hessians.get(n);
    if (!prepared) {
      const tokens = 2 * n;
      let t0 = performance.now();
      const C = await correlatedC(cache, n, tokens, 17 + n);
      print(`  H from ${tokens} random correlated tokens (ORT Gram): ${secs(performance.now() - t0)}`);
      const moment = { C, nTokens: tokens };
      const factorFlops = (2 * n ** 3) / 3;
      t0 = performance.now();
      prepared = await prepareHessianOrt(cache, moment, n, { actOrder: true, minSize: 0 });
      const ortMs = performance.now() - t0;
      print(`  Hinv factor, ORT (recursive blocks, float32 Gemms): ${secs(ortMs)} — ${(ortMs / 1000 / atFloor(factorFlops)).toFixed(1)}× the floor time of its ${(factorFlops / 1e9).toFixed(1)} GFLOP minimal work`);
      if (n <= 1024) {
        t0 = performance.now();
        const js = prepareHessian(moment, n, { actOrder: true });
        const jsMs = performance.now() - t0;
        print(`  Hinv factor, float64 JS: ${secs(jsMs)} — ${(jsMs / 1000 / atFloor(factorFlops)).toFixed(1)}× floor; at n = 4096 that scales to ≈ ${secs(jsMs * 64)} (n³, extrapolated)`);
        let d = 0;
        let s = 0;
        for (let i = 0; i < js.Hinv.length; i++) (d += (js.Hinv[i] - prepared.Hinv[i]) ** 2), (s += js.Hinv[i] ** 2);
        print(`  ORT vs JS factor: relative Frobenius difference ${Math.sqrt(d / s).toExponential(2)}`);
      }
      hessians.set(n, prepared);
    } else print(`  (H and Hinv shared with the previous ${n}-wide layer)`);

    const sweepFlops = out * n * n;
    const wFull = gaussianF32(out * n, 1 / Math.sqrt(n), out + n);
    const stats: SweepStats = { updateMs: 0, updates: 0 };
    // The floor again, right before the sweep: on a shared machine the load changes within a run.
    const near = await squareMatmulFloor(cache);
    const atNearFloor = (flops: number) => flops / (near.gflops * 1e9);
    let t0 = performance.now();
    const fast = await runSweepOrt(cache, gptqSteps({ w: wFull, out, in: n }, prepared, options), 0, stats);
    const ortMs = performance.now() - t0;
    // Block loads: Σ_blocks 2·out·128·i1 ≈ out·n²; sub-block updates: 2·out·w·(128 − w) + 2·out·w·(128 − 2w) + … per block (w = WIDE_SUB_BLOCK).
    let subFlops = 0;
    for (let rest = 128 - WIDE_SUB_BLOCK; rest > 0; rest -= WIDE_SUB_BLOCK) subFlops += 2 * out * WIDE_SUB_BLOCK * rest;
    const ortFlops = out * n * (n - 128) + (n / 128) * subFlops;
    print(
      `  column sweep, block loads + sub-block updates in ORT (all ${out} rows): ${secs(ortMs)} — ${(ortMs / 1000 / atNearFloor(sweepFlops)).toFixed(1)}× the floor time of its ${(sweepFlops / 1e9).toFixed(0)} GFLOP (floor just before: ${near.gflops.toFixed(1)} GFLOP/s);` +
        ` ${stats.updates} ORT steps ${secs(stats.updateMs)} (${(ortFlops / (stats.updateMs / 1000) / 1e9).toFixed(0)} GFLOP/s incl. copies), JS (rounding, rank-1 updates in sub-blocks, copies) ${secs(ortMs - stats.updateMs)}`,
    );
    const loadMs = stats.loadMs ?? 0;
    const loadFlops = out * n * (n - 128);
    print(
      `  of the ORT steps: block loads ${secs(loadMs)} (${(loadFlops / (loadMs / 1000) / 1e9).toFixed(0)} GFLOP/s, ${(loadFlops / 1e9).toFixed(0)} GFLOP), sub-block updates (${WIDE_SUB_BLOCK} columns) and error history ${secs(stats.updateMs - loadMs)};` +
        ` outside ORT (rounding, error rows, SIMD rank-1 updates, W₀ᵀ and the result): ${secs(ortMs - stats.updateMs)}; sweep vs the floor time of ${(sweepFlops / 1e9).toFixed(0)} GFLOP: ${(ortMs / 1000 / atNearFloor(sweepFlops)).toFixed(2)}×`,
    );

    const rows = Math.min(out, sweepRows);
    const w = wFull.subarray(0, rows * n);
    t0 = performance.now();
    const exact = gptqWithHessian({ w, out: rows, in: n }, prepared, options);
    const sweepMs = performance.now() - t0;
    const scale = out / rows;
    const fullMs = sweepMs * scale;
    const note = rows < out ? ` on ${rows} of ${out} rows, ×${scale.toFixed(2)} EXTRAPOLATED to all rows` : '';
    print(`  column sweep, all float64 JS (reference)${note}: ${secs(fullMs)} — ${(sweepFlops / (fullMs / 1000) / 1e9).toFixed(2)} GFLOP/s; ORT-driven sweep is ${(fullMs / ortMs).toFixed(1)}× faster`);
    // Rows are independent in the sweep: the reference's rows are the fast sweep's first rows.
    let same = 0;
    for (let i = 0; i < rows * n; i++) same += +(exact.quant!.codes[i] === fast.quant!.codes[i]);
    print(`  float32 sweep vs float64 reference on those ${rows} rows: ${((100 * same) / (rows * n)).toFixed(4)} % of codes equal (${rows * n - same} of ${rows * n} differ)`);
  }
}

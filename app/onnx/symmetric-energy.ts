// tr(A·C·Aᵀ) for A: [m, k] and a symmetric C: [k, k] in onnxruntime, using C's symmetry to skip
// almost half of the product. Split the columns in two, A = [A₁ A₂], C = [[C₁₁ C₁₂] [C₁₂ᵀ C₂₂]]:
//     tr(A·C·Aᵀ) = tr(A₁·C₁₁·A₁ᵀ) + tr(A₂·C₂₂·A₂ᵀ) + 2·Σ (A₁·C₁₂ ⊙ A₂)
// — three quarters of the flops of A·C, and the diagonal blocks split again: after L levels
// k²·(1/2 + 2^−(L+1)) of k² (L = 2: 0.625, L = 4: 0.53). These energies are the largest
// products of a decomposition (tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ): 2·out·in² each, 62 % of the flops
// at 4096², 3.4 TFLOP at 4096 × 14336), so it pays the Slice copies (≈ L + 1 copies of A).
// Everything stays in one graph; only a per-row [m] vector crosses into JavaScript.
import { GraphBuilder, int } from './builder.js';
import { floatData, floatTensor, int32Tensor } from './runtime.js';
import type { SessionCache } from './sessionCache.js';

/**
 * Halve while the blocks stay ≥ MIN_BLOCK wide, at most MAX_LEVELS times. Measured (2 cores,
 * load ~1.2): 4096² 873 ms unsplit, 465 / 389 / 354 / 344 ms at L = 2 / 3 / 4 / 5 (the
 * unsplit graph also streams a [m, k] product through Mul: slower than its flops say);
 * 4096 × 14336 4.1 s at L = 3, 3.9–4.0 s at L = 4.
 */
const MIN_BLOCK = 512;
const MAX_LEVELS = 4;

export const symmetricLevels = (k: number) => {
  let levels = 0;
  while (levels < MAX_LEVELS && k / 2 ** (levels + 1) >= MIN_BLOCK) levels++;
  return levels;
};

/** Multiply-adds ×2 that symmetricEnergy runs for A: [m, k]: 2·m·k²·(1/2 + 2^−(L+1)). */
export const symmetricEnergyFlops = (m: number, k: number, levels = symmetricLevels(k)) => 2 * m * k * k * (0.5 + 2 ** -(levels + 1));

/** [2^levels + 1] column boundaries of the diagonal blocks, as even as integers allow. */
export function blockBounds(k: number, levels: number): number[] {
  const parts = 2 ** levels;
  return Array.from({ length: parts + 1 }, (_, i) => Math.round((i * k) / parts));
}

/**
 * Rows of A per graph run: at most CHUNK_ELEMENTS entries (64 MB of float32), as even as
 * integers allow. The graph's intermediates (Slice copies of A, MatMul and Mul outputs) are
 * ≈ 8 × the rows it gets; in chunks they are allocated once and recycled by the next run
 * instead of ~2 GB of fresh memory per energy at 4096 × 14336, which this VM backs at
 * ~4–5 s per GB on first touch. 4096² stays one run.
 */
const CHUNK_ELEMENTS = 1 << 24;

/** [chunks + 1] row boundaries of A: [m, k] for symmetricEnergy's runs. */
export function rowChunks(m: number, k: number, maxElements = CHUNK_ELEMENTS): number[] {
  const chunks = Math.max(1, Math.ceil((m * k) / maxElements));
  return Array.from({ length: chunks + 1 }, (_, i) => Math.round((i * m) / chunks));
}

/**
 * tr(A·C·Aᵀ): a: [m, k], c: [k, k] symmetric float32, row-major; levels as above (default
 * symmetricLevels(k)). A float64 `a` (used once, e.g. W) is converted a chunk at a time into
 * one recycled buffer rather than into a fresh float32 copy of all of A.
 */
export async function symmetricEnergy(cache: SessionCache, a: Float32Array | Float64Array, c: Float32Array, m: number, k: number, levels = symmetricLevels(k), maxElements = CHUNK_ELEMENTS): Promise<number> {
  if (m === 0 || k === 0) return 0;
  const session = await cache.get(`row-energy-sym-f32 L=${levels}`, () => energyGraph(levels));
  const bounds = int32Tensor(Int32Array.from(blockBounds(k, levels)), [2 ** levels + 1]);
  const cTensor = floatTensor(c, [k, k]);
  const rows = rowChunks(m, k, maxElements);
  // Chunks are ⌊m/n⌋ or ⌈m/n⌉ rows (n chunks), so ⌈m/n⌉ rows fit every one.
  const scratch = a instanceof Float64Array ? new Float32Array(Math.ceil(m / (rows.length - 1)) * k) : undefined;
  let energy = 0; // float64 over the rows; each row's float32 sum is accurate to ~√k·2⁻²⁴ of its terms
  for (let i = 0; i + 1 < rows.length; i++) {
    const view = a.subarray(rows[i] * k, rows[i + 1] * k); // rows are contiguous
    const chunk = scratch ? (scratch.set(view), scratch.subarray(0, view.length)) : (view as Float32Array);
    const out = await session.run({ a: floatTensor(chunk, [rows[i + 1] - rows[i], k]), c: cTensor, bounds });
    for (const v of floatData(out.rows, 'symmetricEnergy')) energy += v;
  }
  return energy;
}

/** rows: [M] per-row energies Σ_j (A·C ⊙ A)_{ij}, computed blockwise over `levels` halvings. */
function energyGraph(levels: number): Uint8Array {
  const g = new GraphBuilder(`row-energy-sym-f32-L${levels}`);
  const a = g.input('a', 'float32', ['M', 'K']);
  const c = g.input('c', 'float32', ['K', 'K']);
  const bounds = g.input('bounds', 'int32', [2 ** levels + 1]);
  const memo = new Map<string, string>();
  const once = (key: string, make: () => string) => memo.get(key) ?? (memo.set(key, make()), memo.get(key)!);
  const boundary = (i: number) => once(`b${i}`, () => g.op('Gather', [bounds, g.constant('int32', [1], [i], 'i')], { axis: int(0) })); // [1]
  const axis1 = g.constant('int32', [1], [1], 'axis1');
  const axes01 = g.constant('int32', [2], [0, 1], 'axes01');
  const reduceAxis = g.constant('int64', [1], [1], 'reduce_axis');
  /** A[:, blocks first…last): each range sliced once, shared by every product that reads it. */
  const columnsOfA = (first: number, last: number) => once(`a${first}:${last}`, () => g.op('Slice', [a, boundary(first), boundary(last), axis1]));
  /** C[rows r, columns s] in one Slice (rows then columns would copy a whole [r, K] slab first). */
  const blockOfC = (r: [number, number], s: [number, number]) => {
    const starts = g.op('Concat', [boundary(r[0]), boundary(s[0])], { axis: int(0) });
    const ends = g.op('Concat', [boundary(r[1]), boundary(s[1])], { axis: int(0) });
    return g.op('Slice', [c, starts, ends, axes01]);
  };
  /** Σ_j (A[:, r]·C[r, s] ⊙ A[:, s])_{ij} per row i, for block ranges r, s. */
  const rowSums = (r: [number, number], s: [number, number]) =>
    g.op('ReduceSum', [g.op('Mul', [g.op('MatMul', [columnsOfA(...r), blockOfC(r, s)]), columnsOfA(...s)]), reduceAxis], { keepdims: int(0) });
  const two = g.constant('float32', [], [2], 'two');
  // Blocks [first, last) of the 2^levels diagonal ones: their energy, split in halves until one block is left.
  const energy = (first: number, last: number): string => {
    if (last - first === 1) return rowSums([first, last], [first, last]);
    const middle = (first + last) / 2;
    const cross = g.op('Mul', [rowSums([first, middle], [middle, last]), two]);
    return g.op('Add', [g.op('Add', [energy(first, middle), energy(middle, last)]), cross]);
  };
  g.output(energy(0, 2 ** levels), 'rows', 'float32', ['M']);
  return g.build();
}

// tr(A·C·Aᵀ) for A: [m, k] and a symmetric C: [k, k] in onnxruntime, using C's symmetry to skip
// almost half of the product. With B = Aᵀ: [k, m], tr(A·C·Aᵀ) = Σ (C·B ⊙ B); cut C's rows into
// P = 2^L slabs r = [r0, r1) and keep of each only the columns from r0 on, those past r1 doubled
// (C' = the upper block triangle, off-diagonal blocks ×2, exact in float):
//     tr(A·C·Aᵀ) = Σ_r Σ (C'[r, r0:k] · B[r0:k] ⊙ B[r])
// — k²·(1/2 + 1/(2P)) of the k² multiply-adds per row of A (L = 2: 0.625, L = 4: 0.53). These
// energies are the largest products of a decomposition (tr(W·C·Wᵀ) and tr(ΔW·C·ΔWᵀ): 2·out·in²
// each, 62 % of the flops at 4096², 3.4 TFLOP at 4096 × 14336).
// Every operand is a contiguous view, so nothing is copied inside the graph: C' is packed once
// per C (slab after slab, row-major; cached while C lives), B[r0:k] and B[r] are row ranges of
// one transposed chunk of A. An earlier graph sliced A's column blocks and C's blocks with ORT
// Slice nodes: per run ≈ 0.53·C plus L + 1 copies of the chunk, ~0.7 GB of intermediates at
// 4096 × 14336 whose first touch cost this VM 2–3 s per cold energy. Only a per-row [m] vector
// crosses back into JavaScript.
import { GraphBuilder, int } from './builder.js';
import { floatData, floatTensor, type Feeds } from './runtime.js';
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
 * integers allow: the transposed chunk B is one recycled buffer of that size (the graph's own
 * intermediates are [slab, rows] products, a few MB). Smaller chunks cost more than they save
 * (MLAS packs each B[r0:k] operand per run): at 4096 × 14336, 2.6–2.9 s per warm energy at 2²⁴,
 * 4.8 s at 2²², 7.0 s at 2²¹ (the Slice graph before this one, same machine). 4096² stays one run.
 */
const CHUNK_ELEMENTS = 1 << 24;

/** [chunks + 1] row boundaries of A: [m, k] for symmetricEnergy's runs. */
export function rowChunks(m: number, k: number, maxElements = CHUNK_ELEMENTS): number[] {
  const chunks = Math.max(1, Math.ceil((m * k) / maxElements));
  return Array.from({ length: chunks + 1 }, (_, i) => Math.round((i * m) / chunks));
}

/**
 * tr(A·C·Aᵀ): a: [m, k], c: [k, k] symmetric float32, row-major; levels as above (default
 * symmetricLevels(k)). A is transposed a chunk of rows at a time (float64 A converted on the
 * way) into one recycled buffer. c must never change after its first energy: its packed upper
 * block triangle is cached for as long as the array lives.
 */
export async function symmetricEnergy(cache: SessionCache, a: Float32Array | Float64Array, c: Float32Array, m: number, k: number, levels = symmetricLevels(k), maxElements = CHUNK_ELEMENTS): Promise<number> {
  if (m === 0 || k === 0) return 0;
  if (a.length !== m * k || c.length !== k * k) throw new RangeError(`symmetricEnergy: A has ${a.length} entries for [${m}, ${k}], C ${c.length} for [${k}, ${k}]`);
  const P = 2 ** levels;
  const bounds = blockBounds(k, levels);
  const packed = packedUpper(c, k, levels);
  const session = await cache.get(`row-energy-slabs-f32 P=${P}`, () => energyGraph(P));
  const rows = rowChunks(m, k, maxElements);
  // Chunks are ⌊m/n⌋ or ⌈m/n⌉ rows (n chunks), so ⌈m/n⌉ rows fit every one.
  const widest = Math.ceil(m / (rows.length - 1));
  const bt = new Float32Array(k * widest); // B = the chunk of A transposed: [k, rows]
  const slabs = Array.from({ length: P }, (_, r) => floatTensor(packed.data.subarray(packed.offsets[r], packed.offsets[r + 1]), [bounds[r + 1] - bounds[r], k - bounds[r]]));
  let energy = 0; // float64 over the rows; each row's float32 sum is accurate to ~√k·2⁻²⁴ of its terms
  for (let i = 0; i + 1 < rows.length; i++) {
    const count = rows[i + 1] - rows[i];
    transposeRows(a, k, rows[i], count, bt);
    const feeds: Feeds = {};
    for (let r = 0; r < P; r++) {
      feeds[`c${r}`] = slabs[r];
      feeds[`t${r}`] = floatTensor(bt.subarray(bounds[r] * count, k * count), [k - bounds[r], count]);
      feeds[`d${r}`] = floatTensor(bt.subarray(bounds[r] * count, bounds[r + 1] * count), [bounds[r + 1] - bounds[r], count]);
    }
    const out = await session.run(feeds);
    for (const v of floatData(out.rows, 'symmetricEnergy')) energy += v;
  }
  return energy;
}

/** bt: [k, count] = rows [i0, i0 + count) of a: [·, k], transposed (and rounded to float32), in tiles that stay in cache. */
function transposeRows(a: Float32Array | Float64Array, k: number, i0: number, count: number, bt: Float32Array): void {
  const TILE = 32;
  for (let j0 = 0; j0 < k; j0 += TILE) {
    const j1 = Math.min(j0 + TILE, k);
    for (let i = 0; i < count; i++) {
      const row = (i0 + i) * k;
      for (let j = j0; j < j1; j++) bt[j * count + i] = a[row + j];
    }
  }
}

/** C' slab by slab: rows [r0, r1) of C, columns [r0, k), the columns from r1 on doubled; offsets[r] where slab r starts. */
const packedCache = new WeakMap<Float32Array, Map<number, { data: Float32Array; offsets: number[] }>>();
function packedUpper(c: Float32Array, k: number, levels: number): { data: Float32Array; offsets: number[] } {
  let byLevels = packedCache.get(c);
  if (!byLevels) packedCache.set(c, (byLevels = new Map()));
  const cached = byLevels.get(levels);
  if (cached) return cached;
  const bounds = blockBounds(k, levels);
  const offsets = [0];
  for (let r = 0; r + 1 < bounds.length; r++) offsets.push(offsets[r] + (bounds[r + 1] - bounds[r]) * (k - bounds[r]));
  const data = new Float32Array(offsets.at(-1)!);
  for (let r = 0; r + 1 < bounds.length; r++) {
    const [r0, r1] = [bounds[r], bounds[r + 1]];
    const width = k - r0;
    for (let j = r0; j < r1; j++) {
      const to = offsets[r] + (j - r0) * width;
      data.set(c.subarray(j * k + r0, j * k + r1), to); // the diagonal block, once
      for (let l = r1, at = to + (r1 - r0); l < k; l++, at++) data[at] = 2 * c[j * k + l]; // ×2 is exact
    }
  }
  const packed = { data, offsets };
  byLevels.set(levels, packed);
  return packed;
}

/** rows: [M] per-row energies Σ_r Σ_j (C'_r · T_r ⊙ D_r)_{j,i}, one MatMul per slab; t_r = B[r0:k], d_r = B[r0:r1]. */
function energyGraph(P: number): Uint8Array {
  const g = new GraphBuilder(`row-energy-slabs-f32-P${P}`);
  const axis0 = g.constant('int64', [1], [0], 'axis0');
  let total: string | null = null;
  for (let r = 0; r < P; r++) {
    const c = g.input(`c${r}`, 'float32', [`B${r}`, `T${r}`]);
    const t = g.input(`t${r}`, 'float32', [`T${r}`, 'M']);
    const d = g.input(`d${r}`, 'float32', [`B${r}`, 'M']);
    const slab = g.op('ReduceSum', [g.op('Mul', [g.op('MatMul', [c, t]), d]), axis0], { keepdims: int(0) }); // [M]
    total = total ? g.op('Add', [total, slab]) : slab;
  }
  g.output(total!, 'rows', 'float32', ['M']);
  return g.build();
}

// The wide GPTQ sweep's two transpositions as WebAssembly SIMD, each a permutation of columns
// plus a transposition that moves every element of a layer-sized matrix: W₀ᵀ in (gatherTile),
// codes and W_c out (placeTile). As typed-array JS they were the largest JS items left in a
// 4096² sweep (gathering W₀ᵀ ~60–75 ms, placing codes and W_c 75 ms warm, ~150 ms in the
// sweep's one cold call); 16 × 4 tiles of f32x4 / byte shuffles move them at memory speed.
//
// placeTile(src, pos, gsel, scalesT, zerosT, n, out, r0, tile, wc, n4): the sweep leaves each
// column's codes in sweep order (column j's at row j of a [n, out] byte history); this writes
// rows r0 … r0 + 15 of codes [out, n] and W_c [out, n] in original column order, columns
// c < n4 (a multiple of 4), four at a time:
//   for each of the 4 columns c + i:  p = pos[c + i] (its sweep position), a_i = the 16 bytes
//     src[p·out + r0 …] (its codes for the 16 rows), g_i = gsel[c + i] (byte offset of its
//     group's row in scalesT / zerosT: [groups, out] float32, the grid transposed);
//   W_c: per quad of rows, x_i = (float(a_i) − zeros) · scales over 4 rows, then a 4 × 4
//     transposition (shuffles) gives each row's 4 consecutive columns: one 16-byte store;
//   codes: two rounds of byte interleaving turn a_0 … a_3 into rows of 4 bytes: tile [16, n]
//     (bytes), rows r0 … r0 + 15 of codes, which the caller copies out in one piece.
// Exactness: zeros are integers in [0, maxq] (GroupQuantizer.fitRange), so code − zero is exact
// in float32 and the one float32 product is float32(s·(c − z)): dequantizeValue bit for bit.
import { i32, op, v128, type WasmFunction } from '../../wasm/encode.js';

const P = { src: 0, pos: 1, gsel: 2, scalesT: 3, zerosT: 4, n: 5, out: 6, r0: 7, tile: 8, wc: 9, n4: 10 }; // params, all i32
const c = 11; // local: the first of the 4 columns
const a = [12, 13, 14, 15]; // v128: each column's 16 codes
const g = [16, 17, 18, 19]; // i32: each column's group row + r0, in bytes
const x = [20, 21, 22, 23]; // v128: a quad of rows of each column (W_c), later rows of codes
const t = [24, 25, 26, 27]; // v128: transposition steps

const get = op.localGet;
const set = op.localSet;
/** i8x16.shuffle lanes for float32 lanes (4 bytes each). */
const floats = (lanes: number[]) => op.i8x16Shuffle(lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
/** Bytes interleaved: a[from], b[from], a[from + 1], b[from + 1], … (8 pairs). */
const bytePairs = (from: number) => op.i8x16Shuffle(Array.from({ length: 8 }, (_, k) => [from + k, 16 + from + k]).flat());
/** Byte pairs interleaved: a[from, from + 1], b[from, from + 1], … (4 of each). */
const pairPairs = (from: number) => op.i8x16Shuffle(Array.from({ length: 4 }, (_, k) => [from + 2 * k, from + 2 * k + 1, 16 + from + 2 * k, 17 + from + 2 * k]).flat());
/** Address base + 4·local (an element of an Int32Array) + offset bytes, loaded as i32. */
const int32At = (base: number, index: number, offset: number) => [...get(base), ...get(index), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.i32Load(offset)];

const body: number[] = [...op.block, ...op.loop, ...get(c), ...get(P.n4), ...op.i32GeU, ...op.brIf(1)];
for (let i = 0; i < 4; i++) {
  body.push(...get(P.src), ...int32At(P.pos, c, 4 * i), ...get(P.out), ...op.i32Mul, ...op.i32Add, ...get(P.r0), ...op.i32Add, ...op.v128Load(), ...set(a[i]));
  body.push(...int32At(P.gsel, c, 4 * i), ...get(P.r0), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(g[i]));
}
for (let quad = 0; quad < 4; quad++) {
  for (let i = 0; i < 4; i++) {
    // Bytes → u16 (low or high 8) → u32 (low or high 4) → float: rows r0 + 4·quad … + 3.
    body.push(...get(a[i]), ...(quad < 2 ? op.i16x8ExtendLowI8x16U : op.i16x8ExtendHighI8x16U), ...(quad % 2 === 0 ? op.i32x4ExtendLowI16x8U : op.i32x4ExtendHighI16x8U), ...op.f32x4ConvertI32x4S); // codes ≤ 255: signed is exact
    body.push(...get(P.zerosT), ...get(g[i]), ...op.i32Add, ...op.v128Load(16 * quad), ...op.f32x4Sub);
    body.push(...get(P.scalesT), ...get(g[i]), ...op.i32Add, ...op.v128Load(16 * quad), ...op.f32x4Mul, ...set(x[i]));
  }
  // 4 × 4 transposition: t = pairs of columns per row pair, then each row's 4 columns.
  body.push(...get(x[0]), ...get(x[1]), ...floats([0, 4, 1, 5]), ...set(t[0]));
  body.push(...get(x[0]), ...get(x[1]), ...floats([2, 6, 3, 7]), ...set(t[1]));
  body.push(...get(x[2]), ...get(x[3]), ...floats([0, 4, 1, 5]), ...set(t[2]));
  body.push(...get(x[2]), ...get(x[3]), ...floats([2, 6, 3, 7]), ...set(t[3]));
  const rows: [number, number, number[]][] = [[0, 2, [0, 1, 4, 5]], [0, 2, [2, 3, 6, 7]], [1, 3, [0, 1, 4, 5]], [1, 3, [2, 3, 6, 7]]];
  rows.forEach(([lo, hi, lanes], k) => {
    // wc + 4·((r0 + 4·quad + k)·n + c)
    body.push(...get(P.wc), ...get(P.r0), ...op.i32Const(4 * quad + k), ...op.i32Add, ...get(P.n), ...op.i32Mul, ...get(c), ...op.i32Add, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add);
    body.push(...get(t[lo]), ...get(t[hi]), ...floats(lanes), ...op.v128Store());
  });
}
// Codes: (a0, a1) and (a2, a3) byte-interleaved, then pairs interleaved: x[q] = rows 4q … 4q + 3, 4 bytes each.
body.push(...get(a[0]), ...get(a[1]), ...bytePairs(0), ...set(t[0]), ...get(a[0]), ...get(a[1]), ...bytePairs(8), ...set(t[1]));
body.push(...get(a[2]), ...get(a[3]), ...bytePairs(0), ...set(t[2]), ...get(a[2]), ...get(a[3]), ...bytePairs(8), ...set(t[3]));
const quads: [number, number, number][] = [[0, 2, 0], [0, 2, 8], [1, 3, 0], [1, 3, 8]];
quads.forEach(([lo, hi, from], q) => {
  body.push(...get(t[lo]), ...get(t[hi]), ...pairPairs(from), ...set(x[q]));
  for (let k = 0; k < 4; k++) body.push(...get(P.tile), ...op.i32Const(4 * q + k), ...get(P.n), ...op.i32Mul, ...op.i32Add, ...get(c), ...op.i32Add, ...get(x[q]), ...op.i32x4ExtractLane(k), ...op.i32Store());
});
body.push(...get(c), ...op.i32Const(4), ...op.i32Add, ...set(c), ...op.br(0), ...op.end, ...op.end);

export const placeTile: WasmFunction = {
  name: 'placeTile',
  params: Array(11).fill(i32),
  results: [],
  locals: [i32, v128, v128, v128, v128, i32, i32, i32, i32, v128, v128, v128, v128, v128, v128, v128, v128],
  body,
};

/** Rows per placeTile and gatherTile call: one v128 of codes per column. */
export const TILE_ROWS = 16;

// gatherTile(src, pos, n, out, r0, dst, n4): src = rows r0 … r0 + 15 of W: [16, n] float32 (the
// caller copies them in: one contiguous block); for columns c < n4, four at a time, writes
// dst[pos[c], r0 … r0 + 15] = W[r0 … r0 + 15, c], i.e. row pos[c] of W₀ᵀ [n, out] gets its 16
// entries as one 64-byte store run. Per quad of rows: 4 loads (a row's 4 columns each), a 4 × 4
// transposition, 4 stores (a column's 4 rows each).
const G = { src: 0, pos: 1, n: 2, out: 3, r0: 4, dst: 5, n4: 6 }; // params, all i32
const gc = 7; // local: the first of the 4 columns
const gp = [8, 9, 10, 11]; // i32: byte address of each column's row in dst, at r0
const gx = [12, 13, 14, 15]; // v128: a row's 4 columns
const gt = [16, 17, 18, 19]; // v128: transposition steps, then a column's 4 rows
const gatherBody: number[] = [...op.block, ...op.loop, ...get(gc), ...get(G.n4), ...op.i32GeU, ...op.brIf(1)];
for (let i = 0; i < 4; i++) {
  // dst + 4·(pos[c + i]·out + r0)
  gatherBody.push(...get(G.dst), ...int32At(G.pos, gc, 4 * i), ...get(G.out), ...op.i32Mul, ...get(G.r0), ...op.i32Add, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...set(gp[i]));
}
for (let quad = 0; quad < 4; quad++) {
  for (let k = 0; k < 4; k++) {
    // src + 4·((4·quad + k)·n + c)
    gatherBody.push(...get(G.src), ...op.i32Const(4 * quad + k), ...get(G.n), ...op.i32Mul, ...get(gc), ...op.i32Add, ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.v128Load(), ...set(gx[k]));
  }
  gatherBody.push(...get(gx[0]), ...get(gx[1]), ...floats([0, 4, 1, 5]), ...set(gt[0]));
  gatherBody.push(...get(gx[0]), ...get(gx[1]), ...floats([2, 6, 3, 7]), ...set(gt[1]));
  gatherBody.push(...get(gx[2]), ...get(gx[3]), ...floats([0, 4, 1, 5]), ...set(gt[2]));
  gatherBody.push(...get(gx[2]), ...get(gx[3]), ...floats([2, 6, 3, 7]), ...set(gt[3]));
  const columns: [number, number, number[]][] = [[0, 2, [0, 1, 4, 5]], [0, 2, [2, 3, 6, 7]], [1, 3, [0, 1, 4, 5]], [1, 3, [2, 3, 6, 7]]];
  columns.forEach(([lo, hi, lanes], i) => gatherBody.push(...get(gp[i]), ...get(gt[lo]), ...get(gt[hi]), ...floats(lanes), ...op.v128Store(16 * quad)));
}
gatherBody.push(...get(gc), ...op.i32Const(4), ...op.i32Add, ...set(gc), ...op.br(0), ...op.end, ...op.end);

export const gatherTile: WasmFunction = {
  name: 'gatherTile',
  params: Array(7).fill(i32),
  results: [],
  locals: [i32, i32, i32, i32, i32, v128, v128, v128, v128, v128, v128, v128, v128],
  body: gatherBody,
};

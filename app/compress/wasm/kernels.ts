// The sweep's per-column float32 work as WebAssembly SIMD (f32x4), for wide layers: inside a
// 16-column sub-block each decided column's scaled error reaches the sub-block's later columns
// as rank-1 updates, out·16/2 multiply-adds per column (sweep.ts). Scalar JS runs them at about
// one element per cycle; four lanes at a time they cost a few percent of the sweep.
//
// The panel and the error rows live in the instance's own memory (a Workspace), so the kernel
// reads them in place and onnxruntime reads them through Float32Array views without a copy.
// Arithmetic is IEEE float32, each product and difference rounded (no fused multiply-add), so
// the result is exactly Math.fround(y − Math.fround(a·x)) per element, as the tests check.
import { f32, f64, i32, op, v128, wasmModule, type ValType, type WasmFunction } from '../../wasm/encode.js';
import { wasm } from '../../wasm/api.js';
import { dequantizeValue } from '../quantizer.js';
import { TILE_ROWS, gatherTile, placeTile } from './transpose.js';

/** Locals (indices) of a kernel that walks rows of floats: see overRows. */
interface RowLoop {
  base: number; rows: number; stride: number; count: number; // params: byte offset, rows, bytes between rows, floats per row
  t: number; row: number; r: number; end4: number; end: number; // i32 locals
}

/**
 * The loops of the row kernels: for t < rows { perRow; row = base + t·stride; lane4 for each whole
 * f32x4 of the row, then lane1 for each of the count % 4 floats left } — r is the byte offset in the row.
 */
function overRows(L: RowLoop, perRow: number[], lane4: number[], lane1: number[]): number[] {
  return [
    ...op.localGet(L.count), ...op.i32Const(-4), ...op.i32And, ...op.i32Const(2), ...op.i32Shl, ...op.localSet(L.end4), // bytes in whole f32x4 lanes
    ...op.localGet(L.count), ...op.i32Const(2), ...op.i32Shl, ...op.localSet(L.end),
    ...op.i32Const(0), ...op.localSet(L.t),
    ...op.block, ...op.loop, // for t
    ...op.localGet(L.t), ...op.localGet(L.rows), ...op.i32GeU, ...op.brIf(1),
    ...perRow,
    ...op.localGet(L.base), ...op.localGet(L.t), ...op.localGet(L.stride), ...op.i32Mul, ...op.i32Add, ...op.localSet(L.row),
    ...op.i32Const(0), ...op.localSet(L.r),
    ...op.block, ...op.loop, // four lanes at a time
    ...op.localGet(L.r), ...op.localGet(L.end4), ...op.i32GeU, ...op.brIf(1),
    ...lane4,
    ...op.localGet(L.r), ...op.i32Const(16), ...op.i32Add, ...op.localSet(L.r),
    ...op.br(0), ...op.end, ...op.end,
    ...op.block, ...op.loop, // the count % 4 tail
    ...op.localGet(L.r), ...op.localGet(L.end), ...op.i32GeU, ...op.brIf(1),
    ...lane1,
    ...op.localGet(L.r), ...op.i32Const(4), ...op.i32Add, ...op.localSet(L.r),
    ...op.br(0), ...op.end, ...op.end,
    ...op.localGet(L.t), ...op.i32Const(1), ...op.i32Add, ...op.localSet(L.t),
    ...op.br(0), ...op.end, ...op.end,
  ];
}

// rank1(y, rows, stride, x, coef, count): y[t·stride + r] −= coef[t] · x[r] for t < rows, r < count.
// y, x, coef are byte offsets into the memory; stride is in bytes.
const [y, rows, stride, x, coef, count] = [0, 1, 2, 3, 4, 5]; // params
const [t, row, r, a, end4, end, as] = [6, 7, 8, 9, 10, 11, 12]; // locals
const at = (base: number) => [...op.localGet(base), ...op.localGet(r), ...op.i32Add]; // base + r (local 8 in the row kernels)
const rank1: WasmFunction = {
  name: 'rank1',
  params: [i32, i32, i32, i32, i32, i32],
  results: [],
  locals: [i32, i32, i32, v128, i32, i32, f32],
  body: overRows(
    { base: y, rows, stride, count, t, row, r, end4, end },
    [...op.localGet(coef), ...op.localGet(t), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.f32Load(), ...op.localTee(as), ...op.f32x4Splat, ...op.localSet(a)],
    [...at(row), ...at(row), ...op.v128Load(), ...op.localGet(a), ...at(x), ...op.v128Load(), ...op.f32x4Mul, ...op.f32x4Sub, ...op.v128Store()],
    [...at(row), ...at(row), ...op.f32Load(), ...op.localGet(as), ...at(x), ...op.f32Load(), ...op.f32Mul, ...op.f32Sub, ...op.f32Store()],
  ),
};

// columnError(w, q, err, col, count, ujj) → Σ d², d = w[r] − q[r] (float64 in, f64x2 lanes):
// err[r] = float32(d / ujj), col[r] = float32(q[r]), for r < count. Same values as the scalar
// loop would store (each is one correctly rounded division, then one rounding to float32).
const ce = { w: 0, q: 1, err: 2, col: 3, count: 4, ujj: 5, r: 6, end2: 7, u: 8, acc: 9, d: 10, ds: 11, sum: 12 };
const pair = (base: number, shift: number) => [...op.localGet(base), ...op.localGet(ce.r), ...op.i32Const(shift), ...op.i32Shl, ...op.i32Add]; // base + r·2^shift
const columnError: WasmFunction = {
  name: 'columnError',
  params: [i32, i32, i32, i32, i32, f64],
  results: [f64],
  locals: [i32, i32, v128, v128, v128, f64, f64],
  body: [
    ...op.localGet(ce.count), ...op.i32Const(-2), ...op.i32And, ...op.localSet(ce.end2), // whole f64x2 pairs
    ...op.localGet(ce.ujj), ...op.f64x2Splat, ...op.localSet(ce.u),
    ...op.i32Const(0), ...op.localSet(ce.r),
    ...op.block, ...op.loop, // two rows at a time
    ...op.localGet(ce.r), ...op.localGet(ce.end2), ...op.i32GeU, ...op.brIf(1),
    ...pair(ce.w, 3), ...op.v128Load(), ...pair(ce.q, 3), ...op.v128Load(), ...op.f64x2Sub, ...op.localSet(ce.d),
    ...op.localGet(ce.acc), ...op.localGet(ce.d), ...op.localGet(ce.d), ...op.f64x2Mul, ...op.f64x2Add, ...op.localSet(ce.acc),
    ...pair(ce.err, 2), ...op.localGet(ce.d), ...op.localGet(ce.u), ...op.f64x2Div, ...op.f32x4DemoteF64x2Zero, ...op.v128Store64Lane0(),
    ...pair(ce.col, 2), ...pair(ce.q, 3), ...op.v128Load(), ...op.f32x4DemoteF64x2Zero, ...op.v128Store64Lane0(),
    ...op.localGet(ce.r), ...op.i32Const(2), ...op.i32Add, ...op.localSet(ce.r),
    ...op.br(0), ...op.end, ...op.end,
    ...op.block, ...op.loop, // the odd row
    ...op.localGet(ce.r), ...op.localGet(ce.count), ...op.i32GeU, ...op.brIf(1),
    ...pair(ce.w, 3), ...op.f64Load(), ...pair(ce.q, 3), ...op.f64Load(), ...op.f64Sub, ...op.localSet(ce.ds),
    ...op.localGet(ce.sum), ...op.localGet(ce.ds), ...op.localGet(ce.ds), ...op.f64Mul, ...op.f64Add, ...op.localSet(ce.sum),
    ...pair(ce.err, 2), ...op.localGet(ce.ds), ...op.localGet(ce.ujj), ...op.f64Div, ...op.f32DemoteF64, ...op.f32Store(),
    ...pair(ce.col, 2), ...pair(ce.q, 3), ...op.f64Load(), ...op.f32DemoteF64, ...op.f32Store(),
    ...op.localGet(ce.r), ...op.i32Const(1), ...op.i32Add, ...op.localSet(ce.r),
    ...op.br(0), ...op.end, ...op.end,
    ...op.localGet(ce.sum), ...op.localGet(ce.acc), ...op.f64x2ExtractLane(0), ...op.f64Add, ...op.localGet(ce.acc), ...op.f64x2ExtractLane(1), ...op.f64Add,
  ],
};

// quantizeColumn(col, err, codes, scales, zeros, count, ujj, maxq) → Σ d²: GPTQ's rounding of one
// panel row in place, the rule and columnError in one pass (f64x2 lanes). Per row r, with
// w = float64(col[r]), s = scales[r], z = zeros[r] (float32 grids):
//   c = clamp(nearest(w / s) + z, 0, maxq)   (nearest: ties to even, as GroupQuantizer.quantizeColumn)
//   q = float32(s · (c − z)),  d = w − q:  codes[r] = c, col[r] = q, err[r] = float32(d / ujj).
// Each operation is the float64 one JavaScript performs, so codes and values are bit for bit
// those of quantizeColumn followed by columnError.
const qc = { col: 0, err: 1, codes: 2, scales: 3, zeros: 4, count: 5, ujj: 6, maxq: 7 }; // params
const qr = 8; // local: the row
const qEnd2 = 9; // local: rows in whole pairs
const byte = (base: number) => [...op.localGet(base), ...op.localGet(qr), ...op.i32Add]; // base + r
const word = (base: number) => [...op.localGet(base), ...op.localGet(qr), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add]; // base + 4r

/** One step of the rounding as f64x2 (two rows) or f64 (the odd row): the same operations, the lanes' locals and opcodes. */
interface Lanes {
  rows: number;
  zero: number; u: number; mq: number; acc: number; w: number; s: number; z: number; c: number; qf: number; d: number;
  load: (base: number) => number[]; // float32 at base + 4r → float64 lanes
  div: number[]; nearest: number[]; add: number[]; sub: number[]; mul: number[];
  max: number[]; min: number[]; demote: number[]; promote: number[];
  store: number[]; // float32 lanes to the address below them
  storeCodes: number[];
}
const v = { zero: 10, u: 11, mq: 12, acc: 13, w: 14, s: 15, z: 16, c: 17, qf: 18, d: 19, ci: 20 }; // v128 locals
const twoRows: Lanes = {
  rows: 2, ...v,
  load: (base) => [...word(base), ...op.v128Load64Zero(), ...op.f64x2PromoteLowF32x4],
  div: op.f64x2Div, nearest: op.f64x2Nearest, add: op.f64x2Add, sub: op.f64x2Sub, mul: op.f64x2Mul,
  max: op.f64x2Pmax, min: op.f64x2Pmin, // pmax(c, 0) = c < 0 ? 0 : c; pmin(c, maxq) = maxq < c ? maxq : c
  demote: op.f32x4DemoteF64x2Zero, promote: op.f64x2PromoteLowF32x4, store: op.v128Store64Lane0(),
  storeCodes: [
    ...op.localGet(v.c), ...op.i32x4TruncSatF64x2UZero, ...op.localSet(v.ci),
    ...byte(qc.codes), ...op.localGet(v.ci), ...op.i32x4ExtractLane(0), ...op.i32Store8(),
    ...byte(qc.codes), ...op.localGet(v.ci), ...op.i32x4ExtractLane(1), ...op.i32Store8(1),
  ],
};
const f = { zero: 21, acc: 22, w: 23, s: 24, z: 25, c: 26, d: 27, qf: 28 }; // f64 locals, qf f32
const oneRow: Lanes = {
  rows: 1, ...f, u: qc.ujj, mq: qc.maxq,
  load: (base) => [...word(base), ...op.f32Load(), ...op.f64PromoteF32],
  div: op.f64Div, nearest: op.f64Nearest, add: op.f64Add, sub: op.f64Sub, mul: op.f64Mul,
  max: op.f64Max, min: op.f64Min, // c is never NaN or −0 (nearest(x) + z, z ≥ 0): the same clamp
  demote: op.f32DemoteF64, promote: op.f64PromoteF32, store: op.f32Store(),
  storeCodes: [...byte(qc.codes), ...op.localGet(f.c), ...op.i32TruncSatF64U, ...op.i32Store8()],
};
const roundStep = (L: Lanes) => [
  ...L.load(qc.col), ...op.localSet(L.w),
  ...L.load(qc.scales), ...op.localSet(L.s),
  ...L.load(qc.zeros), ...op.localSet(L.z),
  ...op.localGet(L.w), ...op.localGet(L.s), ...L.div, ...L.nearest, ...op.localGet(L.z), ...L.add,
  ...op.localGet(L.zero), ...L.max, ...op.localGet(L.mq), ...L.min, ...op.localSet(L.c),
  ...op.localGet(L.s), ...op.localGet(L.c), ...op.localGet(L.z), ...L.sub, ...L.mul, ...L.demote, ...op.localSet(L.qf),
  ...word(qc.col), ...op.localGet(L.qf), ...L.store,
  ...op.localGet(L.w), ...op.localGet(L.qf), ...L.promote, ...L.sub, ...op.localSet(L.d),
  ...op.localGet(L.acc), ...op.localGet(L.d), ...op.localGet(L.d), ...L.mul, ...L.add, ...op.localSet(L.acc),
  ...word(qc.err), ...op.localGet(L.d), ...op.localGet(L.u), ...L.div, ...L.demote, ...L.store,
  ...L.storeCodes,
  ...op.localGet(qr), ...op.i32Const(L.rows), ...op.i32Add, ...op.localSet(qr),
];
const quantizeColumn: WasmFunction = {
  name: 'quantizeColumn',
  params: [i32, i32, i32, i32, i32, i32, f64, f64],
  results: [f64],
  locals: [i32, i32, ...Array<ValType>(11).fill(v128), ...Array<ValType>(7).fill(f64), f32],
  body: [
    ...op.localGet(qc.count), ...op.i32Const(-2), ...op.i32And, ...op.localSet(qEnd2),
    ...op.localGet(qc.ujj), ...op.f64x2Splat, ...op.localSet(v.u),
    ...op.localGet(qc.maxq), ...op.f64x2Splat, ...op.localSet(v.mq),
    ...op.block, ...op.loop, // two rows at a time
    ...op.localGet(qr), ...op.localGet(qEnd2), ...op.i32GeU, ...op.brIf(1),
    ...roundStep(twoRows),
    ...op.br(0), ...op.end, ...op.end,
    ...op.block, ...op.loop, // the odd row
    ...op.localGet(qr), ...op.localGet(qc.count), ...op.i32GeU, ...op.brIf(1),
    ...roundStep(oneRow),
    ...op.br(0), ...op.end, ...op.end,
    ...op.localGet(oneRow.acc), ...op.localGet(v.acc), ...op.f64x2ExtractLane(0), ...op.f64Add, ...op.localGet(v.acc), ...op.f64x2ExtractLane(1), ...op.f64Add,
  ],
};

// columnRange(src, rows, stride, lo, hi, count): over the rows t < rows of src (stride bytes
// apart), lo[r] = v < lo[r] ? v : lo[r] and hi[r] = v > hi[r] ? v : hi[r] for v = src[t, r],
// r < count (float32; pmin/pmax and select are exactly those ternaries, ±0 included).
const cr = { src: 0, rows: 1, stride: 2, lo: 3, hi: 4, count: 5, t: 6, row: 7, r, end4: 9, end: 10, v: 11, x: 12 }; // r: the same local as rank1's, for at()
const columnRange: WasmFunction = {
  name: 'columnRange',
  params: [i32, i32, i32, i32, i32, i32],
  results: [],
  locals: [i32, i32, i32, i32, i32, v128, f32],
  body: overRows(
    { base: cr.src, rows: cr.rows, stride: cr.stride, count: cr.count, t: cr.t, row: cr.row, r: cr.r, end4: cr.end4, end: cr.end },
    [],
    [
      ...at(cr.row), ...op.v128Load(), ...op.localSet(cr.v),
      ...at(cr.lo), ...at(cr.lo), ...op.v128Load(), ...op.localGet(cr.v), ...op.f32x4Pmin, ...op.v128Store(),
      ...at(cr.hi), ...at(cr.hi), ...op.v128Load(), ...op.localGet(cr.v), ...op.f32x4Pmax, ...op.v128Store(),
    ],
    [
      ...at(cr.row), ...op.f32Load(), ...op.localSet(cr.x),
      ...at(cr.lo), ...op.localGet(cr.x), ...at(cr.lo), ...op.f32Load(), ...op.localGet(cr.x), ...at(cr.lo), ...op.f32Load(), ...op.f32Lt, ...op.select, ...op.f32Store(),
      ...at(cr.hi), ...op.localGet(cr.x), ...at(cr.hi), ...op.f32Load(), ...at(cr.hi), ...op.f32Load(), ...op.localGet(cr.x), ...op.f32Lt, ...op.select, ...op.f32Store(),
    ],
  ),
};

let compiled: object | undefined;
const kernelModule = () => (compiled ??= new wasm.Module(wasmModule([rank1, columnError, quantizeColumn, columnRange, placeTile, gatherTile])));

/** A grid-rounding sweep's code history: codes of `columns` columns, grids of `groups` groups (see Workspace.place). */
export interface CodeHistory {
  columns: number;
  groups: number;
}

/** wasm32's limit on a memory (4 GiB), less a page. */
export const MAX_WORKSPACE_BYTES = 2 ** 32 - 65536;

/** Byte offsets of a Workspace's buffers; end: the memory it needs. */
function workspaceLayout(out: number, panelRows: number, errRows: number, coefs: number, codes?: CodeHistory) {
  const float64At = Math.ceil(((panelRows + errRows) * out + coefs) / 4) * 16; // bytes, 16-aligned
  const gridAt = float64At + 16 * out; // scales, zeros (float32), codes (bytes)
  const rangeAt = Math.ceil((gridAt + 9 * out) / 16) * 16; // lo, hi (float32)
  const history = codes ? historyLayout(rangeAt + 8 * out, out, codes) : null;
  return { float64At, gridAt, rangeAt, history, end: history ? history.end : rangeAt + 8 * out };
}

/** Bytes of a Workspace's memory with these sizes: a sweep keeps its codes only where this stays ≤ MAX_WORKSPACE_BYTES. */
export const workspaceBytes = (out: number, panelRows: number, errRows: number, coefs: number, codes?: CodeHistory) => workspaceLayout(out, panelRows, errRows, coefs, codes).end;

/** Byte regions of the code history and the placement's inputs, after `at`. */
function historyLayout(at: number, out: number, { columns, groups }: CodeHistory) {
  const align = (bytes: number) => Math.ceil(bytes / 16) * 16;
  const history = align(at); // [columns, out] bytes, sweep order
  const pos = align(history + columns * out); // [columns] int32
  const gsel = pos + 4 * columns; // [columns] int32
  const scalesT = align(gsel + 4 * columns); // [groups, out] float32
  const zerosT = scalesT + 4 * groups * out;
  const tile = zerosT + 4 * groups * out; // [TILE_ROWS, columns] bytes
  const rows = align(tile + TILE_ROWS * columns); // [TILE_ROWS, columns] float32: rows of W for gather
  return { history, pos, gsel, scalesT, zerosT, tile, rows, end: rows + 4 * TILE_ROWS * columns };
}

/**
 * Float32 buffers of one sweep inside a WebAssembly memory: panel [panelRows, out], err
 * [errRows, out] and the coefficients of one column's rank-1 updates. Sized once (a memory
 * that grows would detach the views).
 */
export class Workspace {
  readonly panel: Float32Array;
  readonly err: Float32Array;
  /** A column as the rule reads it, and the rule's replacement: float64 [out] each. */
  readonly w: Float64Array;
  readonly q: Float64Array;
  /** A column's quantization grid, row by row (float32 [out] each), and its codes [out]: see quantize. */
  readonly scales: Float32Array;
  readonly zeros: Float32Array;
  readonly codes: Uint8Array;
  /** Per row, the range of some panel rows, spanning 0 (float32 [out] each): see range. */
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  /** With a CodeHistory: every column's codes, [columns, out] in sweep order (quantize's codeRow). */
  readonly codeHistory: Uint8Array | null = null;
  private readonly placement: { pos: Int32Array; gsel: Int32Array; scalesT: Float32Array; zerosT: Float32Array; tile: Uint8Array; rows: Float32Array; groups: number } | null = null;
  private readonly memory: ArrayBuffer;
  private readonly coef: Float32Array;
  private readonly kernel: {
    rank1: (y: number, rows: number, stride: number, x: number, coef: number, count: number) => void;
    columnError: (w: number, q: number, err: number, col: number, count: number, ujj: number) => number;
    quantizeColumn: (col: number, err: number, codes: number, scales: number, zeros: number, count: number, ujj: number, maxq: number) => number;
    columnRange: (src: number, rows: number, stride: number, lo: number, hi: number, count: number) => void;
    placeTile: (src: number, pos: number, gsel: number, scalesT: number, zerosT: number, n: number, out: number, r0: number, tile: number, wc: number, n4: number) => void;
    gatherTile: (src: number, pos: number, n: number, out: number, r0: number, dst: number, n4: number) => void;
  };

  constructor(
    readonly out: number,
    panelRows: number,
    errRows: number,
    coefs: number,
    codes?: CodeHistory,
  ) {
    const { float64At, gridAt, rangeAt, history: layout, end } = workspaceLayout(out, panelRows, errRows, coefs, codes);
    if (end > MAX_WORKSPACE_BYTES) throw new RangeError(`workspace: ${end} bytes exceed WebAssembly's ${MAX_WORKSPACE_BYTES}`);
    const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(end / 65536)) });
    this.memory = memory.buffer;
    const instance = new wasm.Instance(kernelModule(), { env: { memory } });
    this.kernel = instance.exports as unknown as Workspace['kernel'];
    this.panel = new Float32Array(memory.buffer, 0, panelRows * out);
    this.err = new Float32Array(memory.buffer, this.panel.byteLength, errRows * out);
    this.coef = new Float32Array(memory.buffer, this.panel.byteLength + this.err.byteLength, coefs);
    this.w = new Float64Array(memory.buffer, float64At, out);
    this.q = new Float64Array(memory.buffer, float64At + 8 * out, out);
    this.scales = new Float32Array(memory.buffer, gridAt, out);
    this.zeros = new Float32Array(memory.buffer, gridAt + 4 * out, out);
    this.codes = new Uint8Array(memory.buffer, gridAt + 8 * out, out);
    this.lo = new Float32Array(memory.buffer, rangeAt, out);
    this.hi = new Float32Array(memory.buffer, rangeAt + 4 * out, out);
    if (codes && layout) {
      const { columns, groups } = codes;
      this.codeHistory = new Uint8Array(memory.buffer, layout.history, columns * out);
      this.placement = {
        pos: new Int32Array(memory.buffer, layout.pos, columns),
        gsel: new Int32Array(memory.buffer, layout.gsel, columns),
        scalesT: new Float32Array(memory.buffer, layout.scalesT, groups * out),
        zerosT: new Float32Array(memory.buffer, layout.zerosT, groups * out),
        tile: new Uint8Array(memory.buffer, layout.tile, TILE_ROWS * columns),
        rows: new Float32Array(memory.buffer, layout.rows, TILE_ROWS * columns),
        groups,
      };
    }
  }

  /** lo[r] = min(0, panel[t, r]), hi[r] = max(0, panel[t, r]) over panel rows t ∈ [row0, row0 + rows). */
  range(row0: number, rows: number): void {
    const { out, panel } = this;
    if (row0 < 0 || rows < 0 || (row0 + rows) * out > panel.length) throw new RangeError(`range: panel rows ${row0}…${row0 + rows - 1} are outside the workspace`);
    this.lo.fill(0);
    this.hi.fill(0);
    this.kernel.columnRange(panel.byteOffset + row0 * out * 4, rows, out * 4, this.lo.byteOffset, this.hi.byteOffset, out);
  }

  /**
   * Quantizes panel row `row` in place on the grid in scales/zeros (codes 0…maxq): codes[r] = c,
   * panel = float32(s·(c − z)), err[errRow] = float32((w − q) / ujj); returns Σ (w − q)² (float64).
   * The same values as GroupQuantizer.quantizeColumn on the float64 row, then columnError.
   */
  quantize(row: number, errRow: number, ujj: number, maxq: number, codeRow?: number): number {
    this.checkRows('quantize', row, errRow);
    const { out, panel, err } = this;
    let codesAt = this.codes.byteOffset;
    if (codeRow !== undefined) {
      const history = this.codeHistory;
      if (!history || codeRow < 0 || (codeRow + 1) * out > history.length) throw new RangeError(`quantize: code row ${codeRow} is outside the workspace's code history`);
      codesAt = history.byteOffset + codeRow * out;
    }
    return this.kernel.quantizeColumn(panel.byteOffset + row * out * 4, err.byteOffset + errRow * out * 4, codesAt, this.scales.byteOffset, this.zeros.byteOffset, out, ujj, maxq);
  }

  /**
   * W₀ᵀ into dst [n, out] (a buffer in this memory, e.g. E before the sweep): row position[c] =
   * column c of w [out, n] (position: each column's sweep index, null for in order), zero for
   * dead columns. Needs a code history of n columns (its scratch rows); sweep.ts' gatherTransposed
   * is the JS equivalent.
   */
  gather(w: Float32Array, position: Int32Array | null, dead: Uint8Array, dst: Float32Array): void {
    const { out, codeHistory: history, placement } = this;
    if (!history || !placement) throw new Error('gather: this workspace keeps no code history');
    const n = history.length / out;
    const { pos, rows } = placement;
    if (w.length !== out * n || dst.length !== out * n || dead.length !== n) throw new RangeError(`gather: W and W₀ᵀ need ${out * n} floats and ${n} dead flags, got ${w.length}, ${dst.length}, ${dead.length}`);
    if (dst.buffer !== this.memory || dst.byteOffset + dst.byteLength > history.byteOffset) throw new RangeError('gather: W₀ᵀ must lie in the workspace memory, before its code history');
    if (position && position.length !== n) throw new RangeError(`gather: position has ${position.length} entries, expected ${n}`);
    const seen = new Uint8Array(n); // a repeated position would leave some row of dst unwritten
    for (let c = 0; c < n; c++) {
      const p = position ? position[c] : c;
      if (!(p >= 0 && p < n) || seen[p]++) throw new RangeError(`gather: column ${c} has sweep position ${p}`);
      pos[c] = p;
    }
    const n4 = n - (n % 4);
    const whole = out - (out % TILE_ROWS);
    for (let r0 = 0; r0 < whole; r0 += TILE_ROWS) {
      rows.set(w.subarray(r0 * n, (r0 + TILE_ROWS) * n)); // 16 rows of W are contiguous: one copy into the memory
      this.kernel.gatherTile(rows.byteOffset, pos.byteOffset, n, out, r0, dst.byteOffset, n4);
    }
    for (let r = 0; r < whole; r++) for (let c = n4; c < n; c++) dst[pos[c] * out + r] = w[r * n + c];
    for (let r = whole; r < out; r++) for (let c = 0; c < n; c++) dst[pos[c] * out + r] = w[r * n + c];
    for (let c = 0; c < n; c++) if (dead[c]) dst.fill(0, pos[c] * out, (pos[c] + 1) * out);
  }

  /**
   * The code history placed: codes[r, c] = codeHistory[position[c], r] (position: each original
   * column's sweep index, null for in order) and wc[r, c] = float32(s·(code − z)) with s, z =
   * scales / zeros [out, groups] at (r, groupOf[c]) — codes, W_c: [out, n], n = the history's
   * columns. wc must lie in this workspace's memory (a dead buffer of the sweep's, e.g. E);
   * zeros must be integers (GroupQuantizer's are), which makes the float32 arithmetic exact.
   */
  place(position: Int32Array | null, groupOf: Int32Array, scales: Float32Array, zeros: Float32Array, codes: Uint8Array, wc: Float32Array): void {
    const { out, codeHistory: history, placement } = this;
    if (!history || !placement) throw new Error('place: this workspace keeps no code history');
    const n = history.length / out;
    const { groups, pos, gsel, scalesT, zerosT, tile } = placement;
    if (codes.length !== out * n || wc.length !== out * n) throw new RangeError(`place: codes and W_c need ${out * n} entries, got ${codes.length} and ${wc.length}`);
    if (wc.buffer !== this.memory || wc.byteOffset + wc.byteLength > history.byteOffset) throw new RangeError('place: W_c must lie in the workspace memory, before its code history');
    if (groupOf.length !== n || scales.length !== out * groups || zeros.length !== out * groups) throw new RangeError(`place: ${n} column groups and [${out}, ${groups}] grids expected`);
    if (position && position.length !== n) throw new RangeError(`place: position has ${position.length} entries, expected ${n}`);
    const seen = new Uint8Array(n); // a repeated position would place one history row twice, another never
    for (let col = 0; col < n; col++) {
      const p = position ? position[col] : col;
      const group = groupOf[col];
      if (!(p >= 0 && p < n && group >= 0 && group < groups) || seen[p]++) throw new RangeError(`place: column ${col} has sweep position ${p} and group ${group}`);
      pos[col] = p;
      gsel[col] = group * out * 4;
    }
    for (let r = 0; r < out; r++) {
      for (let group = 0; group < groups; group++) (scalesT[group * out + r] = scales[r * groups + group]), (zerosT[group * out + r] = zeros[r * groups + group]);
    }
    // Whole 16-row tiles and columns in fours in the kernel; the rest (rows past the last
    // tile, the last n % 4 columns) as the same float32 arithmetic in JS.
    const n4 = n - (n % 4);
    const rows = out - (out % TILE_ROWS);
    for (let r0 = 0; r0 < rows; r0 += TILE_ROWS) {
      this.kernel.placeTile(history.byteOffset, pos.byteOffset, gsel.byteOffset, scalesT.byteOffset, zerosT.byteOffset, n, out, r0, tile.byteOffset, wc.byteOffset, n4);
      codes.set(tile, r0 * n); // rows r0 … r0 + 15 of codes are contiguous, as in the tile (its columns ≥ n4 are filled below)
    }
    const one = (r: number, col: number) => {
      const code = history[pos[col] * out + r];
      codes[r * n + col] = code;
      const slot = (gsel[col] >> 2) + r;
      wc[r * n + col] = dequantizeValue(code, scalesT[slot], zerosT[slot]);
    };
    for (let r = 0; r < rows; r++) for (let col = n4; col < n; col++) one(r, col);
    for (let r = rows; r < out; r++) for (let col = 0; col < n; col++) one(r, col);
  }

  // The memory holds more than the panel: an index past it would write elsewhere silently.
  private checkRows(what: string, row: number, errRow: number): void {
    const { out } = this;
    if (row < 0 || (row + 1) * out > this.panel.length || errRow < 0 || (errRow + 1) * out > this.err.length) {
      throw new RangeError(`${what}: panel row ${row} or error row ${errRow} is outside the workspace`);
    }
  }

  /**
   * After the rule replaced column w by q: err[errRow] = (w − q) / ujj and panel[row] = q, both
   * rounded to float32; returns Σ (w − q)² (float64, summed in two lanes).
   */
  columnError(row: number, errRow: number, ujj: number): number {
    const { out } = this;
    this.checkRows('columnError', row, errRow);
    return this.kernel.columnError(this.w.byteOffset, this.q.byteOffset, this.err.byteOffset + errRow * out * 4, this.panel.byteOffset + row * out * 4, out, ujj);
  }

  /** panel[row0 + t] −= coef[t] · err[errRow] for t < coef.length (rows of `out` floats). */
  rank1(row0: number, errRow: number, coef: ArrayLike<number>): void {
    if (coef.length > this.coef.length) throw new RangeError(`rank1: ${coef.length} rows, room for ${this.coef.length}`);
    // The memory holds more than the panel: an index past it would write elsewhere silently.
    if (row0 < 0 || (row0 + coef.length) * this.out > this.panel.length || errRow < 0 || (errRow + 1) * this.out > this.err.length) {
      throw new RangeError(`rank1: rows ${row0}…${row0 + coef.length - 1} from error row ${errRow} are outside the workspace`);
    }
    this.coef.set(coef);
    const rowBytes = this.out * 4;
    this.kernel.rank1(this.panel.byteOffset + row0 * rowBytes, coef.length, rowBytes, this.err.byteOffset + errRow * rowBytes, this.coef.byteOffset, this.out);
  }
}

// A minimal WebAssembly binary writer: enough to state a few numeric kernels as readable
// TypeScript (compress/wasm/kernels.ts, model/bf16.ts) and compile them at load time, with no toolchain, no dependency and
// no checked-in binary. Spec: https://webassembly.github.io/spec/core/binary/ (MVP + 128-bit SIMD).
//
// A module here imports one memory ("env", "memory") and exports functions; each function is
// its type (params, results), extra locals and the body's instruction bytes (without the final
// `end`, added here).

export const i32 = 0x7f;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof f32 | typeof f64 | typeof v128;

/** Unsigned LEB128 (indices, sizes, alignments, offsets). */
export function u32(value: number): number[] {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    bytes.push(v !== 0 ? byte | 0x80 : byte);
  } while (v !== 0);
  return bytes;
}

/** Signed LEB128 (i32.const). */
export function s32(value: number): number[] {
  const bytes: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

const utf8 = (name: string) => [...new TextEncoder().encode(name)];
const name = (text: string) => [...u32(utf8(text).length), ...utf8(text)];
const vec = (items: number[][]) => [...u32(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...u32(body.length), ...body];

/** Instructions (the ones the kernels use), as byte arrays to spread into a body. */
export const op = {
  localGet: (i: number) => [0x20, ...u32(i)],
  localSet: (i: number) => [0x21, ...u32(i)],
  localTee: (i: number) => [0x22, ...u32(i)],
  i32Const: (v: number) => [0x41, ...s32(v)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Shl: [0x74],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  /** block / loop with no result; br / br_if take the label depth. */
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (depth: number) => [0x0c, ...u32(depth)],
  brIf: (depth: number) => [0x0d, ...u32(depth)],
  end: [0x0b],
  // Memory: alignment hint (log2 bytes) and a constant offset.
  f32Load: (offset = 0) => [0x2a, 2, ...u32(offset)],
  f32Store: (offset = 0) => [0x38, 2, ...u32(offset)],
  f32Lt: [0x5d],
  /** select(a, b, cond) = cond ? a : b */
  select: [0x1b],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f64Load: (offset = 0) => [0x2b, 3, ...u32(offset)],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64Div: [0xa3],
  f64Nearest: [0x9e],
  f64Min: [0xa4],
  f64Max: [0xa5],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  i32Load: (offset = 0) => [0x28, 2, ...u32(offset)],
  /** Stores an i32 at an address of any alignment (hint 1 byte). */
  i32Store: (offset = 0) => [0x36, 0, ...u32(offset)],
  /** Stores the low 8 bits of an i32. */
  i32Store8: (offset = 0) => [0x3a, 0, ...u32(offset)],
  /** float64 → unsigned i32, saturating (NaN → 0). */
  i32TruncSatF64U: [0xfc, ...u32(0x03)],
  // 128-bit SIMD: prefix 0xfd, then the opcode as u32.
  v128Load: (offset = 0) => [0xfd, ...u32(0x00), 2, ...u32(offset)],
  v128Store: (offset = 0) => [0xfd, ...u32(0x0b), 2, ...u32(offset)],
  f32x4Splat: [0xfd, ...u32(0x13)],
  /** Bytes of two v128 by index: lanes[i] < 16 from the first, ≥ 16 from the second. */
  i8x16Shuffle: (lanes: number[]) => {
    if (lanes.length !== 16 || lanes.some((l) => !(Number.isInteger(l) && l >= 0 && l < 32))) throw new RangeError(`i8x16.shuffle takes 16 lane indices < 32, got ${lanes.join(',')}`);
    return [0xfd, ...u32(0x0d), ...lanes];
  },
  /** The low / high eight u8 lanes zero-extended to u16. */
  i16x8ExtendLowI8x16U: [0xfd, ...u32(0x89)],
  i16x8ExtendHighI8x16U: [0xfd, ...u32(0x8a)],
  /** i32 lanes to float32 (exact below 2²⁴; one cvtdq2ps on x64, where the unsigned form takes several). */
  f32x4ConvertI32x4S: [0xfd, ...u32(0xfa)],
  f32x4Sub: [0xfd, ...u32(0xe5)],
  f32x4Mul: [0xfd, ...u32(0xe6)],
  /** pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a. */
  f32x4Pmin: [0xfd, ...u32(0xea)],
  f32x4Pmax: [0xfd, ...u32(0xeb)],
  /** Loads two float32 (64 bits) into the low lanes, the rest zero. */
  v128Load64Zero: (offset = 0) => [0xfd, ...u32(0x5d), 3, ...u32(offset)],
  /** Stores the low 64 bits (two float32 lanes) of a v128. */
  v128Store64Lane0: (offset = 0) => [0xfd, ...u32(0x5b), 3, ...u32(offset), 0],
  f64x2Splat: [0xfd, ...u32(0x14)],
  f64x2ExtractLane: (lane: number) => [0xfd, ...u32(0x21), lane],
  f64x2Add: [0xfd, ...u32(0xf0)],
  f64x2Sub: [0xfd, ...u32(0xf1)],
  f64x2Mul: [0xfd, ...u32(0xf2)],
  f64x2Div: [0xfd, ...u32(0xf3)],
  f64x2Nearest: [0xfd, ...u32(0x94)],
  /** pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a (JavaScript's clamp ternaries, lane-wise). */
  f64x2Pmin: [0xfd, ...u32(0xf6)],
  f64x2Pmax: [0xfd, ...u32(0xf7)],
  /** The two low float32 lanes widened to float64. */
  f64x2PromoteLowF32x4: [0xfd, ...u32(0x5f)],
  i32x4ExtractLane: (lane: number) => [0xfd, ...u32(0x1b), lane],
  // Integer lanes (BF16 widening, model/bf16.ts).
  i16x8Splat: [0xfd, ...u32(0x10)],
  i16x8Eq: [0xfd, ...u32(0x2d)],
  v128And: [0xfd, ...u32(0x4e)],
  v128Or: [0xfd, ...u32(0x50)],
  /** 1 if any bit of the v128 is set. */
  v128AnyTrue: [0xfd, ...u32(0x53)],
  /** The low / high four u16 lanes zero-extended to u32. */
  i32x4ExtendLowI16x8U: [0xfd, ...u32(0xa9)],
  i32x4ExtendHighI16x8U: [0xfd, ...u32(0xaa)],
  /** Each u32 lane shifted left by an i32 count. */
  i32x4Shl: [0xfd, ...u32(0xab)],
  /** Two float64 lanes → unsigned i32 in the low lanes (saturating), the upper two zero. */
  i32x4TruncSatF64x2UZero: [0xfd, ...u32(0xfd)],
  /** Two float64 lanes rounded to float32 in the low lanes, the upper two zero. */
  f32x4DemoteF64x2Zero: [0xfd, ...u32(0x5e)],
};

export interface WasmFunction {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Locals after the params, in order (their indices continue the params'). */
  locals: ValType[];
  body: number[];
}

/** The module's bytes: one imported memory of at least `minPages` 64 KiB pages, the functions exported by name. */
export function wasmModule(functions: WasmFunction[], minPages = 1): Uint8Array<ArrayBuffer> {
  const types = section(1, vec(functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])));
  const imports = section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...u32(minPages)]])); // kind 2 = memory, limits: min only
  const funcs = section(3, vec(functions.map((_, i) => u32(i))));
  const exports = section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...u32(i)]))); // kind 0 = function
  const code = section(
    10,
    vec(
      functions.map((f) => {
        const locals = vec(f.locals.map((t) => [1, t])); // one entry per local: (count 1, type)
        const body = [...locals, ...f.body, ...op.end];
        return [...u32(body.length), ...body];
      }),
    ),
  );
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

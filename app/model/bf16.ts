// BF16 → float32 for the reads of a BF16 checkpoint. A streamed pass widens every weight it
// reads (1.2 G elements a pass at Llama-3.2-1B), so this is the engine's hottest loop outside
// onnxruntime. bfloat16 is the top half of a float32: widening is a 16-bit shift, which a
// JavaScript loop does at ~0.95 ns per element, a third of what the memory allows. Here each
// chunk of the file is read into a WebAssembly memory, widened there with SIMD (eight lanes a
// step, with a flag for NaN/±Inf), and copied out: 0.35 ns per element, the read included
// (61 M elements, one 1B block: 21 ms against 58 ms, measured on the 2-core machine). The
// chunk stays in the core's L2 cache between the three steps.
import { wasm } from '../wasm/api.js';
import { i32, op, v128, wasmModule, type WasmFunction } from '../wasm/encode.js';

/** Elements per step: 512 KiB of halves in, 1 MiB of floats out. */
const CHUNK = 1 << 18;
const SRC = 0; // byte address of the halves in the kernel's memory
const DST = 2 * CHUNK; // byte address of the floats

// widen(src, dst, n) → any: floats dst[i] = halves src[i] << 16 for i < n (n a multiple of 8),
// and 1 if any half has an all-ones exponent (NaN or ±Inf), else 0.
const [src, dst, n, any, halves, exponent] = [0, 1, 2, 3, 4, 5];
const widen: WasmFunction = {
  name: 'widen',
  params: [i32, i32, i32],
  results: [i32],
  locals: [v128, v128, v128],
  body: [
    ...op.i32Const(0x7f80), ...op.i16x8Splat, ...op.localSet(exponent),
    ...op.block, ...op.loop,
    ...op.localGet(n), ...op.i32Const(8), ...op.i32LtU, ...op.brIf(1),
    ...op.localGet(src), ...op.v128Load(), ...op.localSet(halves),
    ...op.localGet(dst), ...op.localGet(halves), ...op.i32x4ExtendLowI16x8U, ...op.i32Const(16), ...op.i32x4Shl, ...op.v128Store(),
    ...op.localGet(dst), ...op.localGet(halves), ...op.i32x4ExtendHighI16x8U, ...op.i32Const(16), ...op.i32x4Shl, ...op.v128Store(16),
    ...op.localGet(any), ...op.localGet(halves), ...op.localGet(exponent), ...op.v128And, ...op.localGet(exponent), ...op.i16x8Eq, ...op.v128Or, ...op.localSet(any),
    ...op.localGet(src), ...op.i32Const(16), ...op.i32Add, ...op.localSet(src),
    ...op.localGet(dst), ...op.i32Const(32), ...op.i32Add, ...op.localSet(dst),
    ...op.localGet(n), ...op.i32Const(8), ...op.i32Sub, ...op.localSet(n),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.localGet(any), ...op.v128AnyTrue,
  ],
};

interface Kernel {
  widen: (src: number, dst: number, n: number) => number;
  bytes: Uint8Array; // the halves, as the file's bytes
  halves: Uint16Array;
  floats: Float32Array;
}
let kernel: Kernel | null = null;

function instance(): Kernel {
  if (kernel) return kernel;
  const memory = new wasm.Memory({ initial: (6 * CHUNK) / 65536 }); // fixed size: the views below never detach
  const { exports } = new wasm.Instance(new wasm.Module(wasmModule([widen])), { env: { memory } });
  return (kernel = {
    widen: (exports as { widen: Kernel['widen'] }).widen,
    bytes: new Uint8Array(memory.buffer, SRC, 2 * CHUNK),
    halves: new Uint16Array(memory.buffer, SRC, CHUNK),
    floats: new Float32Array(memory.buffer, DST, CHUNK),
  });
}

/**
 * Fills `out` with the BF16 values whose little-endian halves `read(target, offset)` reads from
 * `offset` on (it must fill target or throw), and returns how many are NaN or ±Inf.
 */
export function readBf16(read: (target: Uint8Array, offset: number) => void, offset: number, out: Float32Array): number {
  const k = instance();
  const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  let nonFinite = 0;
  for (let e = 0; e < out.length; e += CHUNK) {
    const m = Math.min(CHUNK, out.length - e);
    read(m === CHUNK ? k.bytes : k.bytes.subarray(0, 2 * m), offset + 2 * e);
    const vectored = m - (m % 8);
    const flagged = k.widen(SRC, DST, vectored) !== 0;
    out.set(vectored === CHUNK ? k.floats : k.floats.subarray(0, vectored), e);
    for (let i = vectored; i < m; i++) outBits[e + i] = k.halves[i] << 16;
    // The exact count only when something is off (the caller then reports it); else the tail.
    for (let i = flagged ? 0 : vectored; i < m; i++) if ((k.halves[i] & 0x7f80) === 0x7f80) nonFinite++;
  }
  return nonFinite;
}

// The part of the WebAssembly JS API the kernels use: Node has it, @types/node leaves its
// types to lib.dom, which the engine does not load.
export interface WasmApi {
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * The part of a `WebAssembly.Memory` that a byte store uses, declared here so that heapkit's
 * published types compile without the DOM lib (TypeScript declares `WebAssembly` only there).
 * A real `WebAssembly.Memory` is one, as the lib declares it.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

export * from "./errors.js";
export type { Allocator, AllocatorStats, BlockInfo, BlockState } from "./allocator.js";
export { checkSize, checkAlign } from "./allocators/validate.js";
export { ByteStore, MAX_STORE_BYTES, OS_PAGE_BYTES, WASM_PAGE_BYTES } from "./memory/store.js";
export type { StoreKind, StoreOptions } from "./memory/store.js";
export { Heap } from "./heap/heap.js";
export type { HeapOptions, HeapStats } from "./heap/heap.js";
export { Buddy, BUDDY_MAX_ALIGN } from "./allocators/buddy.js";
export type { BuddyOptions } from "./allocators/buddy.js";

/** `heapkit`: the Heap, the byte stores, every allocator policy and their registry, the errors. */
export * from "./errors.js";
export type { Allocator, AllocatorStats, HeapSpan, HeldCode, HeldState, SpanGroup, SpanKind, SpanKindCode, SpanVisitor } from "./allocator.js";
export { HELD_STATES, SPAN_FREE, SPAN_KINDS, SPAN_META, SPAN_PAD, SPAN_USED } from "./allocator.js";
export { checkSize, checkAlign } from "./allocators/validate.js";
export { ByteStore, MAX_STORE_BYTES, OS_PAGE_BYTES, WASM_PAGE_BYTES } from "./memory/store.js";
export type { StoreKind, StoreOptions, StoreRange } from "./memory/store.js";
export { Heap } from "./heap/heap.js";
export type { HeapOptions, HeapStats } from "./heap/heap.js";
export { Buddy, BUDDY_MAX_ALIGN } from "./allocators/buddy.js";
export type { BuddyOptions } from "./allocators/buddy.js";
export { FitAllocator, FIT_MAX_ALIGN } from "./allocators/fits.js";
export type { Coalescing, Fit, FitOptions } from "./allocators/fits.js";
export { Pool } from "./allocators/pool.js";
export { DEFAULT_OBJECT_BYTES as POOL_DEFAULT_OBJECT_BYTES, POOL_MAX_ALIGN } from "./allocators/pool-layout.js";
export type { PoolOptions } from "./allocators/pool.js";
export { Arena, InvalidMarkError } from "./allocators/arena.js";
export type { ArenaOptions } from "./allocators/arena.js";
export { Stack, StackScope, FrameMismatchError } from "./allocators/stack.js";
export type { StackFrame, StackOptions } from "./allocators/stack.js";
export { BUMP_MAX_ALIGN } from "./allocators/bump.js";
export { Ring, RING_MAX_ALIGN } from "./allocators/ring.js";
export type { RingOptions } from "./allocators/ring.js";
export { Fifo, FIFO_MAX_ALIGN, DEFAULT_PAGE_BYTES as FIFO_DEFAULT_PAGE_BYTES } from "./allocators/fifo.js";
export type { FifoOptions } from "./allocators/fifo.js";
export type { AllocatorStoreOptions } from "./allocators/common.js";
export { SharedHeap } from "./shared/shared-heap.js";
export type { SharedHeapOptions } from "./shared/shared-heap.js";
export { LockTimeoutError } from "./shared/lock.js";
export { policies, policyNames } from "./policies.js";
export type { Policy, PolicyName } from "./policies.js";
// Also reachable as `heapkit/debug` and `heapkit/trace`; with "sideEffects": false a bundler keeps
// only what is imported (the bundle-size test checks that `Heap` alone brings none of them).
export * from "./debug/index.js";
export * from "./trace/index.js";

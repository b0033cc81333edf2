export * from "./errors.js";
export type { Allocator, AllocatorStats, BlockInfo, BlockState } from "./allocator.js";
export { checkSize, checkAlign } from "./allocators/validate.js";
export { ByteStore, MAX_STORE_BYTES, OS_PAGE_BYTES, WASM_PAGE_BYTES } from "./memory/store.js";
export type { StoreKind, StoreOptions } from "./memory/store.js";
export { Heap } from "./heap/heap.js";
export type { HeapOptions, HeapStats } from "./heap/heap.js";
export { Buddy, BUDDY_MAX_ALIGN } from "./allocators/buddy.js";
export type { BuddyOptions } from "./allocators/buddy.js";
export { DebugHeap, LEFT_CANARY, RIGHT_CANARY, FREED_POISON, ALLOC_FILL } from "./debug/debug-heap.js";
export type { BlockDescription, DebugHeapOptions, DebugHeapStats } from "./debug/debug-heap.js";
export { HardenedHeap } from "./debug/hardened-heap.js";
export type { HardenedHeapOptions, HardenedHeapStats } from "./debug/hardened-heap.js";
export {
  BufferOverflowError, UseAfterFreeError, DebugDoubleFreeError, DebugInvalidFreeError, CorruptedHeaderError,
} from "./debug/errors.js";
export type { BlockStory, InvalidPointerPlace, UseAfterFreeAccess } from "./debug/errors.js";
export { LeakReport } from "./debug/leaks.js";
export type { HeapSnapshot, LeakSite, LeakedBlock } from "./debug/leaks.js";
export type { Site, SiteOperation } from "./debug/sites.js";
export { FitAllocator, FIT_MAX_ALIGN } from "./allocators/fits.js";
export type { Coalescing, Fit, FitOptions } from "./allocators/fits.js";
// Traces (browser-safe: reading files with gzip and stdin is `readTraceFile` in dist/src/trace/reader.js).
export { parseTrace, TraceParser, MAX_TRACE_IDS } from "./trace/parser.js";
export { TraceFormatError } from "./trace/errors.js";
export { OP_ALLOC, OP_REALLOC, OP_FREE } from "./trace/trace.js";
export type { Trace, TraceHeader } from "./trace/trace.js";
export { replayTrace } from "./trace/replay.js";
export type { ReplayFailure, ReplayFailureKind, ReplayOptions, ReplayResult } from "./trace/replay.js";
export type { TimeSeries } from "./trace/samples.js";
export { traceStats } from "./trace/stats.js";
export type { HistogramBucket, TraceStats } from "./trace/stats.js";

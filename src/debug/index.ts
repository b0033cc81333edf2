/** `heapkit/debug`: the checking heaps (DebugHeap, HardenedHeap), their errors and leak reports. */
export { DebugHeap, LEFT_CANARY, RIGHT_CANARY, FREED_POISON, ALLOC_FILL } from "./debug-heap.js";
export type { BlockDescription, DebugHeapOptions, DebugHeapStats } from "./debug-heap.js";
export { HardenedHeap } from "./hardened-heap.js";
export type { HardenedHeapOptions, HardenedHeapStats } from "./hardened-heap.js";
export {
  BufferOverflowError, UseAfterFreeError, DebugDoubleFreeError, DebugInvalidFreeError, CorruptedHeaderError,
} from "./errors.js";
export type { BlockStory, InvalidPointerPlace, UseAfterFreeAccess } from "./errors.js";
export { LeakReport } from "./leaks.js";
export type { HeapSnapshot, LeakSite, LeakedBlock } from "./leaks.js";
export type { Site, SiteOperation } from "./sites.js";

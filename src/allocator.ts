/**
 * The one interface every heapkit allocator implements, so the CLI, the lab and the debug
 * wrappers can swap policies. Pointers are byte offsets into `store` (plain numbers); 0 is never
 * a valid block and means "no memory". Nothing here allocates a JS object per block.
 */
import type { ByteStore } from "./memory/store.js";

export interface Allocator {
  /** The policy name, as in the `policies` registry ("heap", "pool", ...). */
  readonly name: string;
  /** Where the blocks live. Re-read its views after any call that may grow it. */
  readonly store: ByteStore;
  /** Allocates `size` bytes aligned to `align` (a power of two). Returns 0 when out of memory. */
  malloc(size: number, align?: number): number;
  /** Frees a live block. Throws `InvalidFreeError`/`DoubleFreeError` for anything else. */
  free(ptr: number): void;
  /** Resizes a live block, moving it if needed; returns the new offset or 0 (block unchanged). */
  realloc(ptr: number, size: number): number;
  /** Bytes the caller may use in a live block (at least what was asked). */
  usableSize(ptr: number): number;
  /** A snapshot of the allocator's gauges and counters. */
  stats(): AllocatorStats;
  /** Walks every structure and throws `HeapCorruptionError` if an invariant fails. */
  check(): void;
  /** Every block in address order, for drawing and for checks. */
  walk(): IterableIterator<BlockInfo>;
  /** Frees everything at once, where the policy can. */
  reset?(): void;
}

export type BlockState = "used" | "free" | "meta";

/** One block as `walk()` reports it: `offset` is the user offset (payload) for used blocks. */
export interface BlockInfo {
  offset: number;
  /** Bytes the block spans in the store, its header and padding included. */
  sizeBytes: number;
  state: BlockState;
}

/**
 * Stats are a plain object with the unit in every name. "Live" counts what callers asked for;
 * the extent is the highest byte the allocator has handed out (its `brk`); committed bytes are
 * the store's current size (RSS-like) and reserved bytes the most it may grow to (VSZ-like).
 */
export interface AllocatorStats {
  liveBlocks: number;
  liveBytes: number;
  peakLiveBytes: number;
  extentBytes: number;
  peakExtentBytes: number;
  committedBytes: number;
  reservedBytes: number;
  /** Bytes in free blocks below the extent (holes). */
  freeBytes: number;
  largestFreeBytes: number;
  /** Bytes handed out beyond what was asked (rounding, headers excluded): usable - requested. */
  internalFragmentationBytes: number;
  /** 1 - largest free / total free; 0 when nothing is free. */
  externalFragmentation: number;
  mallocCount: number;
  freeCount: number;
}

/** Validates a requested size for any allocator; throws `InvalidSizeError` naming the value. */
export { checkSize, checkAlign } from "./allocators/validate.js";

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
  /**
   * The spans of the region in address order, tiling it (see the walk contract below). With
   * `start`/`end`, only the spans that overlap [start, end): the first one may begin before
   * `start`. Policies whose layout finds the block at an address do this in time proportional
   * to the range; the others say in their TSDoc that they walk from the base.
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan>;
  /**
   * The same spans as `walk(start, end)`, handed to `visit` as numbers, with no object made per
   * span (for drawing a million blocks in a frame). Returns the number of spans visited.
   */
  walkInto(visit: SpanVisitor, start?: number, end?: number): number;
  /** Frees everything at once, where the policy can. */
  reset?(): void;
}

/**
 * The walk contract. Every policy's `walk()` yields spans that TILE its region:
 *
 *   base                                                          >= base + extentBytes
 *   |<-meta->|<--used-->|<pad>|<--free-->|<--used-->| ... |<-free->|
 *   span[0].start = base;  span[i+1].start = span[i].start + span[i].bytes  (no gap, no overlap)
 *   last.start + last.bytes >= base + stats().extentBytes  and  <= stats().committedBytes
 *
 * `base` is `stats().baseOffset`, 0 for every policy: offsets count from the store's views, which
 * for a Heap on a range of a buffer start at the range's base (`heap.base` in the buffer).
 * - `start`, `bytes`: the span's first byte in the store and its length, headers included.
 * - `kind`: "used" (a live block: `ptr` is what malloc returned, start <= ptr < start + bytes,
 *   `requestedBytes` what was asked), "free" (reusable, or held back: see `held`), "meta"
 *   (control block, slab header, descriptor, page-table leaf, red zone...) or "pad" (alignment
 *   and rounding that belongs to no block).
 * - `held`: for a freed block not yet reusable: "quarantine" (DebugHeap), "delayed" (HardenedHeap's
 *   delayed reuse), "remote" (a cross-Worker free not yet collected). Held spans are kind "free"
 *   and are never counted in `stats().liveBlocks`.
 * - `group`: the structure the span belongs to (a slab, a page span...), for drawing.
 * - `detail`: the same in words, for a tooltip.
 * The number of "used" spans equals `stats().liveBlocks`.
 */
export type SpanKind = "used" | "free" | "meta" | "pad";

/** Numeric span kinds for the allocation-free `walkInto` form: index into SPAN_KINDS. */
export const SPAN_KINDS: readonly SpanKind[] = ["used", "free", "meta", "pad"];
export type SpanKindCode = 0 | 1 | 2 | 3;
export const SPAN_USED = 0;
export const SPAN_FREE = 1;
export const SPAN_META = 2;
export const SPAN_PAD = 3;

export type HeldState = "quarantine" | "delayed" | "remote";

export interface SpanGroup {
  start: number;
  bytes: number;
  kind: "slab" | "span" | "page" | "region" | "frame";
  /** The slot size of a slab's class, where the group is a slab. */
  sizeClassBytes?: number;
}

export interface HeapSpan {
  start: number;
  bytes: number;
  kind: SpanKind;
  ptr?: number;
  requestedBytes?: number;
  held?: HeldState;
  group?: SpanGroup;
  detail?: string;
}

/**
 * The allocation-free walk: called once per span, in address order, with numbers only, so a
 * million blocks can be drawn in a frame. `ptr` and `requestedBytes` are 0 for spans that are not
 * used blocks; `groupStart` is -1 where the span belongs to no group; `held` indexes HELD_STATES
 * (0: not held).
 */
export type SpanVisitor = (
  start: number,
  bytes: number,
  kind: SpanKindCode,
  ptr: number,
  requestedBytes: number,
  groupStart: number,
  held: HeldCode,
) => void;

/** Numeric held states for `walkInto`: 0 = not held, else an index into HELD_STATES. */
export type HeldCode = 0 | 1 | 2 | 3;
export const HELD_STATES: readonly (HeldState | undefined)[] = [undefined, "quarantine", "delayed", "remote"];

/**
 * Stats are a plain object with the unit in every name. "Live" counts what callers asked for;
 * the extent is the highest byte the allocator has handed out (its `brk`); committed bytes are
 * the store's current size (RSS-like) and reserved bytes the most it may grow to (VSZ-like).
 */
export interface AllocatorStats {
  /** Where the allocator's region starts in the store (the first span's start): 0 for now. */
  baseOffset: number;
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

/**
 * Read-only views of a heap, computed from its bytes alone (so they work on an attached heap):
 * `walkHeap` yields every block and slab slot in address order, `heapStats` the gauges.
 * Kept apart from heap.ts so nothing here sits on the allocation path.
 */
import type { BlockInfo } from "../allocator.js";
import type { ByteStore } from "../memory/store.js";
import {
  F_FREE_COUNT, F_HOLE_BYTES, F_LIVE_BYTES, F_MALLOC_COUNT, F_PEAK_LIVE_BYTES, F_PEAK_TOP, F_ROUNDING_BYTES,
  F_SLAB_PAGES, FREE_BIT, HEADER_BYTES, PAGE_MAP_OFFSET, PAGE_SHIFT, S_CAPACITY, S_CLASS, S_LIVE, S_NEXT,
  S_SLOT_BYTES, SIZE_MASK, SLAB_CLASSES, SLAB_HEADER_BYTES, SMALL_CLASS_COUNT, W_HEAP_START,
  W_SLAB_HEADS, W_TOP,
} from "./layout.js";
import type { HeapStats } from "./heap.js";

export function heapStats(store: ByteStore, largestFreeBlock: number): HeapStats {
  const f64 = store.f64;
  const freeBytes = f64[F_HOLE_BYTES]! + slabFreeBytes(store.u32);
  const largestFreeBytes = largestFreeBlock;
  return {
    liveBlocks: f64[F_MALLOC_COUNT]! - f64[F_FREE_COUNT]!,
    liveBytes: f64[F_LIVE_BYTES]!,
    peakLiveBytes: f64[F_PEAK_LIVE_BYTES]!,
    extentBytes: store.u32[W_TOP]!,
    peakExtentBytes: f64[F_PEAK_TOP]!,
    committedBytes: store.committedBytes,
    reservedBytes: store.reservedBytes,
    freeBytes,
    largestFreeBytes,
    internalFragmentationBytes: f64[F_ROUNDING_BYTES]!,
    externalFragmentation: freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes,
    mallocCount: f64[F_MALLOC_COUNT]!,
    freeCount: f64[F_FREE_COUNT]!,
    slabPages: f64[F_SLAB_PAGES]!,
  };
}

/** Free slots × slot bytes over the partial slabs (full slabs have none free). */
export function slabFreeBytes(u32: Uint32Array): number {
  let total = 0;
  for (let c = 0; c < SMALL_CLASS_COUNT; c++) {
    for (let s = u32[W_SLAB_HEADS + c]!; s !== 0; s = u32[(s >>> 2) + S_NEXT]!) {
      const h = s >>> 2;
      total += (u32[h + S_CAPACITY]! - u32[h + S_LIVE]!) * u32[h + S_SLOT_BYTES]!;
    }
  }
  return total;
}

/** True when the page holding p is a slab page. */
export function isSlabPage(u32: Uint32Array, p: number): boolean {
  return ((u32[(PAGE_MAP_OFFSET >>> 2) + (p >>> (PAGE_SHIFT + 5))]! >>> ((p >>> PAGE_SHIFT) & 31)) & 1) !== 0;
}

/** Nibble of slot i in slab s: 0 free, else 1 + slack. */
export function slotNibble(u32: Uint32Array, s: number, i: number): number {
  return (u32[((s + SLAB_HEADER_BYTES) >>> 2) + (i >>> 3)]! >>> ((i & 7) << 2)) & 15;
}

/**
 * Every block in address order. TLSF blocks: used ones at their pointer, free ones at their
 * start, each spanning its whole block size. A slab page: its header as "meta", then each slot.
 */
export function* walkHeap(store: ByteStore): IterableIterator<BlockInfo> {
  const u32 = store.u32;
  const top = u32[W_TOP]!;
  for (let b = u32[W_HEAP_START]!; b < top; ) {
    const word = store.u32[(b + 4) >>> 2]!;
    const size = word & SIZE_MASK;
    const p = b + HEADER_BYTES;
    if (word & FREE_BIT) yield { offset: b, sizeBytes: size, state: "free" };
    else if (isSlabPage(store.u32, p)) yield* walkSlab(store.u32, p, size);
    else yield { offset: p, sizeBytes: size, state: "used" };
    if (size === 0) return; // a corrupt header; check() reports it
    b += size;
  }
}

function* walkSlab(u32: Uint32Array, s: number, blockSize: number): IterableIterator<BlockInfo> {
  const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[u32[(s >>> 2) + S_CLASS]!]!;
  yield { offset: s - HEADER_BYTES, sizeBytes: HEADER_BYTES + firstSlot, state: "meta" };
  for (let i = 0; i < capacity; i++) {
    yield { offset: s + firstSlot + i * slotBytes, sizeBytes: slotBytes, state: slotNibble(u32, s, i) === 0 ? "free" : "used" };
  }
  const tail = blockSize - HEADER_BYTES - firstSlot - capacity * slotBytes;
  if (tail > 0) yield { offset: s + firstSlot + capacity * slotBytes, sizeBytes: tail, state: "meta" };
}

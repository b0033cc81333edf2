/**
 * Read-only views of a heap, computed from its bytes alone (so they work on an attached heap):
 * `walkHeap` yields every block and slab slot in address order, `heapStats` the gauges.
 * Kept apart from heap.ts so nothing here sits on the allocation path.
 */
import type { BlockInfo } from "../allocator.js";
import type { ByteStore } from "../memory/store.js";
import { Gauge, Layout, SLAB_CLASSES, SlabWord, Word } from "./layout.js";
import type { HeapStats } from "./heap.js";

export function heapStats(store: ByteStore, largestFreeBlock: number): HeapStats {
  const f64 = store.f64;
  const freeBytes = f64[Gauge.HOLE_BYTES]! + slabFreeBytes(store.u32);
  const largestFreeBytes = largestFreeBlock;
  return {
    liveBlocks: f64[Gauge.MALLOC_COUNT]! - f64[Gauge.FREE_COUNT]!,
    liveBytes: f64[Gauge.LIVE_BYTES]!,
    peakLiveBytes: f64[Gauge.PEAK_LIVE_BYTES]!,
    extentBytes: store.u32[Word.TOP]!,
    peakExtentBytes: f64[Gauge.PEAK_TOP]!,
    committedBytes: store.committedBytes,
    reservedBytes: store.reservedBytes,
    freeBytes,
    largestFreeBytes,
    internalFragmentationBytes: f64[Gauge.ROUNDING_BYTES]!,
    externalFragmentation: freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes,
    mallocCount: f64[Gauge.MALLOC_COUNT]!,
    freeCount: f64[Gauge.FREE_COUNT]!,
    slabPages: f64[Gauge.SLAB_PAGES]!,
  };
}

/** Free slots × slot bytes over the partial slabs (full slabs have none free). */
export function slabFreeBytes(u32: Uint32Array): number {
  let total = 0;
  for (let c = 0; c < Layout.SMALL_CLASS_COUNT; c++) {
    for (let s = u32[Word.SLAB_HEADS + c]!; s !== 0; s = u32[(s >>> 2) + SlabWord.NEXT]!) {
      const h = s >>> 2;
      total += (u32[h + SlabWord.CAPACITY]! - u32[h + SlabWord.LIVE]!) * u32[h + SlabWord.SLOT_BYTES]!;
    }
  }
  return total;
}

/** True when the page holding p is a slab page. */
export function isSlabPage(u32: Uint32Array, p: number): boolean {
  return ((u32[(Gauge.PAGE_MAP_OFFSET >>> 2) + (p >>> (Layout.PAGE_SHIFT + 5))]! >>> ((p >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0;
}

/** Nibble of slot i in slab s: 0 free, else 1 + slack. */
export function slotNibble(u32: Uint32Array, s: number, i: number): number {
  return (u32[((s + Layout.SLAB_HEADER_BYTES) >>> 2) + (i >>> 3)]! >>> ((i & 7) << 2)) & 15;
}

/**
 * Every block in address order. TLSF blocks: used ones at their pointer, free ones at their
 * start, each spanning its whole block size. A slab page: its header as "meta", then each slot.
 */
export function* walkHeap(store: ByteStore): IterableIterator<BlockInfo> {
  const u32 = store.u32;
  const top = u32[Word.TOP]!;
  for (let b = u32[Word.HEAP_START]!; b < top; ) {
    const word = store.u32[(b + 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    const p = b + Layout.HEADER_BYTES;
    if (word & Layout.FREE_BIT) yield { offset: b, sizeBytes: size, state: "free" };
    else if (isSlabPage(store.u32, p)) yield* walkSlab(store.u32, p, size);
    else yield { offset: p, sizeBytes: size, state: "used" };
    if (size === 0) return; // a corrupt header; check() reports it
    b += size;
  }
}

function* walkSlab(u32: Uint32Array, s: number, blockSize: number): IterableIterator<BlockInfo> {
  const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[u32[(s >>> 2) + SlabWord.CLASS]!]!;
  yield { offset: s - Layout.HEADER_BYTES, sizeBytes: Layout.HEADER_BYTES + firstSlot, state: "meta" };
  for (let i = 0; i < capacity; i++) {
    yield { offset: s + firstSlot + i * slotBytes, sizeBytes: slotBytes, state: slotNibble(u32, s, i) === 0 ? "free" : "used" };
  }
  const tail = blockSize - Layout.HEADER_BYTES - firstSlot - capacity * slotBytes;
  if (tail > 0) yield { offset: s + firstSlot + capacity * slotBytes, sizeBytes: tail, state: "meta" };
}

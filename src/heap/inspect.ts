/**
 * Read-only views of a heap, computed from its bytes alone (so they work on an attached heap):
 * `heapStats` the gauges, deriving those the heap does not store (see `Gauge` in layout.ts), and
 * the lookups the walk (walk.ts) and check share.
 * Kept apart from heap.ts so nothing here sits on the allocation path.
 */
import { assembleStats } from "../allocators/stats.js";
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Gauge, Layout, liveSlotsOf, SLAB_CLASSES, slabClassOf, SlabState, SlabWord, Word } from "./layout.js";
import { Mid, MID_CLASSES, midDescriptorOf, midRootWord } from "./mid-layout.js";
import type { HeapStats } from "./heap-stats.js";

export function heapStats(store: ByteStore, largestFreeBlock: number): HeapStats {
  const f64 = store.f64;
  const u32 = store.u32;
  const slabs = slabTotals(u32);
  const freeBytes = holeBytes(u32) + slabs.freeBytes;
  const largestFreeBytes = largestFreeBlock;
  const { liveBlocks, liveBytes, roundingBytes } = derivedGauges(store, slabs);
  return assembleStats(store, {
    liveBlocks,
    liveBytes,
    peakLiveBytes: f64[Gauge.PEAK_LIVE_BYTES]!,
    extentBytes: u32[Word.TOP]!,
    peakExtentBytes: f64[Gauge.PEAK_TOP]!,
    freeBytes,
    largestFreeBytes,
    internalFragmentationBytes: roundingBytes,
    mallocCount: mallocCount(store, slabs),
    freeCount: mallocCount(store, slabs) - liveBlocks,
    slabPages: f64[Gauge.SLAB_PAGES]!,
    midSlabs: slabs.midSlabs,
  });
}

/** Sums over every small and mid slab (found through the page map and the mid descriptors). */
export interface SlabTotals {
  slabs: number;
  midSlabs: number;
  /** Σ of the TLSF block sizes of the slabs and of the mid layer's leaves and descriptor pages. */
  blockBytes: number;
  liveSlots: number;
  /** Σ of the mallocs the slabs' state words hold (not yet in Gauge.MALLOC_COUNT). */
  uncountedMallocs: number;
  /** Σ live slots × slot bytes. */
  liveSlotBytes: number;
  /** Σ free slots × slot bytes. */
  freeBytes: number;
}

export function slabTotals(u32: Uint32Array): SlabTotals {
  const t: SlabTotals = { slabs: 0, midSlabs: 0, blockBytes: 0, liveSlots: 0, uncountedMallocs: 0, liveSlotBytes: 0, freeBytes: 0 };
  const first = Gauge.PAGE_MAP_OFFSET >>> 2;
  for (let w = 0; w < u32[Word.PAGE_MAP_WORDS]!; w++) {
    for (let bits = u32[first + w]!; bits !== 0; bits &= bits - 1) {
      const s = (w * 32 + 31 - Math.clz32(bits & -bits)) * Layout.SLAB_PAGE_BYTES + Layout.HEADER_BYTES;
      const h = s >>> 2;
      const c = slabClassOf(u32[h + SlabWord.INFO]!);
      const { slotBytes, capacity } = SLAB_CLASSES[c]!;
      const state = u32[h + SlabWord.STATE]!;
      const live = liveSlotsOf(state);
      t.slabs++;
      t.blockBytes += u32[h - 1]! & Layout.SIZE_MASK;
      t.liveSlots += live;
      t.uncountedMallocs += state >>> SlabState.MALLOCS_SHIFT;
      t.liveSlotBytes += live * slotBytes;
      t.freeBytes += (capacity - live) * slotBytes;
    }
  }
  for (const p of midMetaBlocks(u32)) t.blockBytes += u32[(p - 4) >>> 2]! & Layout.SIZE_MASK;
  for (const d of midDescriptors(u32)) {
    const h = d >>> 2;
    const { slotBytes, capacity } = MID_CLASSES[u32[h + Mid.CLASS]!]!;
    const state = u32[h + Mid.STATE]!;
    const live = capacity - (state & Mid.FREE_MASK);
    t.midSlabs++;
    t.blockBytes += u32[(u32[h + Mid.BASE]! + 4) >>> 2]! & Layout.SIZE_MASK;
    t.liveSlots += live;
    t.uncountedMallocs += state >>> Mid.MALLOCS_SHIFT;
    t.liveSlotBytes += live * slotBytes;
    t.freeBytes += (capacity - live) * slotBytes;
  }
  return t;
}

/**
 * The most blocks that fit from the heap start to the top, so the most entries any list of the
 * heap can have: every list walk stops there (a cycle made by corruption ends in an error).
 */
export function blockLimit(u32: Uint32Array): number {
  return Math.ceil(Math.max(0, u32[Word.TOP]! - u32[Word.HEAP_START]!) / Layout.MIN_BLOCK_BYTES) + 1;
}

/** Throws once a walk of `list` has taken more than `limit` steps. */
export function boundStep(steps: number, limit: number, list: string, offset?: number): void {
  if (steps > limit) throw new HeapCorruptionError(`${list} has a cycle (more entries than the heap has blocks)`, offset);
}

/** The descriptor of every mid slab, page by page of the descriptor pages. */
export function* midDescriptors(u32: Uint32Array): IterableIterator<number> {
  const limit = blockLimit(u32);
  let steps = 0;
  for (let page = u32[Word.MID_DESCRIPTOR_PAGES]!; page !== 0; page = u32[page >>> 2]!) {
    boundStep(++steps, limit, "the list of mid descriptor pages", page);
    for (let k = 1; k <= Mid.DESCRIPTORS_PER_PAGE; k++) {
      const d = page + k * Mid.DESCRIPTOR_BYTES;
      if (u32[(d >>> 2) + Mid.BASE] !== 0) yield d;
    }
  }
}

/** The payload of every leaf of the mid page table and every descriptor page. */
export function* midMetaBlocks(u32: Uint32Array): IterableIterator<number> {
  const root = midRootWord(u32);
  for (let r = 0; r < u32[Word.MID_ROOT_WORDS]!; r++) if (u32[root + r] !== 0) yield u32[root + r]!;
  const limit = blockLimit(u32);
  let steps = 0;
  for (let page = u32[Word.MID_DESCRIPTOR_PAGES]!; page !== 0; page = u32[page >>> 2]!) {
    boundStep(++steps, limit, "the list of mid descriptor pages", page);
    yield page;
  }
}

/** The descriptor of the mid slab whose TLSF block starts at b, or 0 when it is no mid slab. */
export function midSlabAt(u32: Uint32Array, b: number): number {
  const d = midDescriptorOf(u32, midRootWord(u32), b);
  return d !== 0 && u32[(d >>> 2) + Mid.BASE] === b ? d : 0;
}

/** The gauges layout.ts derives rather than stores. */
export function derivedGauges(store: ByteStore, slabs: SlabTotals): { liveBlocks: number; liveBytes: number; roundingBytes: number } {
  const f64 = store.f64;
  const u32 = store.u32;
  const tlsfLive = u32[Word.TLSF_LIVE_BLOCKS]!;
  const liveBytes = f64[Gauge.PEAK_LIVE_BYTES]! - u32[Word.LIVE_HEADROOM]!;
  const tlsfUsable = u32[Word.TOP]! - u32[Word.HEAP_START]! - holeBytes(u32) - slabs.blockBytes - Layout.HEADER_BYTES * tlsfLive;
  return { liveBlocks: slabs.liveSlots + tlsfLive, liveBytes, roundingBytes: slabs.liveSlotBytes + tlsfUsable - liveBytes };
}

/** Σ of the sizes of the free blocks: those in the free lists, the growth reserve and the mid cache. */
export function holeBytes(u32: Uint32Array): number {
  const reserve = u32[Word.RESERVE]!;
  let total = reserve === 0 ? 0 : u32[(reserve - 4) >>> 2]! & Layout.SIZE_MASK;
  const limit = blockLimit(u32);
  let steps = 0;
  for (let c = 0; c < Mid.CLASS_COUNT; c++) {
    for (let p = u32[Word.MID_CACHE + c]!; p !== 0; p = u32[p >>> 2]!) {
      boundStep(++steps, limit, "the mid cache lists", p);
      total += u32[(p - 4) >>> 2]! & Layout.SIZE_MASK;
    }
  }
  for (let list = 0; list < Layout.FL_COUNT * Layout.SL_COUNT; list++) {
    for (let p = u32[Word.FREE_HEADS + list]!; p !== 0; p = u32[p >>> 2]!) {
      boundStep(++steps, limit, "the TLSF free lists", p);
      total += u32[(p - 4) >>> 2]! & Layout.SIZE_MASK;
    }
  }
  return total;
}

export function mallocCount(store: ByteStore, slabs: SlabTotals): number {
  return store.f64[Gauge.MALLOC_COUNT]! + slabs.uncountedMallocs;
}

/** True when the page holding p is a slab page. */
export function isSlabPage(u32: Uint32Array, p: number): boolean {
  return ((u32[(Gauge.PAGE_MAP_OFFSET >>> 2) + (p >>> (Layout.PAGE_SHIFT + 5))]! >>> ((p >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0;
}

/** Nibble of slot i in slab s: 0 free, else 1 + slack. */
export function slotNibble(u32: Uint32Array, s: number, i: number): number {
  const j = SlabWord.FIRST_NIBBLE + i;
  return (u32[(s >>> 2) + (j >>> 3)]! >>> ((j & 7) << 2)) & 15;
}

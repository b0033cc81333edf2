/**
 * Mid slabs, drawn: the bytes that serve requests of SMALL_MAX_BYTES+1 .. Mid.MAX_BYTES.
 *
 * A mid slab is a used TLSF block of Mid.SLAB_BYTES (16 KiB) whose header starts a page b; bit
 * (b >> 12) of the mid map says a mid slab starts there (midSlabBase finds the slab of any
 * offset from it). Page alignment, not 16 KiB alignment: a 16 KiB-aligned slab left a hole of
 * up to 16 KiB before it, which cost 5 to 7 % of utilization on the shared traces. Its slots are
 * one class's size, and all of its bookkeeping is in the first lines of the slab, apart from
 * the slots: a free or a malloc reads and writes the header only, never the slot's own bytes
 * (jemalloc keeps slab metadata out of the slots for the same reason: a free then touches a
 * small header, not a cache line next to the block, which with many live blocks misses the
 * caches and the TLB).
 *
 *   b          b+8     b+12   b+16   b+20   b+24              b+24+4cap        first = b+F
 *   ┌──────────┬───────┬──────┬──────┬──────┬─────────────────┬────────────────┬──┬──────┬──────┬───
 *   │ TLSF hdr │ state │ class│ next │ prev │ stack[cap] (u32)│ request[cap]   │  │ slot │ slot │ ...
 *   └──────────┴───────┴──────┴──────┴──────┴─────────────────┴────────────────┴──┴──────┴──────┴───
 *   state = mallocs << 8 | free, where free is how many slot numbers stack[0..free) holds;
 *   mallocs counts the slab's mallocs not yet added to Gauge.MALLOC_COUNT (as for small slabs).
 *   request[i] = the bytes requested for live slot i (SMALL_MAX_BYTES+1 .. slot bytes),
 *   NEVER_USED (0) for a slot not handed out since the slab was made, FREED for a freed one.
 *   next, prev: the class's list of slabs with a free slot (W[MID_HEADS + class] is its head).
 *   Slot i is at b + F + i * slot bytes, F a multiple of 16, so every slot is 16-aligned.
 *
 * Invariants (checked by check.ts), for each mid slab of class c:
 *   stack[0..free) are distinct slot numbers, exactly those whose request is not a live size
 *   live(s) = capacity(c) - free;   free > 0  <=>  s is in the list of class c
 *   live(s) > 0, or s is its class's spare W[MID_SPARES + c] (the slab that emptied last: the
 *   one before it went back to the TLSF layer as s emptied, if it was still empty)
 *   mid map bit (b >> 12) == 1  <=>  a mid slab starts at b
 *
 * Classes: slot sizes spaced about 1/8 apart (at most 12.5 % rounding, as in jemalloc's four-
 * per-doubling classes made finer), each the largest multiple of 16 that packs its slot count
 * into the slab, so the tail and header waste at most 2.5 % of it.
 */
import { Layout } from "./layout.js";

export const enum Mid {
  SHIFT = 14,
  SLAB_BYTES = 1 << SHIFT,
  /** 4 KiB pages per slab. */
  PAGES = SLAB_BYTES >>> 12,
  /** Largest request served from mid slabs (the largest class). */
  MAX_BYTES = 4080,
  CLASS_COUNT = 18,
  /** Word offsets from b >>> 2. */
  STATE = 2,
  CLASS = 3,
  NEXT = 4,
  PREV = 5,
  STACK = 6,
  FREE_MASK = 0xff,
  MALLOCS_SHIFT = 8,
  MALLOC_ONE = 1 << MALLOCS_SHIFT,
  /** A state at or above this holds 2^24 - 1 uncounted mallocs: one more would wrap. */
  MALLOCS_FULL = 0xffffff00,
  NEVER_USED = 0,
  FREED = 0xffffffff,
  SLOT_ALIGN = 16,
  /** floor(offset / slot bytes) = ((offset >>> 4) * recip) >>> RECIP_SHIFT, exact in a slab. */
  RECIP_SHIFT = 20,
}

/** Slot sizes of the mid classes, smallest first. */
const SLOT_BYTES = [288, 336, 384, 448, 512, 592, 672, 768, 896, 1008, 1152, 1344, 1616, 2032, 2320, 2704, 3264, 4080];

export interface MidClass {
  slotBytes: number;
  capacity: number;
  /** Offset of slot 0 from b. */
  firstSlot: number;
  /** Word offset of request[0] from b >>> 2. */
  requestWord: number;
  recip: number;
}

function firstSlotFor(capacity: number): number {
  return (Mid.STACK * 4 + 8 * capacity + Mid.SLOT_ALIGN - 1) & ~(Mid.SLOT_ALIGN - 1);
}

export const MID_CLASSES: readonly MidClass[] = SLOT_BYTES.map((slotBytes) => {
  let capacity = Math.floor(Mid.SLAB_BYTES / slotBytes);
  while (firstSlotFor(capacity) + capacity * slotBytes > Mid.SLAB_BYTES) capacity--;
  const recip = Math.ceil(2 ** Mid.RECIP_SHIFT / (slotBytes / 16));
  return { slotBytes, capacity, firstSlot: firstSlotFor(capacity), requestWord: Mid.STACK + capacity, recip };
});

/** The class of a request of SMALL_MAX_BYTES+1 .. MAX_BYTES bytes, by (size + 15) >>> 4. */
export const MID_CLASS_OF: Uint8Array = Uint8Array.from({ length: (Mid.MAX_BYTES >>> 4) + 1 }, (_, i) => {
  const c = SLOT_BYTES.findIndex((bytes) => bytes >= i * 16);
  return c < 0 ? 0 : c;
});

// Per-class constants as typed arrays, for the fast path to read without an object load.
export const MID_SLOT_BYTES: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.slotBytes);
export const MID_FIRST_SLOT: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.firstSlot);
export const MID_REQUEST_WORD: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.requestWord);
export const MID_RECIP: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.recip);
export const MID_CAPACITY: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.capacity);

/** Slot number of offset p in the mid slab at b of class c, or -1 when p is not a slot start. */
export function midSlotIndex(p: number, b: number, c: number): number {
  const offset = p - b - MID_FIRST_SLOT[c]!;
  const i = ((offset >>> 4) * MID_RECIP[c]!) >>> Mid.RECIP_SHIFT;
  return offset >= 0 && i < MID_CAPACITY[c]! && i * MID_SLOT_BYTES[c]! === offset ? i : -1;
}

/**
 * The base of the mid slab holding p, or -1: the mid map has one bit per 4 KiB page, set where
 * a mid slab starts, and a slab spans Mid.PAGES pages, so p's slab starts at the highest set bit
 * at most Mid.PAGES - 1 pages below p's page. `map` is the mid map's word index in u32.
 */
export function midSlabBase(u32: Uint32Array, map: number, p: number): number {
  const page = p >>> Layout.PAGE_SHIFT;
  let bits = u32[map + (page >>> 5)]! & (0xffffffff >>> (31 - (page & 31)));
  let start = (page & ~31) + 31 - Math.clz32(bits);
  if (bits === 0 && (page & 31) < Mid.PAGES - 1 && page >= 32) {
    bits = u32[map + (page >>> 5) - 1]!;
    start = (page & ~31) - 1 - Math.clz32(bits);
  }
  return bits !== 0 && page - start < Mid.PAGES ? start * Layout.SLAB_PAGE_BYTES : -1;
}

/** True when `request` is what a live slot's request word can hold. */
export function isLiveRequest(request: number): boolean {
  return request > Layout.SMALL_MAX_BYTES && request <= Mid.MAX_BYTES;
}

// ---- Agreement of tunables, checked once at load ------------------------------------------
function assertMid(ok: boolean, what: string): void {
  if (!ok) throw new Error(`heapkit mid-slab layout: ${what}`);
}
assertMid(SLOT_BYTES.length === Mid.CLASS_COUNT, "CLASS_COUNT counts the slot sizes");
assertMid(SLOT_BYTES[0]! > Layout.SMALL_MAX_BYTES && SLOT_BYTES.at(-1) === Mid.MAX_BYTES, "the classes start above the small ones and end at MAX_BYTES");
assertMid(SLOT_BYTES.every((bytes, i) => bytes % Mid.SLOT_ALIGN === 0 && (i === 0 || bytes > SLOT_BYTES[i - 1]!)), "slot sizes rise in steps of 16");
assertMid(MID_CLASSES.every((c) => c.capacity >= 4 && c.capacity <= Mid.FREE_MASK), "every class holds 4..255 slots");
assertMid(MID_CLASSES.every((c) => Mid.SLAB_BYTES - c.firstSlot - c.capacity * c.slotBytes <= Mid.SLAB_BYTES / 40), "header and tail waste at most 2.5 % of a slab");
assertMid(Mid.SLAB_BYTES <= Layout.MAX_ALIGN && Mid.SLAB_BYTES >= Layout.SLAB_PAGE_BYTES, "a mid slab can be aligned to its size");
assertMid(MID_CLASSES.every((c, k) => {
  for (let offset = -c.firstSlot; offset < Mid.SLAB_BYTES - c.firstSlot; offset += 8) {
    const i = offset / c.slotBytes;
    const want = Number.isInteger(i) && i >= 0 && i < c.capacity ? i : -1;
    if (midSlotIndex(c.firstSlot + offset, 0, k) !== want) return false;
  }
  return true;
}), "the reciprocal finds exactly the slot starts");

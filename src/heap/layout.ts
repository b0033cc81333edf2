/**
 * The bytes of a `Heap`, drawn. Everything lives in the byte store, so a heap can be attached
 * from another Worker or reopened from saved bytes. Offsets are bytes; `W(x)` is word x>>>2.
 *
 * Store
 * ┌──────────────────────┬───────────┬──────────── blocks ─────────────┬────────── ... ─┐
 * │ control block        │ page map  │ [hdr|payload][hdr|payload] ...  │ wilderness     │
 * │ (words, stats, lists)│ 1 bit/page│ heapStart                  top  │ up to committed│
 * └──────────────────────┴───────────┴─────────────────────────────────┴────────────────┘
 *
 * Block (TLSF layer), named by its payload offset p; block size S counts the header:
 *
 *   p-8       p-4              p          p+4        p+S-12        p+S-8
 *   ┌─────────┬────────────────┬──────────┬──────────┬ ... ┬────────┐
 *   │ check   │ S | P | F      │ next free│ prev free│     │ S      │  free block
 *   ├─────────┼────────────────┼──────────┴──────────┴ ... ┴────────┤
 *   │ check   │ S | P | 0      │ payload: S-8 usable bytes         │  used block
 *   └─────────┴────────────────┴───────────────────────────────────┘
 *   F (bit 0) this block is free; P (bit 1) the block before it is free (its footer is at p-12).
 *   check (used) = requested bytes XOR key(p, S); check (free) = FREE_TAG XOR key(p, S).
 *   A free with a forged or interior offset fails the check (a 2^-29 chance for random data).
 *
 * Slab page (small sizes): a TLSF block whose header starts a page, SLAB_PAGE_BYTES long (plus,
 * rarely, a tail of 8 or 16 bytes that was too small to split off when it was carved).
 *
 *   page      page+8 = s
 *   ┌─────────┬──────┬──────┬──────┬──────┬──────┬──────┬───────┬───────┬──────┬───────┬─────────┬──────┬───
 *   │ TLSF hdr│ slot │ live │ free │ bump │ next │ prev │ first │ recip │ cap  │ class │ nibbles │ slot │ ...
 *   └─────────┴──────┴──────┴──────┴──────┴──────┴──────┴───────┴───────┴──────┴───────┴─────────┴──────┴───
 *   nibble i = 0 when slot i is free, else 1 + (slot bytes - requested bytes), in 1..9.
 *   free = first free slot (each free slot holds the next), bump = first never-used slot.
 *
 * Size classes: requests of 0..SMALL_MAX_BYTES bytes go to slab class ceil(n/8)-1 (slots of
 * 8, 16, ... 256 bytes, no header each). Larger ones are TLSF blocks: first level = floor(log2
 * S), second level = the next SL_LOG2 bits (Masmano et al., "TLSF: a New Dynamic Memory
 * Allocator for Real-Time Systems", ECRTS 2004; M. Conte's tlsf.c for the linear small range).
 * Requests of LARGE_MIN_BYTES or more are page spans: their size is a whole number of pages.
 */

// ---- May be tuned -------------------------------------------------------------------------
/** log2 of the number of second-level lists per first-level range. */
export const SL_LOG2 = 5;
/** Largest request served from slabs. */
export const SMALL_MAX_BYTES = 256;
/** A slab is one page. */
export const SLAB_PAGE_BYTES = 4096;
/** Requests at least this large are rounded to whole pages. */
export const LARGE_MIN_BYTES = 256 * 1024;
/** Largest alignment `malloc` accepts. */
export const MAX_ALIGN = 65536;

// ---- Derived: do not modify ---------------------------------------------------------------
export const GRANULE = 8;
export const HEADER_BYTES = 8;
/** Header + next + prev + footer, rounded to the granule. */
export const MIN_BLOCK_BYTES = 24;
export const SL_COUNT = 1 << SL_LOG2;
/** Below this block size the lists are linear (one per granule). */
export const LINEAR_MAX_BYTES = SL_COUNT * GRANULE;
const LINEAR_LOG2 = Math.log2(LINEAR_MAX_BYTES);
/** First-level ranges: [0, 256) linear, then [2^k, 2^(k+1)) for k = 8..31. */
export const FL_COUNT = 32 - LINEAR_LOG2 + 1;
export const SMALL_CLASS_COUNT = SMALL_MAX_BYTES / GRANULE;
export const PAGE_SHIFT = Math.log2(SLAB_PAGE_BYTES);

export const FREE_BIT = 1;
export const PREV_FREE_BIT = 2;
export const SIZE_MASK = ~7;
export const FREE_TAG = 0xf7eeb10c;
export const MAGIC = 0x4850_4b48; // "HKPH"
export const VERSION = 1;

// ---- Control block: word indexes into u32 -------------------------------------------------
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_SECRET = 2;
export const W_HEAP_START = 3;
export const W_TOP = 4;
export const W_PAGE_MAP_WORDS = 5;
export const W_FL_BITMAP = 6;
export const W_SL_BITMAPS = 7;
export const W_FREE_HEADS = W_SL_BITMAPS + FL_COUNT;
export const W_SLAB_HEADS = W_FREE_HEADS + FL_COUNT * SL_COUNT;
const W_END = W_SLAB_HEADS + SMALL_CLASS_COUNT;

// ---- Control block: f64 indexes for the gauges and counters -------------------------------
// Live blocks = mallocs - frees; free slab bytes are summed from the partial slab lists.
export const F_BASE = Math.ceil(W_END / 2);
export const F_LIVE_BYTES = F_BASE + 0;
export const F_PEAK_LIVE_BYTES = F_BASE + 1;
export const F_PEAK_TOP = F_BASE + 2;
/** Σ over live blocks of (usable - requested). */
export const F_ROUNDING_BYTES = F_BASE + 3;
/** Σ over free TLSF blocks of their size. */
export const F_HOLE_BYTES = F_BASE + 4;
export const F_MALLOC_COUNT = F_BASE + 5;
export const F_FREE_COUNT = F_BASE + 6;
export const F_SLAB_PAGES = F_BASE + 7;
/** Byte offset where the page map starts. */
export const PAGE_MAP_OFFSET = (F_BASE + 8) * 8;

// ---- Slab header: word offsets from s = page + 8 ------------------------------------------
// The class's constants are copied into each slab so the fast path reads one cache line.
export const S_SLOT_BYTES = 0;
export const S_LIVE = 1;
export const S_FREE = 2;
export const S_BUMP = 3;
export const S_NEXT = 4;
export const S_PREV = 5;
/** Offset of slot 0 (absolute). */
export const S_FIRST = 6;
/** ceil(2^20 / slot bytes): slot index = (offset * recip) >>> 20, exact for offsets < 4096. */
export const S_RECIP = 7;
export const S_CAPACITY = 8;
export const S_CLASS = 9;
export const SLAB_HEADER_BYTES = 40;
export const RECIP_SHIFT = 20;
/** The slab's payload, as a TLSF block: the page minus the TLSF header. */
export const SLAB_BLOCK_PAYLOAD = SLAB_PAGE_BYTES - HEADER_BYTES;

export interface SlabClass {
  slotBytes: number;
  capacity: number;
  /** Offset of slot 0 from s. */
  firstSlot: number;
  recip: number;
}

/** Slot size, capacity and first slot of each small class, fitted into one page. */
export const SLAB_CLASSES: readonly SlabClass[] = Array.from({ length: SMALL_CLASS_COUNT }, (_, c) => {
  const slotBytes = (c + 1) * GRANULE;
  let capacity = Math.floor((SLAB_BLOCK_PAYLOAD - SLAB_HEADER_BYTES) / slotBytes);
  const firstSlotFor = (cap: number) => SLAB_HEADER_BYTES + roundUp8(Math.ceil(cap / 2));
  while (firstSlotFor(capacity) + capacity * slotBytes > SLAB_BLOCK_PAYLOAD) capacity--;
  return { slotBytes, capacity, firstSlot: firstSlotFor(capacity), recip: Math.ceil(2 ** RECIP_SHIFT / slotBytes) };
});

/** Small class of a request of 0..SMALL_MAX_BYTES bytes. */
export function smallClassOf(size: number): number {
  return size === 0 ? 0 : (size - 1) >>> 3;
}

/** TLSF block size for a request: header + payload, granule-rounded; page-rounded when large. */
export function blockSizeFor(size: number): number {
  if (size >= LARGE_MIN_BYTES) return Math.ceil((size + HEADER_BYTES) / SLAB_PAGE_BYTES) * SLAB_PAGE_BYTES;
  return Math.max(MIN_BLOCK_BYTES, roundUp8(size + HEADER_BYTES));
}

/** Most (usable - requested) a used TLSF block can show; a decoded check beyond it is forged. */
export function maxSlackFor(usable: number): number {
  return Math.max(MIN_BLOCK_BYTES + GRANULE, usable >>> 4);
}

/** mapping_insert: the free list a block of `size` bytes belongs to, as fl * SL_COUNT + sl. */
export function listIndexOf(size: number): number {
  if (size < LINEAR_MAX_BYTES) return size >>> 3;
  const log2 = 31 - Math.clz32(size);
  const fl = log2 - LINEAR_LOG2 + 1;
  const sl = (size >>> (log2 - SL_LOG2)) ^ SL_COUNT;
  return fl * SL_COUNT + sl;
}

/** mapping_search: size rounded up so that every block in its list is large enough. */
export function searchSizeFor(size: number): number {
  if (size < LINEAR_MAX_BYTES) return size;
  const log2 = 31 - Math.clz32(size);
  return size + (1 << (log2 - SL_LOG2)) - 1;
}

/** Mixes a block's offset and size with the heap's secret (a multiplicative hash). */
export function keyOf(p: number, size: number, secret: number): number {
  return (Math.imul(p ^ secret, 0x9e3779b1) ^ Math.imul(size, 0x85ebca6b)) >>> 0;
}

export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

// ---- Agreement of tunables, checked once at load ------------------------------------------
function assertLayout(ok: boolean, what: string): void {
  if (!ok) throw new Error(`heapkit heap layout: ${what}`);
}
assertLayout(SMALL_MAX_BYTES % GRANULE === 0, "SMALL_MAX_BYTES is a multiple of the granule");
assertLayout(SMALL_MAX_BYTES < LINEAR_MAX_BYTES * 4, "small sizes stay within the first ranges");
assertLayout((SLAB_PAGE_BYTES & (SLAB_PAGE_BYTES - 1)) === 0, "SLAB_PAGE_BYTES is a power of two");
assertLayout(SLAB_CLASSES.every((c) => c.capacity >= 8 && c.capacity <= 15 * 32), "every slab class holds 8..480 slots");
assertLayout(PAGE_MAP_OFFSET % 8 === 0, "the page map is word-aligned");
assertLayout(SLAB_PAGE_BYTES * (2 ** RECIP_SHIFT / GRANULE) < 2 ** 31, "slot index arithmetic stays in int32");
assertLayout(SLAB_CLASSES.every(({ slotBytes }) => {
  const recip = Math.ceil(2 ** RECIP_SHIFT / slotBytes);
  return Array.from({ length: SLAB_PAGE_BYTES / slotBytes }, (_, k) => ((k * slotBytes * recip) >>> RECIP_SHIFT) === k).every(Boolean);
}), "the reciprocal gives exact slot indexes");
assertLayout(listIndexOf(2 ** 32 - 8) < FL_COUNT * SL_COUNT, "the largest block has a list");

/**
 * The bytes of a `Heap`, drawn. Everything lives in the byte store, so a heap can be attached
 * from another Worker or reopened from saved bytes. Offsets are bytes; `W(x)` is word x>>>2.
 *
 * Store
 * ┌──────────────────────┬───────────┬───────────┬──────────── blocks ─────────────┬───── ... ─┐
 * │ control block        │ page map  │ mid root  │ [hdr|payload][hdr|payload] ...  │ wilderness│
 * │ (words, stats, lists)│ 1 bit/page│ 1 w/4 MiB │ heapStart                  top  │ (committed│
 * └──────────────────────┴───────────┴───────────┴─────────────────────────────────┴───── ... ─┘
 *   page map bit: a small-size slab starts at this page;  mid root: the mid slabs' page table
 *   (mid-layout.ts). A heap on a range of a buffer has the same bytes from the range's base:
 *   its store's views start there (store.ts), so every offset here is relative to it.
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
 *   check (used) = requested bytes XOR key(p, S); check (free) = FREE_TAG XOR key(p, S);
 *   check (a used block held in the mid cache, mid-cache.ts) = CACHED_TAG XOR key(p, S).
 *   A free with a forged or interior offset fails the check (a 2^-29 chance for random data).
 *
 * Slab page (small sizes): a TLSF block whose header starts a page, SLAB_PAGE_BYTES long (plus,
 * rarely, a tail of 8 or 16 bytes that was too small to split off when it was carved).
 *
 *   page      page+8 = s
 *   ┌─────────┬───────────┬──────┬──────┬──────┬──────┬─────────┬──────┬──────┬───
 *   │ TLSF hdr│ state     │ info │ bump │ next │ prev │ nibbles │ slot │ slot │ ...
 *   └─────────┴───────────┴──────┴──────┴──────┴──────┴─────────┴──────┴──────┴───
 *   state = mallocs << 21 | live slots << 12 | free, where free is the page offset of the first
 *   free slot (0: none) and each free slot holds the page offset of the next; mallocs counts the
 *   slab's mallocs not yet added to Gauge.MALLOC_COUNT (added when it would wrap, and when the
 *   slab is released). So a malloc or free of a slot reads and writes one header word for all.
 *   info = the class's constants packed in one word (see SlabInfo), so the fast path reads one
 *   word of the header to find a slot's nibble.
 *   nibble i = 0 when slot i is free, else 1 + (slot bytes - requested bytes), in 1..9; the table
 *   has two more nibbles than slots, always 0, which offsets past the last slot land on.
 *   bump = first slot never threaded onto the free list. Slots are threaded SLAB_REFILL_SLOTS at
 *   a time whenever the free list runs dry, so free == 0 exactly when every slot is live.
 *
 * Size classes: requests of 0..SMALL_MAX_BYTES bytes go to slab class ceil(n/8)-1 (slots of
 * 8, 16, ... 256 bytes, no header each); those up to Mid.MAX_BYTES (8176) to the mid slabs
 * (mid-layout.ts), unless they ask for an alignment above 16. The rest are TLSF blocks: first
 * level = floor(log2 S), second level = the next SL_LOG2 bits (Masmano et al., "TLSF: a New
 * Dynamic Memory Allocator for Real-Time Systems", ECRTS 2004; M. Conte's tlsf.c for the linear
 * small range). Requests of LARGE_MIN_BYTES or more are page spans: a whole number of pages.
 */

// Every constant below is a `const enum` member, so TypeScript writes it into the code as a
// literal: an imported `const` would cost V8 a module-cell load and check at every use, which
// measurably slows the fast path.

/** Sizes and bits of blocks and classes. The first five may be tuned; the rest are derived. */
export const enum Layout {
  /** log2 of the number of second-level lists per first-level range. */
  SL_LOG2 = 5,
  /** Largest request served from slabs. */
  SMALL_MAX_BYTES = 256,
  /** A slab is one page of 2^PAGE_SHIFT bytes. */
  PAGE_SHIFT = 12,
  /** Requests at least this large are rounded to whole pages. */
  LARGE_MIN_BYTES = 256 * 1024,
  /**
   * A freed block at least this large leaves a kept hole (tlsf.ts): glibc's default mmap
   * threshold (DEFAULT_MMAP_THRESHOLD_MIN, malloc/malloc.c), above which glibc maps a block
   * apart from its heap, so that when it is freed no smaller block can split its space.
   */
  KEPT_MIN_BYTES = 128 * 1024,
  /** Blocks realloc grows to at least this size get a growth reserve (tlsf.ts). */
  GROWER_MIN_BYTES = 64 * 1024,
  /** Largest alignment `malloc` accepts. */
  MAX_ALIGN = 65536,
  /** Mid slab classes (mid-layout.ts lists their slot sizes; the control block holds a list head per class). */
  MID_CLASS_COUNT = 58,

  GRANULE = 8,
  GRANULE_LOG2 = 3,
  HEADER_BYTES = 8,
  /** Header + next + prev + footer, rounded to the granule. */
  MIN_BLOCK_BYTES = 24,
  SLAB_PAGE_BYTES = 1 << PAGE_SHIFT,
  SL_COUNT = 1 << SL_LOG2,
  /** Below this block size the lists are linear (one per granule). */
  LINEAR_LOG2 = SL_LOG2 + GRANULE_LOG2,
  LINEAR_MAX_BYTES = 1 << LINEAR_LOG2,
  /** First-level ranges: [0, 256) linear, then [2^k, 2^(k+1)) for k = 8..31. */
  FL_COUNT = 32 - LINEAR_LOG2 + 1,
  SMALL_CLASS_COUNT = SMALL_MAX_BYTES / GRANULE,
  /** The slab's payload, as a TLSF block: the page minus the TLSF header. */
  SLAB_BLOCK_PAYLOAD = SLAB_PAGE_BYTES - HEADER_BYTES,
  /** The slab header words before the nibble table. */
  SLAB_HEADER_BYTES = 20,
  /** Slots threaded onto a slab's free list at a time (fewer pages touched by a new slab). */
  SLAB_REFILL_SLOTS = 16,
  /** recip = ceil(2^15 / slot granules): floor(granule / slot granules) = (granule * recip) >>> 15. */
  RECIP_SHIFT = 15,

  FREE_BIT = 1,
  PREV_FREE_BIT = 2,
  SIZE_MASK = ~7,
  FREE_TAG = 0xf7eeb10c,
  /** The check word of a block in the mid cache (mid-cache.ts) is CACHED_TAG XOR its key. */
  CACHED_TAG = 0xcac4edb1,
  MAGIC = 0x48504b48, // "HKPH"
  VERSION = 12,
}

/**
 * A TLSF block's words, as byte offsets from its payload p (drawn above): `(p + Block.SIZE) >>> 2`
 * is the index of its size word in u32. A block's footer is at PREV_FOOTER from its successor's
 * payload, so the footer of the block before p is at p + PREV_FOOTER.
 */
export const enum Block {
  CHECK = -8,
  SIZE = -4,
  NEXT_FREE = 0,
  PREV_FREE = 4,
  PREV_FOOTER = -12,
}

/** Control block: word indexes into u32. */
export const enum Word {
  MAGIC = 0,
  VERSION = 1,
  SECRET = 2,
  HEAP_START = 3,
  TOP = 4,
  PAGE_MAP_WORDS = 5,
  /** Peak live bytes - live bytes: a malloc that fits in it leaves the peak alone. */
  LIVE_HEADROOM = 6,
  /** Used TLSF blocks that are not slabs. */
  TLSF_LIVE_BLOCKS = 7,
  FL_BITMAP = 8,
  SL_BITMAPS = 9,
  FREE_HEADS = SL_BITMAPS + Layout.FL_COUNT,
  SLAB_HEADS = FREE_HEADS + Layout.FL_COUNT * Layout.SL_COUNT,
  /** Words of the mid page table's root (one per 4 MiB of the reservation), after the page map. */
  MID_ROOT_WORDS = SLAB_HEADS + Layout.SMALL_CLASS_COUNT,
  /** Head of each mid class's list of slabs with a free slot, by descriptor (mid-layout.ts). */
  MID_HEADS = MID_ROOT_WORDS + 1,
  /** The heap's one spare mid slab: the slab that emptied last (0: none), kept until another empties or a class needs a slab. */
  MID_SPARE = MID_HEADS + Layout.MID_CLASS_COUNT,
  /** The free descriptors, linked through their next word (0: none). */
  MID_FREE_DESCRIPTORS = MID_SPARE + 1,
  /** The descriptor pages, linked through their first word (0: none). */
  MID_DESCRIPTOR_PAGES = MID_FREE_DESCRIPTORS + 1,
  /** The heap's root: one offset its user keeps here, so an agent that attaches finds its data. */
  ROOT = MID_DESCRIPTOR_PAGES + 1,
  /** The concurrent-use guard's in-use word (guard.ts): 0 no agent inside a call, 1 one is. */
  IN_USE = ROOT + 1,
  /**
   * Per mid class, the live TLSF blocks whose request falls in the class: a class whose slabs
   * are all full gets a new slab only once it holds a slab's worth of such blocks (mid-slabs.ts).
   */
  MID_TLSF_LIVE = IN_USE + 1,
  /**
   * A heap on a range of a buffer (store.ts): the range's end in the buffer, so attach finds
   * it; 0 for a heap with a store of its own.
   */
  RANGE_END = MID_TLSF_LIVE + Layout.MID_CLASS_COUNT,
  /**
   * The growth reserve (tlsf.ts): the large block that realloc grew last (0: none), the room
   * its next step would take (0: it grows too fast to reserve for) and the reserve itself (a
   * free block kept out of the free lists, right after the grower; 0: none).
   */
  GROWER = RANGE_END + 1,
  GROWER_NEXT = GROWER + 1,
  RESERVE = GROWER_NEXT + 1,
  /**
   * The kept hole (tlsf.ts): the free block a page span left when it was freed last (0: none),
   * which small requests leave whole while they may still carve this many bytes from the top.
   */
  KEPT = RESERVE + 1,
  KEPT_BUDGET = KEPT + 1,
  /** The mid cache (mid-cache.ts): per mid class, its first cached block and their count; and the count of all. */
  MID_CACHE = KEPT_BUDGET + 1,
  MID_CACHED = MID_CACHE + Layout.MID_CLASS_COUNT,
  MID_CACHED_ALL = MID_CACHED + Layout.MID_CLASS_COUNT,
  END = MID_CACHED_ALL + 1,
}

/**
 * Control block: f64 indexes for the gauges and counters. Only what cannot be derived is kept,
 * so a slab malloc or free updates one word of the control block, and the TLSF lists none at all
 * (inspect.ts derives the rest when stats are asked for; W = u32 words of the control block):
 *   mallocs       = MALLOC_COUNT + Σ over slabs of the mallocs counted in their state word
 *   live bytes    = PEAK_LIVE_BYTES - W[LIVE_HEADROOM]
 *   live blocks   = Σ over slabs of live + W[TLSF_LIVE_BLOCKS];   frees = mallocs - live blocks
 *   hole bytes    = Σ over the free lists of block sizes
 *   rounding      = Σ over slabs of live * slot bytes + usable bytes of live TLSF blocks - live bytes
 *   usable bytes of live TLSF blocks = (top - heapStart) - hole bytes - Σ slab block sizes
 *                                      - HEADER_BYTES * W[TLSF_LIVE_BLOCKS]
 */
export const enum Gauge {
  BASE = (Word.END + 1) >> 1,
  PEAK_LIVE_BYTES = BASE,
  PEAK_TOP = BASE + 1,
  MALLOC_COUNT = BASE + 2,
  SLAB_PAGES = BASE + 3,
  /** Byte offset where the page map (1 bit per page: is it a slab?) starts, after the gauges. */
  PAGE_MAP_OFFSET = (BASE + 4) * 8,
  PAGE_MAP_WORD = PAGE_MAP_OFFSET / 4,
}

/** Slab header: word offsets from s = page + 8. */
export const enum SlabWord {
  STATE = 0,
  INFO = 1,
  BUMP = 2,
  NEXT = 3,
  PREV = 4,
  NIBBLES = Layout.SLAB_HEADER_BYTES / 4,
  /** Nibble number (counted from s) of the first nibble of the table. */
  FIRST_NIBBLE = NIBBLES * 8,
}

/** The slab state word: uncounted mallocs, live slots and the page offset of the first free slot. */
export const enum SlabState {
  FREE_MASK = 0xfff,
  LIVE_SHIFT = 12,
  LIVE_MASK = 0x1ff,
  LIVE_ONE = 1 << LIVE_SHIFT,
  MALLOCS_SHIFT = 21,
  MALLOCS_ONE = 1 << MALLOCS_SHIFT,
  MALLOCS_MAX = 2047,
  /** A state at or above this has MALLOCS_MAX uncounted mallocs: one more would wrap. */
  MALLOCS_FULL = MALLOCS_MAX * 2 ** MALLOCS_SHIFT,
  /** What a slot malloc adds: one more malloc, one more live slot. */
  MALLOC_STEP = MALLOCS_ONE + LIVE_ONE,
}

/** Live slots of a slab, from its state word. */
export function liveSlotsOf(state: number): number {
  return (state >>> SlabState.LIVE_SHIFT) & SlabState.LIVE_MASK;
}

/**
 * The packed slab info word. With g = (offset in the page) / 8 and n = slot bytes / 8, slot t
 * starts at granule n*t + (first slot's granule), so g is a slot start exactly when
 * g == n * floor(g/n) + PHASE, and then its nibble is number floor(g/n) + BIAS counted from s:
 *
 *   31             16 15    11 10     6 5      0
 *   ┌────────────────┬───────┬────────┬────────┐
 *   │ recip          │ PHASE │ n-1    │ BIAS   │   floor(g/n) = (g * recip) >>> RECIP_SHIFT
 *   └────────────────┴───────┴────────┴────────┘
 *   the class is n - 1; BIAS = FIRST_NIBBLE - floor(first slot's granule / n).
 */
export const enum SlabInfo {
  BIAS_MASK = 63,
  CLASS_SHIFT = 6,
  CLASS_MASK = 31,
  PHASE_SHIFT = 11,
  PHASE_MASK = 31,
  RECIP_SHIFT = 16,
}

export interface SlabClass {
  slotBytes: number;
  capacity: number;
  /** Offset of slot 0 from s. */
  firstSlot: number;
  /** The packed info word of this class's slabs. */
  info: number;
}

/** Slot size, capacity and first slot of each small class, fitted into one page. */
export const SLAB_CLASSES: readonly SlabClass[] = Array.from({ length: Layout.SMALL_CLASS_COUNT }, (_, c) => {
  const slotBytes = (c + 1) * Layout.GRANULE;
  let capacity = Math.floor((Layout.SLAB_BLOCK_PAYLOAD - Layout.SLAB_HEADER_BYTES) / slotBytes);
  const firstSlotFor = (cap: number) => roundUp8(Layout.SLAB_HEADER_BYTES + Math.ceil((cap + 2) / 2));
  while (firstSlotFor(capacity) + capacity * slotBytes > Layout.SLAB_BLOCK_PAYLOAD) capacity--;
  const firstSlot = firstSlotFor(capacity);
  const n = c + 1;
  const firstGranule = (Layout.HEADER_BYTES + firstSlot) / Layout.GRANULE;
  const recip = Math.ceil(2 ** Layout.RECIP_SHIFT / n);
  const bias = SlabWord.FIRST_NIBBLE - Math.floor(firstGranule / n);
  const info = ((recip << SlabInfo.RECIP_SHIFT) | ((firstGranule % n) << SlabInfo.PHASE_SHIFT) | (c << SlabInfo.CLASS_SHIFT) | bias) >>> 0;
  return { slotBytes, capacity, firstSlot, info };
});

/** The info words by class, for malloc to read from the JS heap (constants, not heap state). */
export const SLAB_INFO: Uint32Array = Uint32Array.from(SLAB_CLASSES, (c) => c.info);

/** Class of a slab, from its info word. */
export function slabClassOf(info: number): number {
  return (info >>> SlabInfo.CLASS_SHIFT) & SlabInfo.CLASS_MASK;
}

/**
 * Nibble number (from s) of the slot at p in a slab with this info word, or -1 when p is not
 * the start of a slot (it lies in the header, or inside a slot).
 */
export function slotNibbleIndex(p: number, info: number): number {
  const g = (p & (Layout.SLAB_PAGE_BYTES - 1)) >>> Layout.GRANULE_LOG2;
  const q = (g * (info >>> SlabInfo.RECIP_SHIFT)) >>> Layout.RECIP_SHIFT;
  const j = q + (info & SlabInfo.BIAS_MASK);
  const start = q * (((info >>> SlabInfo.CLASS_SHIFT) & SlabInfo.CLASS_MASK) + 1) + ((info >>> SlabInfo.PHASE_SHIFT) & SlabInfo.PHASE_MASK);
  return j >= SlabWord.FIRST_NIBBLE && g === start ? j : -1;
}

/** Small class of a request of 0..SMALL_MAX_BYTES bytes. */
export function smallClassOf(size: number): number {
  return size === 0 ? 0 : (size - 1) >>> 3;
}

/** TLSF block size for a request: header + payload, granule-rounded; page-rounded when large. */
export function blockSizeFor(size: number): number {
  if (size >= Layout.LARGE_MIN_BYTES) return Math.ceil((size + Layout.HEADER_BYTES) / Layout.SLAB_PAGE_BYTES) * Layout.SLAB_PAGE_BYTES;
  return Math.max(Layout.MIN_BLOCK_BYTES, roundUp8(size + Layout.HEADER_BYTES));
}

/** Most (usable - requested) a used TLSF block can show; a decoded check beyond it is forged. */
export function maxSlackFor(usable: number): number {
  return Math.max(Layout.MIN_BLOCK_BYTES + Layout.GRANULE, usable >>> 4);
}

/** mapping_insert: the free list a block of `size` bytes belongs to, as fl * SL_COUNT + sl. */
export function listIndexOf(size: number): number {
  if (size < Layout.LINEAR_MAX_BYTES) return size >>> 3;
  const log2 = 31 - Math.clz32(size);
  const fl = log2 - Layout.LINEAR_LOG2 + 1;
  const sl = (size >>> (log2 - Layout.SL_LOG2)) ^ Layout.SL_COUNT;
  return fl * Layout.SL_COUNT + sl;
}

/** mapping_search: size rounded up so that every block in its list is large enough. */
export function searchSizeFor(size: number): number {
  if (size < Layout.LINEAR_MAX_BYTES) return size;
  const log2 = 31 - Math.clz32(size);
  return size + (1 << (log2 - Layout.SL_LOG2)) - 1;
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
assertLayout(Layout.SMALL_MAX_BYTES % Layout.GRANULE === 0, "SMALL_MAX_BYTES is a multiple of the granule");
assertLayout(Layout.SMALL_MAX_BYTES < Layout.LINEAR_MAX_BYTES * 4, "small sizes stay within the first ranges");
assertLayout((Layout.SLAB_PAGE_BYTES & (Layout.SLAB_PAGE_BYTES - 1)) === 0, "SLAB_PAGE_BYTES is a power of two");
assertLayout(SLAB_CLASSES.every((c) => c.capacity >= 8 && c.capacity <= 15 * 32), "every slab class holds 8..480 slots");
assertLayout(Gauge.PAGE_MAP_OFFSET % 8 === 0, "the page map is word-aligned");
assertLayout(SLAB_CLASSES.every((c) => c.capacity <= SlabState.LIVE_MASK), "a slab's live count fits its state bits");
assertLayout(Layout.SLAB_PAGE_BYTES - 1 <= SlabState.FREE_MASK, "a page offset fits the state's free bits");
assertLayout(Layout.SLAB_PAGE_BYTES / Layout.GRANULE * 2 ** Layout.RECIP_SHIFT < 2 ** 31, "slot index arithmetic stays in int32");
assertLayout(SLAB_CLASSES.every(({ slotBytes, firstSlot }) => SlabWord.FIRST_NIBBLE - Math.floor((Layout.HEADER_BYTES + firstSlot) / slotBytes) <= SlabInfo.BIAS_MASK), "the packed info word stays inside the nibble table");
assertLayout(listIndexOf(2 ** 32 - 8) < Layout.FL_COUNT * Layout.SL_COUNT, "the largest block has a list");

/**
 * Mid slabs, drawn: the bytes that serve requests of SMALL_MAX_BYTES+1 .. Mid.MAX_BYTES.
 *
 * A mid slab is a used TLSF block of its class's slab bytes (Mid.SLAB_BYTES, 16 KiB; for the
 * classes between two far-apart 16 KiB ones Mid.WIDE_SLAB_BYTES, 32 KiB; for the classes above
 * 4080 bytes Mid.TALL_SLAB_BYTES, 64 KiB; for a power of two, 32 to 128 KiB: withPowersOfTwo)
 * that starts a page b:
 * its TLSF header, 8 bytes of padding, then its slots, all of one class. Its bookkeeping is not in the
 * slab but in a descriptor, one of many packed into descriptor pages, so that a free reads a
 * few cached lines of dense metadata instead of a header on a page of its own (with 100,000
 * live blocks the slabs span 200 MB, and a header per slab missed the caches and the TLB on
 * every free; jemalloc keeps its slab metadata apart from the slabs for the same reason).
 *
 *   slab      b          b+8       b+16 = b+FIRST_SLOT
 *             ┌──────────┬─────────┬────────┬────────┬─── ... ───┬────────┬──────┐
 *             │ TLSF hdr │ (pad)   │ slot 0 │ slot 1 │           │ slot n │ tail │
 *             └──────────┴─────────┴────────┴────────┴─── ... ───┴────────┴──────┘
 *
 *   descriptor d (Mid.DESCRIPTOR_BYTES, word offsets from d >>> 2)
 *   ┌──────┬───────┬───────┬──────┬──────┬─────────────────┬──────────────────────────────┐
 *   │ base │ state │ class │ next │ prev │ free bits (2 w) │ request[capacity] (u16)      │
 *   └──────┴───────┴───────┴──────┴──────┴─────────────────┴──────────────────────────────┘
 *   base = b (0: the descriptor is free, and next links the free descriptors).
 *   state = mallocs << 8 | free, free counting the free slots; mallocs counts the slab's mallocs
 *   not yet added to Gauge.MALLOC_COUNT (as for small slabs).
 *   free bits: bit i set when slot i is free; malloc takes the lowest, so a slab fills from its
 *   start. request[i], a u16 (u16 index midRequestIndex(d, i)) = the bytes requested for live
 *   slot i (SMALL_MAX_BYTES+1 .. slot bytes),
 *   NEVER_USED (0) for a slot not handed out since the slab was made, FREED for a freed one.
 *   next, prev: the class's list of slabs with a free slot, by descriptor (W[MID_HEADS + c]).
 *
 *   Finding a slot's descriptor: a two-level page table. Its root follows the page map
 *   (midRootWord), W[MID_ROOT_WORDS] words, one per 4 MiB; root word p >> 22 is a leaf (0:
 *   none), a TLSF block of LEAF_ENTRIES words, one per page of its 4 MiB, and the word of each
 *   of a slab's pages is its descriptor (0: no mid slab there). Descriptor pages (META_PAYLOAD bytes,
 *   DESCRIPTORS_PER_PAGE descriptors after a first one that links the pages from
 *   W[MID_DESCRIPTOR_PAGES]) and leaves are TLSF blocks marked with a request of 0, which no
 *   used block of that size can have, so free() refuses them; they are kept for the heap's
 *   life (one leaf per 4 MiB that ever held a mid slab, one page per 24 slabs at the peak).
 *
 * Invariants (checked by check.ts), for each mid slab b with descriptor d, class c:
 *   free bit i == 1  <=>  request[i] is not a live size;   free == Σ free bits;  no bit >= capacity
 *   free > 0  <=>  d is in the list of class c
 *   live(d) > 0, or d is the heap's spare W[MID_SPARE] (the slab that emptied last, of any
 *   class: the one before it went back to the TLSF layer as d emptied, if it was still empty)
 *   leaf word of page q == d  <=>  q is one of the pages of b's slab bytes;  base(d) == b
 *   descriptors: each in use by one slab, or on the free list
 *
 * Classes: each the largest multiple of 16 that packs a slot count into its slab, so the tail
 * wastes at most 2.5 % of the slab. 16 KiB slabs give about one per 1/16 where their slot counts
 * are dense and one per slot count above 1 KiB (4..16 slots, 7 to 25 % apart); between two of
 * those more than 1/16 apart, a 32 KiB slab's packing is a class too (18 of them) where it has
 * at most PACKED_MAX_SLOTS slots (from 576 bytes). Neighbouring classes are then under 7.5 %
 * apart from 544 bytes to 2.3 KiB, 7.5 to 12 % above (3632 to 4080 at the top), and as before
 * 6 to 10 % below 544 bytes. Classes 1/8 apart (an earlier layout, 18 of them) rounded a program's one hot
 * size up by as much as 14 % (jq's 392-byte values to 448); one per 16 KiB slot count, 28 of
 * them, rounded sqlite's 1032-byte pages (1 KiB and a header) to 1088.
 */
import { Gauge, Layout, Word } from "./layout.js";

export const enum Mid {
  SLAB_BYTES = 1 << 14,
  /** Bytes of a wide slab, for the classes between two 16 KiB ones that lie far apart. */
  WIDE_SLAB_BYTES = 1 << 15,
  /** Bytes of a tall slab, for the classes above the 16 KiB slabs' largest (NARROW_MAX_BYTES). */
  TALL_SLAB_BYTES = 1 << 16,
  /** Largest class of the 16 and 32 KiB slabs: above it a 16 KiB slab holds three slots or fewer. */
  NARROW_MAX_BYTES = 4080,
  /** Fewest slots of a tall slab's class, so a tall slab of the largest class is 8 slots. */
  TALL_MIN_SLOTS = 8,
  /** Offset of slot 0 from the slab's start: 16-aligned, past the TLSF header. */
  FIRST_SLOT = 16,
  /** Largest request served from mid slabs (the largest class: a tall slab of TALL_MIN_SLOTS). */
  MAX_BYTES = 8176,
  CLASS_COUNT = Layout.MID_CLASS_COUNT,
  /** Descriptor word offsets from d >>> 2. */
  BASE = 0,
  STATE = 1,
  CLASS = 2,
  NEXT = 3,
  PREV = 4,
  FREE_BITS = 5,
  /** Index of request[0] in u16 from d >>> 1: after the seven words above. */
  REQUEST_HALVES = 14,
  /** Slots a descriptor describes: its two free-bit words. */
  MAX_CAPACITY = 64,
  /**
   * Most slots of a class found by packing (16 and 32 KiB slabs): 57, where the densest classes
   * are 288 and 304 bytes. A power-of-two class may have up to MAX_CAPACITY (withPowersOfTwo).
   */
  PACKED_MAX_SLOTS = 57,
  /** Largest slab a power-of-two class may take, so that its tail per slot is least. */
  POWER_SLAB_MAX_BYTES = 1 << 17,
  /** The seven words and MAX_CAPACITY u16 requests, rounded to 8. */
  DESCRIPTOR_BYTES = 160,
  FREE_MASK = 0xff,
  MALLOCS_SHIFT = 8,
  MALLOC_ONE = 1 << MALLOCS_SHIFT,
  /** A state at or above this holds 2^24 - 1 uncounted mallocs: one more would wrap. */
  MALLOCS_FULL = 0xffffff00,
  NEVER_USED = 0,
  FREED = 0xffff,
  SLOT_ALIGN = 16,
  /** Neighbouring classes differ by at least 1/SPACING of the larger (where slot counts allow). */
  SPACING = 16,
  /** floor(offset / slot bytes) = ((offset >>> 4) * recip) >>> RECIP_SHIFT, exact in a slab. */
  RECIP_SHIFT = 20,
  /** A leaf maps 2^REGION_SHIFT bytes: LEAF_ENTRIES pages. */
  REGION_SHIFT = 22,
  LEAF_ENTRIES = 1 << (REGION_SHIFT - 12),
  /** Payload of a leaf or a descriptor page; their TLSF block adds the header. */
  META_PAYLOAD = LEAF_ENTRIES * 4,
  META_BLOCK_BYTES = META_PAYLOAD + 8,
  /** Descriptors of a descriptor page after its first, which links the pages: floor(META_PAYLOAD / DESCRIPTOR_BYTES) - 1. */
  DESCRIPTORS_PER_PAGE = 24,
}

/** The largest multiple of 16 that packs n slots into a slab of `slabBytes`. */
function packs(slabBytes: number, n: number): number {
  return Math.floor((slabBytes - Mid.FIRST_SLOT) / n / Mid.SLOT_ALIGN) * Mid.SLOT_ALIGN;
}

/** True when `bytes` can be a mid class in slabs of `slabBytes` (its slot count fits a descriptor). */
function fitsMidRange(slabBytes: number, bytes: number): boolean {
  return bytes <= Mid.NARROW_MAX_BYTES && bytes > Layout.SMALL_MAX_BYTES && Math.floor((slabBytes - Mid.FIRST_SLOT) / bytes) <= Mid.PACKED_MAX_SLOTS;
}

/**
 * Slot sizes of the 16 KiB slabs' classes, smallest first. A slot count n that a slab can hold
 * gives the largest multiple of 16 that packs n slots (so the tail wastes at most 2.5 % of the
 * slab); going down from the largest, a count's size becomes a class when it is at least
 * 1/SPACING below the class above it (and the smallest always does), so classes are about 1/16
 * apart where the slot counts are dense and one slot count apart where they are sparse.
 */
function midSlotSizes(spacing: number): number[] {
  const sizes: number[] = [];
  let smallest = 0;
  for (let n = 1; n <= Mid.PACKED_MAX_SLOTS; n++) {
    const bytes = packs(Mid.SLAB_BYTES, n);
    if (!fitsMidRange(Mid.SLAB_BYTES, bytes)) continue;
    smallest = bytes;
    if (sizes.length === 0 || bytes + bytes / spacing <= sizes.at(-1)!) sizes.push(bytes);
  }
  if (sizes.at(-1) !== smallest) sizes.push(smallest);
  return sizes.reverse();
}

/**
 * The classes with their slab sizes: the 16 KiB slabs' classes and, between two of them more
 * than 1/SPACING apart (most of them above 1 KiB, where its slot counts are sparse: 1008 -> 1088
 * -> 1168 ... 3264 -> 4080), the packing of a wide (32 KiB) slab in between that rounds least at
 * worst (the one nearest their geometric mean), where a wide slab of it has no more slots than a
 * descriptor describes. A wide slab holds twice the slots, so its packings fall between. The
 * worst rounding falls from 25 % (3265 bytes in 4080) to 12 %, and from 8 % to under 5 % from
 * 1 to 2 KiB (a 1032-byte request, 1 KiB and a header, took 1088 bytes and takes 1056). jemalloc
 * sizes each bin's slab for the same end (src/sc.c, slab_size: the fewest pages that its regions
 * fill exactly), so its larger classes get slabs of several pages.
 */
function midClassSizes(spacing: number): [slotBytes: number, slabBytes: number][] {
  const classes: [number, number][] = [];
  for (const bytes of midSlotSizes(spacing)) {
    const below = classes.at(-1)?.[0] ?? 0;
    if (below > 0 && below + below / spacing < bytes) {
      const wide = widePackingBetween(below, bytes);
      if (wide > 0) classes.push([wide, Mid.WIDE_SLAB_BYTES]);
    }
    classes.push([bytes, Mid.SLAB_BYTES]);
  }
  return withPowersOfTwo(classes.concat(tallClassSizes()));
}

/**
 * The classes, with each power of two from 512 bytes that costs its requests less as a class of
 * its own than the class above does. Packings fall just short of powers of two (a slab's first
 * slot starts past its header: 16 KiB holds seven slots of 2048 bytes and a tail of 2032), and a
 * power of two is the size programs ask for most (hash tables, I/O buffers: mawk's 2 KiB
 * strings), so 512 and 2048 rounded up a whole class step, 6 %. A power of two takes the slab of
 * 16 KiB to POWER_SLAB_MAX_BYTES, with at most MAX_CAPACITY slots, whose tail costs each slot
 * least: 63 slots of 512 (32 KiB), 1024 (64 KiB) or 2048 (128 KiB) bytes, 31 of 4096 (128
 * KiB): 8 to 131 bytes of tail a slot (1.5 to 3.2 %), where the class above costs 3.1 to 6.6 %.
 * jemalloc, mimalloc and tcmalloc all have a class at each power of two; jemalloc's slabs, too,
 * grow to the pages that tile a class best (src/sc.c, slab_size).
 */
function withPowersOfTwo(classes: [number, number][]): [number, number][] {
  const out = [...classes];
  for (let bytes = 512; bytes < Mid.MAX_BYTES; bytes *= 2) {
    const above = out.find(([slot]) => slot >= bytes)![0];
    const tailPerSlot = (slab: number) => ((slab - Mid.FIRST_SLOT) % bytes) / Math.floor((slab - Mid.FIRST_SLOT) / bytes);
    const slabs: number[] = [];
    for (let slab = Mid.SLAB_BYTES; slab <= Mid.POWER_SLAB_MAX_BYTES && (slab - Mid.FIRST_SLOT) / bytes <= Mid.MAX_CAPACITY; slab *= 2) slabs.push(slab);
    const slab = slabs.reduce((best, b) => (tailPerSlot(b) < tailPerSlot(best) ? b : best));
    if (above !== bytes && tailPerSlot(slab) < above - bytes) out.push([bytes, slab]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * The classes above NARROW_MAX_BYTES: each slot count of a tall (64 KiB) slab from the most that
 * exceed it down to TALL_MIN_SLOTS, 7 to 12 % apart (4368, 4672, ... 7280, 8176). A request of a
 * page and a header (4 KiB + 8 to 4 KiB + 272: a database page with its header, a stdio buffer)
 * was a TLSF block of its own, and a heap of such blocks between page-aligned slabs left a hole
 * of 8 KiB minus its size beside each one; as slots of a slab that tiles whole pages it leaves
 * none. jemalloc's bins go as far, to 14 KiB, for the same end (src/sc.c: small size classes
 * up to SC_SMALL_MAXCLASS, each slab the fewest pages its regions fill exactly).
 */
function tallClassSizes(): [slotBytes: number, slabBytes: number][] {
  const classes: [number, number][] = [];
  for (let n = Math.floor((Mid.TALL_SLAB_BYTES - Mid.FIRST_SLOT) / (Mid.NARROW_MAX_BYTES + 1)); n >= Mid.TALL_MIN_SLOTS; n--) {
    const bytes = packs(Mid.TALL_SLAB_BYTES, n);
    if (bytes > Mid.NARROW_MAX_BYTES) classes.push([bytes, Mid.TALL_SLAB_BYTES]);
  }
  return classes;
}

/** The packing of a wide slab strictly between `below` and `above` that minimises the larger rounding step, or 0. */
function widePackingBetween(below: number, above: number): number {
  let best = 0;
  let bestStep = Infinity;
  for (let n = Math.floor((Mid.WIDE_SLAB_BYTES - Mid.FIRST_SLOT) / above); n <= Mid.PACKED_MAX_SLOTS; n++) {
    const bytes = packs(Mid.WIDE_SLAB_BYTES, n);
    if (bytes <= below) break;
    const step = Math.max(bytes / below, above / bytes);
    if (bytes < above && fitsMidRange(Mid.WIDE_SLAB_BYTES, bytes) && step < bestStep) [best, bestStep] = [bytes, step];
  }
  return best;
}

const CLASS_SIZES = midClassSizes(Mid.SPACING);
const SLOT_BYTES: readonly number[] = CLASS_SIZES.map(([slotBytes]) => slotBytes);

export interface MidClass {
  slotBytes: number;
  capacity: number;
  recip: number;
  /** Bytes of each slab of the class: Mid.SLAB_BYTES, Mid.WIDE_SLAB_BYTES or Mid.TALL_SLAB_BYTES. */
  slabBytes: number;
}

export const MID_CLASSES: readonly MidClass[] = CLASS_SIZES.map(([slotBytes, slabBytes]) => ({
  slotBytes,
  capacity: Math.floor((slabBytes - Mid.FIRST_SLOT) / slotBytes),
  recip: Math.ceil(2 ** Mid.RECIP_SHIFT / (slotBytes / 16)),
  slabBytes,
}));

export const MID_CLASS_OF: Uint8Array = Uint8Array.from({ length: (Mid.MAX_BYTES >>> 4) + 1 }, (_, i) => {
  const c = SLOT_BYTES.findIndex((bytes) => bytes >= i * 16);
  return c < 0 ? 0 : c;
});

// Per-class constants as typed arrays, for the fast path to read without an object load.
export const MID_SLOT_BYTES: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.slotBytes);
export const MID_RECIP: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.recip);
export const MID_CAPACITY: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.capacity);
export const MID_SLAB_BYTES: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.slabBytes);
/**
 * Live TLSF blocks a class must hold before it gets a slab: a slab's worth, and two for a slab
 * of 64 KiB or more (a class that stays near one slab's worth would keep it partly empty, as a
 * slab's slots cannot move; on git's and gawk's traces one's worth cost 1.5 % of the extent).
 */
export const MID_SLAB_AFTER: Uint32Array = Uint32Array.from(MID_CLASSES, (c) => c.capacity * (c.slabBytes >= Mid.TALL_SLAB_BYTES ? 2 : 1));

/** Slot number of offset p in the mid slab at b of class c, or -1 when p is not a slot start. */
export function midSlotIndex(p: number, b: number, c: number): number {
  const offset = p - b - Mid.FIRST_SLOT;
  const i = ((offset >>> 4) * MID_RECIP[c]!) >>> Mid.RECIP_SHIFT;
  return offset >= 0 && i < MID_CAPACITY[c]! && i * MID_SLOT_BYTES[c]! === offset ? i : -1;
}

/** The descriptor of the mid slab holding offset p (below the committed end), or 0; `root` is midRootWord. */
export function midDescriptorOf(u32: Uint32Array, root: number, p: number): number {
  const leaf = u32[root + (p >>> Mid.REGION_SHIFT)]!;
  return leaf === 0 ? 0 : u32[(leaf >>> 2) + ((p >>> Layout.PAGE_SHIFT) & (Mid.LEAF_ENTRIES - 1))]!;
}

/** Index in u16 of the request halfword of slot i of descriptor d. */
export function midRequestIndex(d: number, i: number): number {
  return (d >>> 1) + Mid.REQUEST_HALVES + i;
}

/** Bytes of the slab of descriptor d, by its class; 0 for a class that does not exist. */
export function midSlabBytesOf(u32: Uint32Array, d: number): number {
  return MID_SLAB_BYTES[u32[(d >>> 2) + Mid.CLASS]!] ?? 0;
}

/** Word index of the root of the mid page table, right after the page map. */
export function midRootWord(u32: Uint32Array): number {
  return (Gauge.PAGE_MAP_OFFSET >>> 2) + u32[Word.PAGE_MAP_WORDS]!;
}

/** The class of a request of SMALL_MAX_BYTES+1 .. MAX_BYTES bytes, else -1. */
export function midClassOfRequest(size: number): number {
  return isLiveRequest(size) ? MID_CLASS_OF[(size + 15) >>> 4]! : -1;
}

/** True when `request` is what a live slot's request word can hold. */
export function isLiveRequest(request: number): boolean {
  return request > Layout.SMALL_MAX_BYTES && request <= Mid.MAX_BYTES;
}

/** The lowest n bits set (none for n <= 0, all for n >= 32): a fresh slab's free bits. */
export function lowBits(n: number): number {
  return n <= 0 ? 0 : n >= 32 ? 0xffffffff : 2 ** n - 1;
}

// ---- Agreement of tunables, checked once at load ------------------------------------------
function assertMid(ok: boolean, what: string): void {
  if (!ok) throw new Error(`heapkit mid-slab layout: ${what}`);
}
assertMid(Mid.DESCRIPTORS_PER_PAGE === Math.floor(Mid.META_PAYLOAD / Mid.DESCRIPTOR_BYTES) - 1, "DESCRIPTORS_PER_PAGE fills a descriptor page");
assertMid(Mid.DESCRIPTOR_BYTES >= 2 * Mid.REQUEST_HALVES + 2 * Mid.MAX_CAPACITY && Mid.DESCRIPTOR_BYTES % 8 === 0, "a descriptor holds its words and MAX_CAPACITY requests");
assertMid(SLOT_BYTES.length === Mid.CLASS_COUNT, "CLASS_COUNT counts the slot sizes");
assertMid(SLOT_BYTES[0]! > Layout.SMALL_MAX_BYTES && SLOT_BYTES.at(-1) === Mid.MAX_BYTES, "the classes start above the small ones and end at MAX_BYTES");
assertMid(SLOT_BYTES.every((bytes, i) => bytes % Mid.SLOT_ALIGN === 0 && (i === 0 || bytes > SLOT_BYTES[i - 1]!)), "slot sizes rise in steps of 16");
assertMid(MID_CLASSES.every((c) => c.capacity >= 4 && c.capacity <= Mid.MAX_CAPACITY), "every class holds 4 slots, and no more than a descriptor can describe");
assertMid(MID_CLASSES.every((c) => c.slabBytes - Mid.FIRST_SLOT - c.capacity * c.slotBytes <= c.slabBytes / ((c.slotBytes & (c.slotBytes - 1)) === 0 ? 32 : 40)), "the tail wastes at most 2.5 % of a slab (1/32 for a power of two)");
assertMid(MID_CLASSES.every((c) => c.slabBytes % Layout.SLAB_PAGE_BYTES === 0 && c.slabBytes <= Mid.POWER_SLAB_MAX_BYTES), "a slab is a whole number of pages, at most POWER_SLAB_MAX_BYTES");

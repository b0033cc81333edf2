/**
 * SharedHeap's bytes: a central Heap (src/heap) formats the whole shared store; SharedHeap keeps
 * its control block and its per-thread pages in blocks of that central heap.
 *
 *   store:  | Heap control | ... central heap blocks ...................................... |
 *                            | SharedHeap control |  | page (64 KiB, 64 KiB-aligned) | | large |
 *
 * Control block (word indexes into i32, from a 64-byte-aligned block whose offset the central
 * Heap's root word holds; "line" = 64 bytes, a cache line):
 *
 *   0 MAGIC  1 VERSION  2 LOCK (holder thread + 1, 0 free)  3 LOCK_WAITERS  4 PAGES
 *   5 PAGE_MAP_WORDS  6 THREAD_COUNT (slots)  7 reserved
 *   8..  f64 GLOBAL_FREES (the frees of detached threads), PEAK_LIVE_BYTES
 *   ABANDONED_HEADS[CLASS_COUNT]   pages whose thread detached or died, per class (under LOCK)
 *   THREADS[THREAD_COUNT]          one ThreadWord record per attachable thread, from line 3
 *   PAGE_MAP                       1 bit per 64 KiB of the reservation: is it a page?
 *
 * A thread record (ThreadWord offsets from its first word; 6 whole lines):
 *
 *   line 0:    STATE (0 free, 1 attached)  REMOTE_HINT (bit c: a remote free landed on a full
 *              page of class c): the words other threads write (claimThread, freeRemote)
 *   lines 1-5: f64 FREES (by this thread, of any thread's blocks; mallocs = frees + live blocks,
 *              so a malloc writes no counter)  AVAIL_HEADS[c]  FULL_HEADS[c]: this thread's
 *              alone, so its malloc and free touch no line another thread writes, but its pages
 *
 * A page (PageWord offsets from its first word; mimalloc's pages, Leijen et al., "Mimalloc: Free
 * List Sharding in Action", 2019):
 *
 *   +---------------+----------------------------+-----------------------+-------+-----+-------+
 *   | header (64 B) | remote bits: u32[128] (512 B) | status: u16[capacity] | slot0 | ... | slotN |
 *   +---------------+----------------------------+-----------------------+-------+-----+-------+
 *   status[i] = 0: free (on the local list, or at or above bump)
 *             = PENDING: freed by another thread, not yet collected
 *             = requested bytes + 1: live
 *   remote bit i: set (Atomics.or) by the thread that made slot i PENDING; the owner takes each
 *   non-zero bit word with Atomics.exchange and frees each slot still PENDING. Another thread never links a slot: only the owner writes a slot's list word, so the
 *   owner's free writes plain words with no atomic operation at all (V8 calls a builtin for every
 *   Atomics operation, ~20 ns each). A double free that races the owner's free of the same block
 *   leaves a bit whose slot is not PENDING: it is dropped at collection, the block freed once.
 *
 *   Invariants, for a page p of class c when every thread is quiet:
 *     USED(p) == #live(p) + #pending(p);   status[i] == PENDING  =>  remote bit i is set
 *     |LOCAL_FREE(p)| + USED(p) == BUMP(p) <= capacity(c) <= 32 * REMOTE_WORDS
 *     OWNER(p) == t + 1  <=>  p is on t's AVAIL or FULL list of c  (IN_FULL says which)
 *     OWNER(p) == 0      <=>  p is on ABANDONED_HEADS[c]
 *     page-map bit(p) == 1 <=> p is a page (a central block of PAGE_BYTES at p)
 */

export const enum SharedLayout {
  MAGIC = 0x48505348, // "HSPH"
  VERSION = 3,
  /** Bytes of a cache line: the control block and each thread record start on one. */
  LINE_BYTES = 64,
  PAGE_SHIFT = 16,
  PAGE_BYTES = 1 << 16,
  PAGE_HEADER_BYTES = 64,
  /** Words of a page's remote bits (one bit per slot, for every class's capacity). */
  REMOTE_WORDS = 128,
  /** Byte offset of a page's status array: after the header and the remote bits. */
  PAGE_STATUS_OFFSET = PAGE_HEADER_BYTES + REMOTE_WORDS * 4,
  SLOT_ALIGN = 16,
  SLOT_ALIGN_LOG2 = 4,
  /** Requests up to this many bytes (with align <= 16) are slots in per-thread pages. */
  MAX_SLOT_BYTES = 4096,
  /** Requests of up to 256 B have a class every 16 B; above, four classes per doubling. */
  FINE_MAX_BYTES = 256,
  FINE_CLASSES = 16,
  CLASS_COUNT = 32,
  PENDING = 0xffff,
  /** Slot index math: j = (granule * RECIP) >>> RECIP_SHIFT, exact for granule < 4096. */
  RECIP_SHIFT = 19,
  DEFAULT_THREADS = 64,
  MAX_THREADS = 1024,
}

export const enum Ctl {
  MAGIC = 0,
  VERSION = 1,
  LOCK = 2,
  LOCK_WAITERS = 3,
  PAGES = 4,
  PAGE_MAP_WORDS = 5,
  THREAD_COUNT = 6,
  /** f64 index (word 8 / 2). */
  GLOBAL_FREES_F64 = 4,
  /** Peak of the live bytes, as seen by stats() and check() (the threads keep no shared gauge). */
  PEAK_LIVE_BYTES_F64 = 5,
  ABANDONED_HEADS = 12,
  /** The first thread record: the first whole line after ABANDONED_HEADS. */
  THREADS = 48,
}

export const enum ThreadWord {
  STATE = 0,
  REMOTE_HINT = 1,
  /** f64 index from the record's first word / 2: word 16, the record's second line. */
  FREES_F64 = 8,
  AVAIL_HEADS = 18,
  FULL_HEADS = AVAIL_HEADS + SharedLayout.CLASS_COUNT,
  /** Whole lines: 82 words used, rounded up to 6 lines. */
  WORDS = 96,
}

export const enum ThreadState {
  FREE = 0,
  ATTACHED = 1,
}

export const enum PageWord {
  MAGIC = 0,
  /** Owning thread + 1; 0 while abandoned. Read by other threads (Atomics). */
  OWNER = 1,
  CLASS = 2,
  USED = 3,
  LOCAL_FREE = 4,
  // Word 5 is unused.
  BUMP = 6,
  NEXT = 7,
  PREV = 8,
  /** 1 while the page is on its owner's FULL list (Atomics: remote frees read it). */
  IN_FULL = 9,
  /** Word index of the remote bits from the page's first word. */
  REMOTE_BITS = SharedLayout.PAGE_HEADER_BYTES / 4,
  /** u16 index of status[0] from the page's first u16. */
  STATUS_HALF = SharedLayout.PAGE_STATUS_OFFSET / 2,
}

export const PAGE_MAGIC = 0x50475348; // "HSGP"

/** What the inspection modules read of a SharedHeap: its views and its control block's regions. */
export interface SharedView {
  i32: Int32Array;
  u16: Uint16Array;
  f64: Float64Array;
  ctl: number;
  controlPtr: number;
  controlBytes: number;
  pageMapWord: number;
  threadCount: number;
  pages: number[];
}

/** Where a control block's regions are, for a given thread count and reservation. */
export function controlGeometry(threads: number, reservedBytes: number): { pageMapWord: number; pageMapWords: number; bytes: number } {
  const pageMapWord = Ctl.THREADS + threads * ThreadWord.WORDS;
  const pageMapWords = Math.ceil(reservedBytes / SharedLayout.PAGE_BYTES / 32);
  return { pageMapWord, pageMapWords, bytes: (pageMapWord + pageMapWords) * 4 };
}

// ---- Size classes ----------------------------------------------------------------------------

/** Per class: slot bytes, capacity of a page, byte offset of slot 0 in a page, recip for the index. */
export const CLASS_SLOT_BYTES = new Int32Array(SharedLayout.CLASS_COUNT);
export const CLASS_CAPACITY = new Int32Array(SharedLayout.CLASS_COUNT);
export const CLASS_FIRST_SLOT = new Int32Array(SharedLayout.CLASS_COUNT);
export const CLASS_RECIP = new Int32Array(SharedLayout.CLASS_COUNT);
/** Class of a request of 257..4096 bytes, by (size - 1) >>> 6. */
const COARSE_CLASS_OF = new Uint8Array(SharedLayout.MAX_SLOT_BYTES >>> 6);

for (let c = 0; c < SharedLayout.CLASS_COUNT; c++) {
  const fine = c < SharedLayout.FINE_CLASSES;
  // Above 256: 320, 384, 448, 512, 640, ... 4096 (four steps per doubling, jemalloc's spacing).
  const k = c - SharedLayout.FINE_CLASSES;
  const bytes = fine ? (c + 1) * 16 : (256 << (k >> 2)) + (((k & 3) + 1) * (64 << (k >> 2)));
  let capacity = Math.floor((SharedLayout.PAGE_BYTES - SharedLayout.PAGE_STATUS_OFFSET) / (bytes + 2));
  const firstSlot = (n: number): number => Math.ceil((SharedLayout.PAGE_STATUS_OFFSET + 2 * n) / 16) * 16;
  while (firstSlot(capacity) + capacity * bytes > SharedLayout.PAGE_BYTES) capacity--;
  CLASS_SLOT_BYTES[c] = bytes;
  CLASS_CAPACITY[c] = capacity;
  CLASS_FIRST_SLOT[c] = firstSlot(capacity);
  CLASS_RECIP[c] = Math.ceil(2 ** SharedLayout.RECIP_SHIFT / (bytes >>> SharedLayout.SLOT_ALIGN_LOG2));
}
for (let i = 0; i < COARSE_CLASS_OF.length; i++) {
  const size = i * 64 + 64;
  let c = SharedLayout.FINE_CLASSES;
  while (CLASS_SLOT_BYTES[c]! < size) c++;
  COARSE_CLASS_OF[i] = c;
}
if (CLASS_SLOT_BYTES[SharedLayout.CLASS_COUNT - 1] !== SharedLayout.MAX_SLOT_BYTES) throw new Error("SharedHeap size classes must end at MAX_SLOT_BYTES");
if (CLASS_CAPACITY[0]! > 32 * SharedLayout.REMOTE_WORDS) throw new Error("SharedHeap remote bits must cover every slot of a page");
if (Ctl.THREADS < Ctl.ABANDONED_HEADS + SharedLayout.CLASS_COUNT || (Ctl.THREADS * 4) % SharedLayout.LINE_BYTES !== 0 || ThreadWord.WORDS < ThreadWord.FULL_HEADS + SharedLayout.CLASS_COUNT || (ThreadWord.WORDS * 4) % SharedLayout.LINE_BYTES !== 0) {
  throw new Error("SharedHeap thread records must be whole cache lines after the abandoned heads");
}
for (let c = 0; c < SharedLayout.CLASS_COUNT; c++) {
  // The index math must be exact for every slot of the class (checked once, at load).
  const n = CLASS_SLOT_BYTES[c]! >>> SharedLayout.SLOT_ALIGN_LOG2;
  for (let j = 0; j < CLASS_CAPACITY[c]!; j++) {
    if (((j * n * CLASS_RECIP[c]!) >>> SharedLayout.RECIP_SHIFT) !== j) throw new Error(`SharedHeap slot index math is inexact for class ${c}`);
  }
}

/** The class of a request of 0..MAX_SLOT_BYTES bytes. */
export function classOf(size: number): number {
  return size <= SharedLayout.FINE_MAX_BYTES ? (size === 0 ? 0 : (size - 1) >>> 4) : COARSE_CLASS_OF[(size - 1) >>> 6]!;
}

/** The slot index of a byte offset `off` from a page's slot 0, or -1 where no slot starts there. */
export function slotIndexAt(c: number, off: number): number {
  if (off < 0 || (off & (SharedLayout.SLOT_ALIGN - 1)) !== 0) return -1;
  const g = off >>> SharedLayout.SLOT_ALIGN_LOG2;
  const j = (g * CLASS_RECIP[c]!) >>> SharedLayout.RECIP_SHIFT;
  return j < CLASS_CAPACITY[c]! && j * (CLASS_SLOT_BYTES[c]! >>> SharedLayout.SLOT_ALIGN_LOG2) === g ? j : -1;
}

/**
 * The bytes of a `FitAllocator` (fits.ts), drawn; `check()` (fits-check.ts) verifies the invariants.
 *
 * Store layout (the heap is [HEAP_START, TOP); it grows by extending the top, up to the reservation):
 *
 *   0            HEAP_START                                          TOP           committed
 *   +------------+----------+----------+----------+-- ... --+--------+ - - - - - - +
 *   |  control   |  block   |  block   |  block   |         | block  |  not heap   |
 *   +------------+----------+----------+----------+-- ... --+--------+ - - - - - - +
 *
 * Control block (byte offsets, the `Ctrl` enum; u32 fields, then f64 gauges and counters):
 *   +0  MAGIC u32     +4  FIT u32 (0 first, 1 next, 2 best)   +8  COALESCE u32 (0 immediate, 1 deferred)
 *   +12 TOP u32       +16 FREE_HEAD u32 (lowest free block)   +20 ROVER u32 (next fit's start, 0 = head)
 *   +32 LIVE_BLOCKS, LIVE_BYTES, PEAK_LIVE_BYTES, USED_BLOCK_BYTES, PEAK_TOP, MALLOC_COUNT,
 *       FREE_COUNT    f64 each
 *
 * Block at b, s bytes (s a multiple of 8, s >= MIN_BLOCK_BYTES), payload at b + 8:
 *
 *   b        b+4      b+8                                      b+s-8    b+s-4    b+s
 *   +--------+--------+----------------------------------------+--------+--------+
 *   | s | U  |  SEAL  | payload (used)  /  NEXT, PREV (free)    | s | U  | ASKED  |
 *   +--------+--------+----------------------------------------+--------+--------+
 *    header: size word (U = USED bit) and SEAL = seal(b, size word)    footer: the size word
 *    again and the bytes the caller asked for (0 when free). Usable bytes: s - 16.
 *
 * A header that stops being a block start (merged into a neighbour) is overwritten with a sealed
 * TOMBSTONE word, so freeing that stale pointer again reports a double free; any other offset
 * fails the seal (or the range and alignment checks) and is an invalid free.
 *
 * Invariants (checked by check()):
 *   blocks tile the heap:        HEAP_START + sum of s = TOP <= committed bytes
 *   every block:                 header word = footer word, SEAL = seal(b, header word), ASKED <= s - 16
 *   free list = free blocks:     FREE_HEAD, NEXT, ... visits exactly the free blocks, in increasing
 *                                address order, and PREV(NEXT(x)) = x
 *   immediate coalescing:        no two adjacent free blocks
 *   ROVER = 0 or ROVER is on the free list
 *   LIVE_BLOCKS = #used, LIVE_BYTES = sum of ASKED, USED_BLOCK_BYTES = sum of s over used blocks
 */

/** Sizes and flags of blocks. Do not modify: the layout above depends on these. */
export const enum Fits {
  GRANULE_BYTES = 8,
  HEADER_BYTES = 8,
  FOOTER_BYTES = 8,
  OVERHEAD_BYTES = HEADER_BYTES + FOOTER_BYTES,
  /** A free block holds its two links. */
  MIN_BLOCK_BYTES = OVERHEAD_BYTES + 8,
  USED = 1,
  TOMBSTONE = 2,
  FLAG_BITS = GRANULE_BYTES - 1,
  MAGIC = 0x46495453, // "FITS"
  /** Block fields, byte offsets from the block's start (ASKED from its end). */
  SEAL = 4,
  NEXT = 8,
  PREV = 12,
  ASKED_FROM_END = 4,
}

/** Control block fields: byte offsets (u32 fields, then f64 gauges and counters). */
export const enum Ctrl {
  MAGIC = 0,
  FIT = 4,
  COALESCE = 8,
  TOP = 12,
  FREE_HEAD = 16,
  ROVER = 20,
  LIVE_BLOCKS = 32,
  LIVE_BYTES = 40,
  PEAK_LIVE_BYTES = 48,
  USED_BLOCK_BYTES = 56,
  PEAK_TOP = 64,
  MALLOC_COUNT = 72,
  FREE_COUNT = 80,
  /** The first block: right after the control block. */
  HEAP_START = 88,
}

if (Ctrl.HEAP_START % Fits.GRANULE_BYTES !== 0 || Ctrl.ROVER + 4 > Ctrl.LIVE_BLOCKS || Ctrl.FREE_COUNT + 8 > Ctrl.HEAP_START) throw new Error("fits: control block overflows");

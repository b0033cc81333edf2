/**
 * The bytes of a `Buddy` (buddy.ts), drawn; `check()` verifies the invariants.
 *
 * Store layout: the arena is [0, 2^n), n = ARENA_ORDER. It starts as the largest power of two the
 * store holds (at least 2^MIN_ARENA_ORDER) and doubles as the store grows, up to the reservation.
 *
 *   0        256      512        2^(t-1)     2^t          2^(t+1)     2^(t+2)      2^(n-1)     2^n
 *   +--------+--------+-- ... --+-----------+------------+-----------+-- ... --+------------+
 *   |control | free 8 | free 9  | free t-1  | order table| free t+1  |         | free n-1   |
 *   +--------+--------+-- ... --+-----------+------------+-----------+-- ... --+------------+
 *   (as formatted, t = n - 3; "free k" is a free block of order k; on each doubling the table
 *    moves to the start of the new upper half and its old block is freed)
 *
 * Control block (META, order Order.CONTROL, at offset 0, so 0 is never a user pointer; byte
 * offsets, the `Ctrl` enum):
 *   +0    MAGIC        u32      +4 ARENA_ORDER u32     +8 TABLE u32 (offset of the order table)
 *   +16   FREE_HEADS   u32[32]  first free block of each order, 0 = empty list
 *   +144  LIVE_BLOCKS, LIVE_BYTES, PEAK_LIVE_BYTES, SLACK_BYTES, FREE_BYTES, MALLOC_COUNT,
 *         FREE_COUNT   f64 each (gauges and counters)
 *
 * Order table: entry i (u16) describes offset 16 i; it is META, order n - 3, 2^(n-3) bytes.
 *
 *   15              7 6     5 4       0
 *   +----------------+-------+---------+   state 0: not the start of a block (entry is interior)
 *   |  slack chunk   | state | order k |   state 1 FREE, 2 USED, 3 META
 *   +----------------+-------+---------+
 *   A USED block keeps slack = 2^k - requested bytes in 9-bit chunks in bits 7..15 of its first
 *   ceil((k + 1) / 9) entries (the block has 2^(k-4) entries, always enough); interior entries
 *   keep state 0, so they never read as the start of a block.
 *
 * Free block body: +0 NEXT u32, +4 PREV u32 (one doubly linked LIFO list per order; 0 ends it).
 *
 * Invariants (checked by check()):
 *   blocks tile the arena:            sum over blocks of 2^k = 2^n, each x = 0 (mod 2^k)
 *   interior entries:                 state = 0, and 0 entirely except used blocks' slack chunks
 *   fully coalesced:                  FREE(x, k) implies not FREE(x XOR 2^k, k)
 *   free lists = free blocks:         |FREE_HEADS[k] list| = #{blocks FREE of order k}
 *   FREE_BYTES  = sum of 2^k over free blocks
 *   LIVE_BLOCKS = #{USED blocks}, LIVE_BYTES = sum of (2^k - slack), SLACK_BYTES = sum of slack
 *   META blocks = { control at 0, the table at TABLE, order n - 3 }
 */

/** Orders (log2 of block bytes). Do not modify: the layout above depends on these. */
export const enum Order {
  /** Smallest block, 16 bytes: two u32 links, one table entry. */
  MIN = 4,
  UNIT_BYTES = 1 << MIN,
  CONTROL = 8,
  /** The table's order n - 3 must exceed CONTROL. */
  MIN_ARENA = 12,
  /** 2 bytes per 16-byte unit: table = arena / 8. */
  TABLE_BELOW_ARENA = 3,
  /** Offsets are below 2^32. */
  MAX_ARENA = 31,
}

/** Bits of an order-table entry. */
export const enum Entry {
  ORDER_MASK = 0x1f,
  STATE_SHIFT = 5,
  STATE_MASK = 0x3 << STATE_SHIFT,
  FREE = 1 << STATE_SHIFT,
  USED = 2 << STATE_SHIFT,
  META = 3 << STATE_SHIFT,
  HEAD_BITS = ORDER_MASK | STATE_MASK,
  CHUNK_SHIFT = 7,
  CHUNK_BITS = 9,
  CHUNK_MASK = (1 << CHUNK_BITS) - 1,
}

/** Control block fields: byte offsets (u32 fields, the free heads, then f64 gauges and counters). */
export const enum Ctrl {
  MAGIC = 0,
  ARENA_ORDER = 4,
  TABLE = 8,
  /** u32[32]: the first free block of each order. */
  FREE_HEADS = 16,
  LIVE_BLOCKS = 144,
  LIVE_BYTES = 152,
  PEAK_LIVE_BYTES = 160,
  SLACK_BYTES = 168,
  FREE_BYTES = 176,
  MALLOC_COUNT = 184,
  FREE_COUNT = 192,
  END = 200,
  MAGIC_VALUE = 0x42554459, // "BUDY"
}

/** A free block's body: byte offsets of its u32 links. */
export const enum Link {
  NEXT = 0,
  PREV = 4,
}

if (Ctrl.END > 1 << Order.CONTROL || Ctrl.FREE_HEADS + 32 * 4 > Ctrl.LIVE_BLOCKS) throw new Error("buddy: control block overflows");
if (Order.MIN_ARENA - Order.TABLE_BELOW_ARENA <= Order.CONTROL) throw new Error("buddy: table must be larger than the control block");

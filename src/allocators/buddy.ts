/**
 * Buddy: Knuth's binary buddy system (TAOCP vol. 1 §2.5, Algorithms R and S; Wilson et al. 1995,
 * "Dynamic Storage Allocation: A Survey and Critical Review", §3.6 "buddy systems"). Every block
 * is 2^k bytes at an offset that is a multiple of 2^k, so the buddy of the block at x of order k
 * is x XOR 2^k: freeing merges buddies back up, allocating splits a larger block in halves.
 * Blocks need no header: the user pointer is the block itself, naturally aligned to its size,
 * and a side table (one u16 per 16-byte unit, like the kernel's page array) gives free(ptr) the
 * order and state of the block, so a pointer is validated exactly. All state lives in the store.
 *
 * The bytes and the invariants are drawn in buddy-layout.ts.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidStoreError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { type AllocatorStoreOptions, openStore, reallocByMove } from "./common.js";
import { Ctrl, Entry, Link, Order } from "./buddy-layout.js";
import { assembleStats } from "./stats.js";
import { checkAlign, checkSize } from "./validate.js";

/** Options: where the bytes live (a store passed in is formatted: its contents are overwritten). */
export type BuddyOptions = AllocatorStoreOptions;

// May be modified: the largest alignment malloc accepts (blocks are naturally aligned anyway).
export const BUDDY_MAX_ALIGN = 4096;

/**
 * A binary buddy allocator (Knuth): blocks are powers of two, split in halves on malloc and
 * merged with their buddy on free. Fast and simple; up to half of each block is rounding.
 *
 * @example
 * ```ts
 * const buddy = new Buddy();
 * const p = buddy.malloc(100);        // a 128-byte block
 * buddy.usableSize(p);                // 128
 * buddy.free(p);                      // merged back with its buddies
 * ```
 */
export class Buddy implements Allocator {
  readonly name = "buddy";
  readonly store: ByteStore;
  /** The largest arena order the reservation allows. */
  private readonly maxArenaOrder: number;
  /** Largest request: half the largest arena (the other half holds at least the control block). */
  readonly maxRequestBytes: number;
  private table16: Uint16Array;

  constructor(options: BuddyOptions = {}) {
    this.store = openStore(options, 2 ** Order.MIN_ARENA, this.name);
    this.maxArenaOrder = Math.min(Order.MAX_ARENA, floorLog2(this.store.reservedBytes));
    const n = Math.max(Order.MIN_ARENA, floorLog2(this.store.committedBytes));
    if (n > this.maxArenaOrder || !this.store.grow(2 ** n)) {
      throw new InvalidStoreError(`a buddy arena needs a store of at least ${2 ** Order.MIN_ARENA} bytes; this one reserves ${this.store.reservedBytes}`);
    }
    this.maxRequestBytes = 2 ** (this.maxArenaOrder - 1);
    this.table16 = u16View(this.store);
    this.format(n);
  }

  /** Allocates a block of 2^k bytes, k = max(4, ceil(log2(max(size, align)))). */
  malloc(size: number, align = 8): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, BUDDY_MAX_ALIGN);
    const k = orderFor(Math.max(size, align));
    let x = this.store.u32[(Ctrl.FREE_HEADS >>> 2) + k]!;
    if (x !== 0) this.unlinkFree(x, k);
    else if ((x = this.splitFromLarger(k)) === 0) return 0;
    return this.markUsed(x, k, size);
  }

  free(ptr: number): void {
    const k = this.usedOrder(ptr);
    const slack = this.slack(ptr, k);
    const f64 = this.store.f64;
    f64[Ctrl.LIVE_BLOCKS >>> 3]!--;
    f64[Ctrl.LIVE_BYTES >>> 3]! -= 2 ** k - slack;
    f64[Ctrl.SLACK_BYTES >>> 3]! -= slack;
    f64[Ctrl.FREE_COUNT >>> 3]!++;
    this.clearEntries(ptr, k);
    this.release(ptr, k);
  }

  /** In place while the block's order still fits (shrinking gives the upper halves back). */
  realloc(ptr: number, size: number): number {
    const k = this.usedOrder(ptr);
    checkSize(size, this.maxRequestBytes);
    const j = orderFor(size);
    const slack = this.slack(ptr, k);
    const requested = 2 ** k - slack;
    if (j > k) {
      // A larger order is also a larger alignment, so the moved block stays as aligned as before.
      return reallocByMove(this, ptr, requested, size);
    }
    this.clearEntries(ptr, k);
    for (let i = k - 1; i >= j; i--) this.pushFree(ptr + 2 ** i, i);
    this.setUsedEntry(ptr, j, size);
    const f64 = this.store.f64;
    f64[Ctrl.LIVE_BYTES >>> 3]! += size - requested;
    f64[Ctrl.SLACK_BYTES >>> 3]! += 2 ** j - size - slack;
    f64[Ctrl.PEAK_LIVE_BYTES >>> 3] = Math.max(f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!, f64[Ctrl.LIVE_BYTES >>> 3]!);
    return ptr;
  }

  usableSize(ptr: number): number {
    return 2 ** this.usedOrder(ptr);
  }

  stats(): AllocatorStats {
    const f64 = this.store.f64;
    const u32 = this.store.u32;
    const arenaBytes = 2 ** u32[Ctrl.ARENA_ORDER >>> 2]!;
    let largestFreeBytes = 0;
    for (let k = u32[Ctrl.ARENA_ORDER >>> 2]! - 1; k >= Order.MIN && largestFreeBytes === 0; k--) {
      if (u32[(Ctrl.FREE_HEADS >>> 2) + k] !== 0) largestFreeBytes = 2 ** k;
    }
    const freeBytes = f64[Ctrl.FREE_BYTES >>> 3]!;
    return assembleStats(this.store, {
      liveBlocks: f64[Ctrl.LIVE_BLOCKS >>> 3]!,
      liveBytes: f64[Ctrl.LIVE_BYTES >>> 3]!,
      peakLiveBytes: f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!,
      // The arena is the buddy system's brk: it never shrinks, so the extent is also its peak.
      extentBytes: arenaBytes,
      peakExtentBytes: arenaBytes,
      freeBytes,
      largestFreeBytes,
      internalFragmentationBytes: f64[Ctrl.SLACK_BYTES >>> 3]!,
      mallocCount: f64[Ctrl.MALLOC_COUNT >>> 3]!,
      freeCount: f64[Ctrl.FREE_COUNT >>> 3]!,
    });
  }

  /** The arena's blocks; with a range, from the block holding `start` (found in O(log arena)). */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    const arenaBytes = 2 ** this.store.u32[Ctrl.ARENA_ORDER >>> 2]!;
    const tableAt = this.store.u32[Ctrl.TABLE >>> 2]!;
    for (let x = this.blockHolding(Math.min(sink.from, arenaBytes - 1)); x < arenaBytes;) {
      const e = this.entry(x);
      const state = e & Entry.STATE_MASK;
      const k = e & Entry.ORDER_MASK;
      if (state === 0 || k < Order.MIN) throw new HeapCorruptionError(`table entry ${e} is not the start of a block`, x);
      const going = state === Entry.USED ? sink.span(x, 2 ** k, Span.USED, x, 2 ** k - this.slack(x, k), Held.NONE, "")
        : state === Entry.FREE ? sink.span(x, 2 ** k, Span.FREE, 0, 0, Held.NONE, "")
        : sink.span(x, 2 ** k, Span.META, 0, 0, Held.NONE, x === tableAt ? "order table" : "control block");
      if (!going) return;
      x += 2 ** k;
    }
  }

  /** The start of the block holding offset a: the first aligned start, order by order, that heads a block reaching past a. */
  private blockHolding(a: number): number {
    for (let k = Order.MIN; k < 32; k++) {
      const x = a - (a % 2 ** k);
      const e = this.entry(x);
      if ((e & Entry.STATE_MASK) !== 0 && x + 2 ** (e & Entry.ORDER_MASK) > a) return x;
    }
    return 0;
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, at?: number): never => { throw new HeapCorruptionError(message, at); };
    if (u32[Ctrl.MAGIC >>> 2] !== Ctrl.MAGIC_VALUE) fail("control block magic is wrong", 0);
    const n = u32[Ctrl.ARENA_ORDER >>> 2]!;
    if (n < Order.MIN_ARENA || n > this.maxArenaOrder || 2 ** n > this.store.committedBytes) fail(`arena order ${n} does not fit the store`, 0);
    const tableAt = u32[Ctrl.TABLE >>> 2]!;
    const tableOrder = n - Order.TABLE_BELOW_ARENA;
    if (this.entry(0) !== (Entry.META | Order.CONTROL)) fail("the control block is not META of order 8", 0);
    if (tableAt % 2 ** tableOrder !== 0 || this.entry(tableAt) !== (Entry.META | tableOrder)) fail(`the order table is not META of order ${tableOrder}`, tableAt);
    const freeCount = new Array<number>(32).fill(0);
    let liveBlocks = 0, liveBytes = 0, slackBytes = 0, freeBytes = 0, metaBlocks = 0, total = 0;
    for (const block of this.walk()) {
      const x = block.start;
      const k = floorLog2(block.bytes);
      if (x % block.bytes !== 0 || x + block.bytes > 2 ** n) fail(`block of order ${k} is misplaced`, x);
      const chunks = block.kind === "used" ? chunkCount(k) : 1;
      for (let u = x + Order.UNIT_BYTES; u < x + block.bytes; u += Order.UNIT_BYTES) {
        const e = this.entry(u);
        if ((e & Entry.HEAD_BITS) !== 0 || (e !== 0 && u >= x + chunks * Order.UNIT_BYTES)) fail(`interior table entry ${e} of the block at ${x}`, u);
      }
      total += block.bytes;
      if (block.kind === "free") {
        freeCount[k]!++;
        freeBytes += block.bytes;
        const buddy = x ^ block.bytes;
        if (k < n && this.entry(buddy) === (Entry.FREE | k)) fail(`free buddies of order ${k} were not merged`, x);
      } else if (block.kind === "used") {
        const slack = this.slack(x, k);
        if (slack > block.bytes) fail(`slack ${slack} exceeds the block`, x);
        liveBlocks++;
        liveBytes += block.bytes - slack;
        slackBytes += slack;
      } else metaBlocks++;
    }
    if (total !== 2 ** n) fail(`blocks span ${total} bytes, the arena ${2 ** n}`);
    if (metaBlocks !== 2) fail(`${metaBlocks} META blocks, expected the control block and the table`);
    for (let k = 0; k < 32; k++) {
      let count = 0;
      for (let x = u32[(Ctrl.FREE_HEADS >>> 2) + k]!, prev = 0; x !== 0; prev = x, x = u32[(x + Link.NEXT) >>> 2]!) {
        if (++count > freeCount[k]!) fail(`free list ${k} is longer than the ${freeCount[k]} free blocks of that order`, x);
        if (x >= 2 ** n || this.entry(x) !== (Entry.FREE | k)) fail(`free list ${k} holds a block that is not FREE of order ${k}`, x);
        if (u32[(x + Link.PREV) >>> 2] !== prev) fail(`free list ${k}: back link ${u32[(x + Link.PREV) >>> 2]} should be ${prev}`, x);
      }
      if (count !== freeCount[k]) fail(`free list ${k} holds ${count} blocks, the arena ${freeCount[k]}`);
    }
    const gauges: [string, number, number][] = [
      ["LIVE_BLOCKS", f64[Ctrl.LIVE_BLOCKS >>> 3]!, liveBlocks], ["LIVE_BYTES", f64[Ctrl.LIVE_BYTES >>> 3]!, liveBytes],
      ["SLACK_BYTES", f64[Ctrl.SLACK_BYTES >>> 3]!, slackBytes], ["FREE_BYTES", f64[Ctrl.FREE_BYTES >>> 3]!, freeBytes],
    ];
    for (const [name, stored, counted] of gauges) if (stored !== counted) fail(`${name} is ${stored}, the blocks say ${counted}`, 0);
  }

  /** Lays out an empty arena of order n: control block, order table, and the free buddies. */
  private format(n: number): void {
    const t = n - Order.TABLE_BELOW_ARENA;
    this.store.u8.fill(0, 0, 2 ** (t + 1));
    const u32 = this.store.u32;
    u32[Ctrl.MAGIC >>> 2] = Ctrl.MAGIC_VALUE;
    u32[Ctrl.ARENA_ORDER >>> 2] = n;
    u32[Ctrl.TABLE >>> 2] = 2 ** t;
    this.setEntry(0, Entry.META | Order.CONTROL);
    for (let k = Order.CONTROL; k < t; k++) this.pushFree(2 ** k, k);
    this.setEntry(2 ** t, Entry.META | t);
    for (let k = t + 1; k < n; k++) this.pushFree(2 ** k, k);
  }

  /**
   * The slow path (Knuth's Algorithm R, steps R2-R4): take the smallest free block of order k or more,
   * doubling the arena until one exists, and split it, keeping the lower half each time.
   * Returns the order-k block (unlinked), or 0 when the reservation is exhausted.
   */
  private splitFromLarger(k: number): number {
    let j: number;
    for (;;) {
      const n = this.store.u32[Ctrl.ARENA_ORDER >>> 2]!;
      j = k; // after a doubling, a block of order k itself may be free
      while (j < n && this.store.u32[(Ctrl.FREE_HEADS >>> 2) + j] === 0) j++;
      if (j < n) break;
      if (!this.doubleArena()) return 0;
    }
    const x = this.store.u32[(Ctrl.FREE_HEADS >>> 2) + j]!;
    this.unlinkFree(x, j);
    while (j > k) {
      j--;
      this.pushFree(x + 2 ** j, j);
    }
    return x;
  }

  /**
   * Grows the arena from 2^n to 2^(n+1): the new upper half is split so the doubled order table
   * fills its first 2^(n-2) bytes, then the old table's block is freed (and merges if it can).
   */
  private doubleArena(): boolean {
    const n = this.store.u32[Ctrl.ARENA_ORDER >>> 2]!;
    if (n + 1 > this.maxArenaOrder || !this.store.grow(2 ** (n + 1))) return false;
    this.refreshTable();
    const u32 = this.store.u32;
    const t = n - Order.TABLE_BELOW_ARENA;
    const oldTable = u32[Ctrl.TABLE >>> 2]!;
    const newTable = 2 ** n;
    const u8 = this.store.u8;
    u8.copyWithin(newTable, oldTable, oldTable + 2 ** t);
    u8.fill(0, newTable + 2 ** t, newTable + 2 ** (t + 1));
    u32[Ctrl.TABLE >>> 2] = newTable;
    u32[Ctrl.ARENA_ORDER >>> 2] = n + 1;
    this.setEntry(newTable, Entry.META | (t + 1));
    for (let k = t + 1; k < n; k++) this.pushFree(newTable + 2 ** k, k);
    this.setEntry(oldTable, 0);
    this.release(oldTable, t);
    return true;
  }

  /** Knuth's Algorithm S: merge the block at x of order k with its free buddy while it has one. */
  private release(x: number, k: number): void {
    const n = this.store.u32[Ctrl.ARENA_ORDER >>> 2]!;
    while (k < n - 1) {
      const buddy = x ^ (2 ** k);
      if (this.entry(buddy) !== (Entry.FREE | k)) break;
      this.unlinkFree(buddy, k);
      this.setEntry(buddy, 0);
      this.setEntry(x, 0);
      x = Math.min(x, buddy);
      k++;
    }
    this.pushFree(x, k);
  }

  /** The order of the USED block at ptr; throws the typed error for anything else. */
  private usedOrder(ptr: number): number {
    const arenaBytes = 2 ** this.store.u32[Ctrl.ARENA_ORDER >>> 2]!;
    if (!(Number.isInteger(ptr) && ptr > 0 && ptr < arenaBytes)) throw new InvalidFreeError(ptr, `outside the buddy arena (1 to ${arenaBytes - 1})`);
    if (ptr % Order.UNIT_BYTES !== 0) throw new InvalidFreeError(ptr, `not a multiple of ${Order.UNIT_BYTES}, so not the start of a block`);
    const e = this.entry(ptr);
    switch (e & Entry.STATE_MASK) {
      case Entry.USED: return e & Entry.ORDER_MASK;
      case Entry.FREE: throw new DoubleFreeError(ptr);
      case Entry.META: throw new InvalidFreeError(ptr, "the allocator's own metadata");
      default: throw new InvalidFreeError(ptr, "inside a block, or a block that has merged with its buddy since it was freed");
    }
  }

  private markUsed(x: number, k: number, size: number): number {
    this.setUsedEntry(x, k, size);
    const f64 = this.store.f64;
    f64[Ctrl.LIVE_BLOCKS >>> 3]!++;
    f64[Ctrl.LIVE_BYTES >>> 3]! += size;
    f64[Ctrl.SLACK_BYTES >>> 3]! += 2 ** k - size;
    f64[Ctrl.MALLOC_COUNT >>> 3]!++;
    if (f64[Ctrl.LIVE_BYTES >>> 3]! > f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!) f64[Ctrl.PEAK_LIVE_BYTES >>> 3] = f64[Ctrl.LIVE_BYTES >>> 3]!;
    return x;
  }

  /** Head entry USED | k, with slack = 2^k - size spread over 9-bit chunks. */
  private setUsedEntry(x: number, k: number, size: number): void {
    let slack = 2 ** k - size;
    const table = this.table16;
    const i = this.store.u32[Ctrl.TABLE >>> 2]! / 2 + x / Order.UNIT_BYTES;
    table[i] = Entry.USED | k | ((slack & Entry.CHUNK_MASK) << Entry.CHUNK_SHIFT);
    for (let c = 1; c < chunkCount(k); c++) {
      slack = Math.floor(slack / (1 << Entry.CHUNK_BITS));
      table[i + c] = (slack & Entry.CHUNK_MASK) << Entry.CHUNK_SHIFT;
    }
  }

  private slack(x: number, k: number): number {
    const table = this.table16;
    const i = this.store.u32[Ctrl.TABLE >>> 2]! / 2 + x / Order.UNIT_BYTES;
    let slack = 0;
    for (let c = chunkCount(k) - 1; c >= 0; c--) slack = slack * (1 << Entry.CHUNK_BITS) + (table[i + c]! >>> Entry.CHUNK_SHIFT);
    return slack;
  }

  /** Zeroes a used block's head and slack chunks. */
  private clearEntries(x: number, k: number): void {
    const i = this.store.u32[Ctrl.TABLE >>> 2]! / 2 + x / Order.UNIT_BYTES;
    this.table16.fill(0, i, i + chunkCount(k));
  }

  private pushFree(x: number, k: number): void {
    const u32 = this.store.u32;
    const next = u32[(Ctrl.FREE_HEADS >>> 2) + k]!;
    u32[(x + Link.NEXT) >>> 2] = next;
    u32[(x + Link.PREV) >>> 2] = 0;
    if (next !== 0) u32[(next + Link.PREV) >>> 2] = x;
    u32[(Ctrl.FREE_HEADS >>> 2) + k] = x;
    this.setEntry(x, Entry.FREE | k);
    this.store.f64[Ctrl.FREE_BYTES >>> 3]! += 2 ** k;
  }

  private unlinkFree(x: number, k: number): void {
    const u32 = this.store.u32;
    const next = u32[(x + Link.NEXT) >>> 2]!;
    const prev = u32[(x + Link.PREV) >>> 2]!;
    if (prev === 0) u32[(Ctrl.FREE_HEADS >>> 2) + k] = next;
    else u32[(prev + Link.NEXT) >>> 2] = next;
    if (next !== 0) u32[(next + Link.PREV) >>> 2] = prev;
    this.store.f64[Ctrl.FREE_BYTES >>> 3]! -= 2 ** k;
  }

  private entry(x: number): number {
    return this.table16[this.store.u32[Ctrl.TABLE >>> 2]! / 2 + x / Order.UNIT_BYTES]!;
  }

  private setEntry(x: number, e: number): void {
    this.table16[this.store.u32[Ctrl.TABLE >>> 2]! / 2 + x / Order.UNIT_BYTES] = e;
  }

  /** The store offers no u16 view; this one follows the buffer when a WASM memory replaces it. */
  private refreshTable(): void {
    if (this.table16.buffer !== this.store.buffer) this.table16 = u16View(this.store);
  }
}

/** Length-tracking where the buffer resizes in place; a fixed buffer may have an odd length. */
function u16View(store: ByteStore): Uint16Array {
  const buffer = store.buffer;
  const tracking = store.kind === "resizable" || (buffer instanceof SharedArrayBuffer && buffer.growable);
  return tracking ? new Uint16Array(buffer) : new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
}

/** ceil(log2(max(bytes, 16))): the order of the smallest block that holds `bytes`. */
function orderFor(bytes: number): number {
  return bytes <= Order.UNIT_BYTES ? Order.MIN : 32 - Math.clz32(bytes - 1);
}

function floorLog2(bytes: number): number {
  return 31 - Math.clz32(bytes);
}

/** Table entries holding a used block's slack (at most 2^k, so k + 1 bits). */
function chunkCount(k: number): number {
  return Math.ceil((k + 1) / Entry.CHUNK_BITS);
}

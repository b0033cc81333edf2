/**
 * The classic fits: one explicit free list of blocks with boundary tags (Knuth, TAOCP vol. 1
 * §2.5, Algorithm A for first fit and Algorithm C for liberation with boundary tags; Wilson et
 * al. 1995, "Dynamic Storage Allocation: A Survey and Critical Review", §3.4 "sequential fits").
 * Deliberately simple, for comparison and teaching: every search and every list insertion walks
 * the free list, O(free blocks).
 *
 *   fit "first"  the lowest-addressed hole that fits (address-ordered first fit)
 *   fit "next"   first fit starting where the last search stopped (Knuth's roving pointer)
 *   fit "best"   the smallest hole that fits, the lowest-addressed among equals
 *   coalesce "immediate"  free merges with free neighbours at once, through the boundary tags
 *   coalesce "deferred"   free only links the block; a failed search merges all neighbours, then retries
 *
 * Store layout (the heap is [HEAP_START, TOP); it grows by extending the top, up to the reservation):
 *
 *   0            HEAP_START                                          TOP           committed
 *   +------------+----------+----------+----------+-- ... --+--------+ - - - - - - +
 *   |  control   |  block   |  block   |  block   |         | block  |  not heap   |
 *   +------------+----------+----------+----------+-- ... --+--------+ - - - - - - +
 *
 * Control block (offsets in bytes):
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
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidStoreError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { type AllocatorStoreOptions, openStore, reallocByMove } from "./common.js";
import { assembleStats } from "./stats.js";
import { checkAlign, checkSize } from "./validate.js";

export type Fit = "first" | "next" | "best";
export type Coalescing = "immediate" | "deferred";

export type FitOptions = AllocatorStoreOptions & {
  /** Which hole a search picks. @defaultValue "first" */
  fit?: Fit;
  /** When free blocks merge with their neighbours. @defaultValue "immediate" */
  coalesce?: Coalescing;
};

// May be modified.
export const FIT_MAX_ALIGN = 4096;

// Do not modify: the layout above depends on these.
const GRANULE_BYTES = 8;
const HEADER_BYTES = 8;
const FOOTER_BYTES = 8;
const OVERHEAD_BYTES = HEADER_BYTES + FOOTER_BYTES;
const MIN_BLOCK_BYTES = OVERHEAD_BYTES + 8; //  a free block holds its two links
const USED = 1;
const TOMBSTONE = 2;
const FLAG_BITS = GRANULE_BYTES - 1;
const MAGIC = 0x46495453; //                      "FITS"

// Control block: u32 indices, then f64 indices.
const C_MAGIC = 0;
const C_FIT = 1;
const C_COALESCE = 2;
const C_TOP = 3;
const C_FREE_HEAD = 4;
const C_ROVER = 5;
const F_LIVE_BLOCKS = 4;
const F_LIVE_BYTES = 5;
const F_PEAK_LIVE_BYTES = 6;
const F_USED_BLOCK_BYTES = 7;
const F_PEAK_TOP = 8;
const F_MALLOC_COUNT = 9;
const F_FREE_COUNT = 10;
const HEAP_START = (F_FREE_COUNT + 1) * 8;

// Block fields, relative to the block.
const SEAL = 4;
const NEXT = 8;
const PREV = 12;
const ASKED_FROM_END = 4;

if (HEAP_START % GRANULE_BYTES !== 0 || C_ROVER * 4 + 4 > F_LIVE_BLOCKS * 8) throw new Error("fits: control block overflows");

const FITS: readonly Fit[] = ["first", "next", "best"];
const COALESCINGS: readonly Coalescing[] = ["immediate", "deferred"];

/**
 * The classic fits on one address-ordered free list with boundary tags: first, next or best
 * fit, with immediate or deferred coalescing. O(free blocks) per call, kept for comparison.
 *
 * @example
 * ```ts
 * const fits = new FitAllocator({ fit: "best", coalesce: "deferred" });
 * const p = fits.malloc(40);
 * fits.free(p);                       // merged with its neighbours only when a search needs it
 * fits.name;                          // "best-fit"
 * ```
 */
export class FitAllocator implements Allocator {
  readonly name: string;
  readonly store: ByteStore;
  readonly fit: Fit;
  readonly coalesce: Coalescing;
  /** Largest request: what a heap spanning the whole reservation could hold. */
  readonly maxRequestBytes: number;

  constructor(options: FitOptions = {}) {
    this.fit = options.fit ?? "first";
    this.coalesce = options.coalesce ?? "immediate";
    if (!FITS.includes(this.fit)) throw new InvalidStoreError(`unknown fit ${JSON.stringify(this.fit)}: use first, next or best`);
    if (!COALESCINGS.includes(this.coalesce)) throw new InvalidStoreError(`unknown coalescing ${JSON.stringify(this.coalesce)}: use immediate or deferred`);
    this.name = `${this.fit}-fit`;
    this.store = openStore(options, HEAP_START, this.name);
    this.maxRequestBytes = Math.max(0, roundDown(this.store.reservedBytes) - HEAP_START - OVERHEAD_BYTES);
    this.store.u8.fill(0, 0, HEAP_START);
    const u32 = this.store.u32;
    u32[C_MAGIC] = MAGIC;
    u32[C_FIT] = FITS.indexOf(this.fit);
    u32[C_COALESCE] = COALESCINGS.indexOf(this.coalesce);
    u32[C_TOP] = HEAP_START;
    this.store.f64[F_PEAK_TOP] = HEAP_START;
  }

  malloc(size: number, align = 8): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, FIT_MAX_ALIGN);
    const need = blockBytes(size);
    const b = this.search(need, align);
    return b !== 0 ? this.place(b, need, align, size) : this.mallocGeneric(need, align, size);
  }

  free(ptr: number): void {
    const b = this.usedBlock(ptr);
    const f64 = this.store.f64;
    f64[F_LIVE_BLOCKS]!--;
    f64[F_LIVE_BYTES]! -= this.asked(b);
    f64[F_USED_BLOCK_BYTES]! -= this.sizeOf(b);
    f64[F_FREE_COUNT]!++;
    this.release(b);
  }

  /** In place when shrinking, when the next block is a large enough hole, or at the top. */
  realloc(ptr: number, size: number): number {
    const b = this.usedBlock(ptr);
    checkSize(size, this.maxRequestBytes);
    const need = blockBytes(size);
    const s = this.sizeOf(b);
    const asked = this.asked(b);
    const next = b + s;
    const top = this.store.u32[C_TOP]!;
    let kept: number;
    if (need <= s) {
      kept = s - need >= MIN_BLOCK_BYTES ? need : s;
    } else if (next < top && this.isFreeBlock(next) && s + this.sizeOf(next) >= need) {
      const merged = s + this.sizeOf(next);
      kept = merged - need >= MIN_BLOCK_BYTES ? need : merged;
      if (kept < merged) {
        this.replaceFree(next, b + kept); // before the new header, which may overlap next's links
        this.writeBlock(b + kept, merged - kept, 0, 0);
      } else this.unlinkFree(next);
      this.bury(next);
    } else if (next === top && this.extendTop(b + need)) {
      kept = need;
    } else {
      return reallocByMove(this, ptr, asked, size);
    }
    this.writeBlock(b, kept, USED, size);
    if (kept < s) {
      this.writeBlock(b + kept, s - kept, USED, 0); // the tail, freed like any block
      this.release(b + kept);
    }
    const f64 = this.store.f64;
    f64[F_LIVE_BYTES]! += size - asked;
    f64[F_USED_BLOCK_BYTES]! += kept - s;
    if (f64[F_LIVE_BYTES]! > f64[F_PEAK_LIVE_BYTES]!) f64[F_PEAK_LIVE_BYTES] = f64[F_LIVE_BYTES]!;
    return ptr;
  }

  usableSize(ptr: number): number {
    return this.sizeOf(this.usedBlock(ptr)) - OVERHEAD_BYTES;
  }

  stats(): AllocatorStats {
    const f64 = this.store.f64;
    const u32 = this.store.u32;
    const top = u32[C_TOP]!;
    let largestFreeBytes = 0;
    for (let x = u32[C_FREE_HEAD]!; x !== 0; x = u32[(x + NEXT) >>> 2]!) largestFreeBytes = Math.max(largestFreeBytes, this.sizeOf(x));
    const freeBytes = top - HEAP_START - f64[F_USED_BLOCK_BYTES]!;
    return assembleStats(this.store, {
      liveBlocks: f64[F_LIVE_BLOCKS]!,
      liveBytes: f64[F_LIVE_BYTES]!,
      peakLiveBytes: f64[F_PEAK_LIVE_BYTES]!,
      extentBytes: top,
      peakExtentBytes: f64[F_PEAK_TOP]!,
      freeBytes,
      largestFreeBytes,
      internalFragmentationBytes: f64[F_USED_BLOCK_BYTES]! - OVERHEAD_BYTES * f64[F_LIVE_BLOCKS]! - f64[F_LIVE_BYTES]!,
      mallocCount: f64[F_MALLOC_COUNT]!,
      freeCount: f64[F_FREE_COUNT]!,
    });
  }

  /** The control block, then every block, header and footer included. Walks from the base: O(blocks below `end`). */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    if (!sink.span(0, HEAP_START, Span.META, 0, 0, Held.NONE, "control block")) return;
    const top = this.store.u32[C_TOP]!;
    for (let b = HEAP_START; b < top;) {
      const word = this.store.u32[b >>> 2]!;
      const s = sizeOfWord(word);
      if (s < MIN_BLOCK_BYTES || b + s > top || this.store.u32[(b + 4) >>> 2] !== seal(b, word)) {
        throw new HeapCorruptionError(`no valid block header (word ${word})`, b);
      }
      const going = (word & USED) !== 0
        ? sink.span(b, s, Span.USED, b + HEADER_BYTES, this.asked(b), Held.NONE, "")
        : sink.span(b, s, Span.FREE, 0, 0, Held.NONE, "");
      if (!going) return;
      b += s;
    }
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, at?: number): never => { throw new HeapCorruptionError(message, at); };
    if (u32[C_MAGIC] !== MAGIC) fail("control block magic is wrong", 0);
    const top = u32[C_TOP]!;
    if (top < HEAP_START || top % GRANULE_BYTES !== 0 || top > this.store.committedBytes) fail(`TOP ${top} is outside the store`, 0);
    let liveBlocks = 0, liveBytes = 0, usedBlockBytes = 0, previousFree = false, end = HEAP_START;
    let listed = u32[C_FREE_HEAD]!, prevListed = 0, roverSeen = u32[C_ROVER] === 0;
    for (const block of this.walk()) {
      if (block.kind === "meta") continue;
      const b = block.start;
      const s = block.bytes;
      end = b + s;
      if (u32[(b + s - FOOTER_BYTES) >>> 2] !== u32[b >>> 2]) fail("header and footer disagree", b);
      if (block.kind === "used") {
        const asked = this.asked(b);
        if (asked > s - OVERHEAD_BYTES) fail(`asked ${asked} bytes of a ${s}-byte block`, b);
        liveBlocks++;
        liveBytes += asked;
        usedBlockBytes += s;
        previousFree = false;
        continue;
      }
      if (previousFree && this.coalesce === "immediate") fail("two adjacent free blocks under immediate coalescing", b);
      previousFree = true;
      if (listed !== b) fail(`the free list holds ${listed} where the next free block is ${b}`, b);
      if (u32[(b + PREV) >>> 2] !== prevListed) fail(`back link ${u32[(b + PREV) >>> 2]} should be ${prevListed}`, b);
      if (b === u32[C_ROVER]) roverSeen = true;
      prevListed = b;
      listed = u32[(b + NEXT) >>> 2]!;
    }
    if (end !== top) fail(`blocks end at ${end}, TOP is ${top}`, end);
    if (listed !== 0) fail("the free list continues past the last free block", listed);
    if (!roverSeen) fail("the roving pointer is not on the free list", u32[C_ROVER]);
    const gauges: [string, number, number][] = [
      ["LIVE_BLOCKS", f64[F_LIVE_BLOCKS]!, liveBlocks], ["LIVE_BYTES", f64[F_LIVE_BYTES]!, liveBytes],
      ["USED_BLOCK_BYTES", f64[F_USED_BLOCK_BYTES]!, usedBlockBytes],
    ];
    for (const [name, stored, counted] of gauges) if (stored !== counted) fail(`${name} is ${stored}, the blocks say ${counted}`, 0);
  }

  /** The slow path: merge deferred neighbours and search again, then extend the top. */
  private mallocGeneric(need: number, align: number, size: number): number {
    let b = this.coalesce === "deferred" && this.coalesceAll() ? this.search(need, align) : 0;
    if (b === 0) b = this.growForBlock(need, align);
    return b === 0 ? 0 : this.place(b, need, align, size);
  }

  /** The free block the policy picks for `need` bytes at `align`, or 0. */
  private search(need: number, align: number): number {
    const u32 = this.store.u32;
    const head = u32[C_FREE_HEAD]!;
    if (this.fit === "best") {
      let best = 0, bestBytes = Infinity;
      for (let x = head; x !== 0; x = u32[(x + NEXT) >>> 2]!) {
        const s = this.sizeOf(x);
        if (s < bestBytes && this.fits(x, s, need, align)) {
          best = x;
          bestBytes = s;
          if (s === need) break;
        }
      }
      return best;
    }
    const start = this.fit === "next" && u32[C_ROVER] !== 0 ? u32[C_ROVER]! : head;
    for (let x = start; x !== 0; x = u32[(x + NEXT) >>> 2]!) if (this.fits(x, this.sizeOf(x), need, align)) return x;
    for (let x = head; x !== start; x = u32[(x + NEXT) >>> 2]!) if (this.fits(x, this.sizeOf(x), need, align)) return x;
    return 0;
  }

  private fits(b: number, s: number, need: number, align: number): boolean {
    return payloadFor(b, align) - HEADER_BYTES + need <= b + s;
  }

  /**
   * Carves the used block out of the free block b: a front gap (for alignment) stays a free block
   * where b was, a tail of MIN_BLOCK_BYTES or more becomes a free block after it.
   */
  private place(b: number, need: number, align: number, size: number): number {
    const s = this.sizeOf(b);
    const after = this.store.u32[(b + NEXT) >>> 2]!;
    const u = payloadFor(b, align) - HEADER_BYTES;
    const tail = s - (u - b) - need >= MIN_BLOCK_BYTES ? u + need : 0;
    const end = b + s;
    if (u > b) {
      this.writeBlock(b, u - b, 0, 0); // b keeps its place in the list
      if (tail !== 0) this.linkAfter(b, tail);
    } else if (tail !== 0) this.replaceFree(b, tail);
    else this.unlinkFree(b);
    if (tail !== 0) this.writeBlock(tail, end - tail, 0, 0);
    if (this.fit === "next") this.store.u32[C_ROVER] = tail !== 0 ? tail : after; // where the search stopped
    const blockEnd = tail !== 0 ? tail : end;
    this.writeBlock(u, blockEnd - u, USED, size);
    const f64 = this.store.f64;
    f64[F_LIVE_BLOCKS]!++;
    f64[F_LIVE_BYTES]! += size;
    f64[F_USED_BLOCK_BYTES]! += blockEnd - u;
    f64[F_MALLOC_COUNT]!++;
    if (f64[F_LIVE_BYTES]! > f64[F_PEAK_LIVE_BYTES]!) f64[F_PEAK_LIVE_BYTES] = f64[F_LIVE_BYTES]!;
    return u + HEADER_BYTES;
  }

  /**
   * Frees the block at b. Immediate: Knuth's Algorithm C, merging with a free block below
   * (found through its footer) and above (through its header). Deferred: links it, unmerged.
   */
  private release(b: number): void {
    const u32 = this.store.u32;
    let s = this.sizeOf(b);
    if (this.coalesce === "deferred") {
      this.writeBlock(b, s, 0, 0);
      this.insertFree(b);
      return;
    }
    const next = b + s;
    const nextFree = next < u32[C_TOP]! && this.isFreeBlock(next);
    const below = this.freeBlockEndingAt(b);
    if (nextFree) {
      s += this.sizeOf(next);
      if (below !== 0) this.unlinkFree(next);
      else this.replaceFree(next, b);
      this.bury(next);
    }
    if (below !== 0) {
      this.writeBlock(below, s + this.sizeOf(below), 0, 0);
      this.bury(b);
    } else {
      this.writeBlock(b, s, 0, 0);
      if (!nextFree) this.insertFree(b);
    }
  }

  /** Deferred coalescing: merge every run of adjacent free blocks (neighbours on the list). */
  private coalesceAll(): boolean {
    const u32 = this.store.u32;
    let merged = false;
    for (let x = u32[C_FREE_HEAD]!; x !== 0;) {
      const next = u32[(x + NEXT) >>> 2]!;
      const s = this.sizeOf(x);
      if (next === x + s) {
        this.unlinkFree(next);
        this.writeBlock(x, s + this.sizeOf(next), 0, 0);
        this.bury(next);
        merged = true;
      } else x = next;
    }
    return merged;
  }

  /** Extends the top so a block of `need` bytes at `align` fits; returns its free block, or 0. */
  private growForBlock(need: number, align: number): number {
    const u32 = this.store.u32;
    const top = u32[C_TOP]!;
    const last = this.freeBlockEndingAt(top);
    const b = last !== 0 ? last : top;
    if (!this.extendTop(Math.max(top, payloadFor(b, align) - HEADER_BYTES + need))) return 0;
    this.writeBlock(b, this.store.u32[C_TOP]! - b, 0, 0);
    if (last === 0) this.insertFree(b);
    return b;
  }

  /** Moves TOP up to newTop, growing the store; false (nothing changed) past the reservation. */
  private extendTop(newTop: number): boolean {
    if (newTop > this.store.reservedBytes || !this.store.grow(newTop)) return false;
    this.store.u32[C_TOP] = newTop;
    const f64 = this.store.f64;
    if (newTop > f64[F_PEAK_TOP]!) f64[F_PEAK_TOP] = newTop;
    return true;
  }

  /** The block of the live pointer ptr; throws the typed error for anything else. */
  private usedBlock(ptr: number): number {
    const u32 = this.store.u32;
    const top = u32[C_TOP]!;
    if (!(Number.isInteger(ptr) && ptr >= HEAP_START + HEADER_BYTES && ptr < top)) {
      throw new InvalidFreeError(ptr, `outside the heap (${HEAP_START + HEADER_BYTES} to ${top - 1})`);
    }
    if (ptr % GRANULE_BYTES !== 0) throw new InvalidFreeError(ptr, `not a multiple of ${GRANULE_BYTES}, so not a block's payload`);
    const b = ptr - HEADER_BYTES;
    const word = u32[b >>> 2]!;
    if (u32[(b + SEAL) >>> 2] !== seal(b, word)) throw new InvalidFreeError(ptr, "no block header here: never allocated, or inside a block");
    if (word === TOMBSTONE) throw new DoubleFreeError(ptr, " (and merged into a neighbour)");
    if ((word & USED) === 0) throw new DoubleFreeError(ptr);
    const s = sizeOfWord(word);
    if (s < MIN_BLOCK_BYTES || b + s > top || u32[(b + s - FOOTER_BYTES) >>> 2] !== word) {
      throw new HeapCorruptionError(`block header ${word} does not match its footer`, b);
    }
    return b;
  }

  /** The free block that ends at `end` (found through its footer), or 0. */
  private freeBlockEndingAt(end: number): number {
    if (end <= HEAP_START) return 0;
    const footer = this.store.u32[(end - FOOTER_BYTES) >>> 2]!;
    return (footer & USED) === 0 ? end - sizeOfWord(footer) : 0;
  }

  private isFreeBlock(b: number): boolean {
    return (this.store.u32[b >>> 2]! & USED) === 0;
  }

  private sizeOf(b: number): number {
    return sizeOfWord(this.store.u32[b >>> 2]!);
  }

  private asked(b: number): number {
    return this.store.u32[(b + this.sizeOf(b) - ASKED_FROM_END) >>> 2]!;
  }

  /** Header (size word, seal) and footer (size word, asked); a free block's links are untouched. */
  private writeBlock(b: number, s: number, used: number, asked: number): void {
    const u32 = this.store.u32;
    const word = s + used;
    u32[b >>> 2] = word;
    u32[(b + SEAL) >>> 2] = seal(b, word);
    u32[(b + s - FOOTER_BYTES) >>> 2] = word;
    u32[(b + s - ASKED_FROM_END) >>> 2] = asked;
  }

  /** Marks a header that is no longer a block start. */
  private bury(b: number): void {
    const u32 = this.store.u32;
    u32[b >>> 2] = TOMBSTONE;
    u32[(b + SEAL) >>> 2] = seal(b, TOMBSTONE);
  }

  /** Links x into the address-ordered list after its predecessor (a walk: O(free blocks)). */
  private insertFree(x: number): void {
    const u32 = this.store.u32;
    let prev = 0;
    for (let y = u32[C_FREE_HEAD]!; y !== 0 && y < x; y = u32[(y + NEXT) >>> 2]!) prev = y;
    this.linkAfter(prev, x);
  }

  /** Links x after prev (0: at the head). */
  private linkAfter(prev: number, x: number): void {
    const u32 = this.store.u32;
    const next = prev === 0 ? u32[C_FREE_HEAD]! : u32[(prev + NEXT) >>> 2]!;
    u32[(x + NEXT) >>> 2] = next;
    u32[(x + PREV) >>> 2] = prev;
    if (prev === 0) u32[C_FREE_HEAD] = x;
    else u32[(prev + NEXT) >>> 2] = x;
    if (next !== 0) u32[(next + PREV) >>> 2] = x;
  }

  private unlinkFree(x: number): void {
    const u32 = this.store.u32;
    const next = u32[(x + NEXT) >>> 2]!;
    const prev = u32[(x + PREV) >>> 2]!;
    if (prev === 0) u32[C_FREE_HEAD] = next;
    else u32[(prev + NEXT) >>> 2] = next;
    if (next !== 0) u32[(next + PREV) >>> 2] = prev;
    if (u32[C_ROVER] === x) u32[C_ROVER] = next;
  }

  /** x takes old's place in the list (x lies between old's neighbours in address order). */
  private replaceFree(old: number, x: number): void {
    const u32 = this.store.u32;
    const next = u32[(old + NEXT) >>> 2]!;
    const prev = u32[(old + PREV) >>> 2]!;
    u32[(x + NEXT) >>> 2] = next;
    u32[(x + PREV) >>> 2] = prev;
    if (prev === 0) u32[C_FREE_HEAD] = x;
    else u32[(prev + NEXT) >>> 2] = x;
    if (next !== 0) u32[(next + PREV) >>> 2] = x;
    if (u32[C_ROVER] === old) u32[C_ROVER] = x;
  }
}

/** Block bytes for a request: the payload rounded to the granule, plus header and footer. */
function blockBytes(size: number): number {
  return Math.max(MIN_BLOCK_BYTES, Math.ceil(size / GRANULE_BYTES) * GRANULE_BYTES + OVERHEAD_BYTES);
}

/** The payload offset for a block placed in the hole at b: aligned, leaving either no gap or a free block. */
function payloadFor(b: number, align: number): number {
  const p = b + HEADER_BYTES;
  if (p % align === 0) return p;
  const aligned = Math.ceil(p / align) * align;
  return aligned - p >= MIN_BLOCK_BYTES ? aligned : Math.ceil((p + MIN_BLOCK_BYTES) / align) * align;
}

/** The size in a header or footer word (without the flag bits; sizes may reach 2^32 - 8). */
function sizeOfWord(word: number): number {
  return word - (word & FLAG_BITS);
}

function roundDown(bytes: number): number {
  return bytes - (bytes % GRANULE_BYTES);
}

/** A check word tying a header to its address, so a stray offset almost never passes for a block. */
function seal(b: number, word: number): number {
  return (Math.imul(b ^ MAGIC, 0x9e3779b1) ^ Math.imul(word ^ 0x5bd1e995, 0x85ebca6b)) >>> 0;
}

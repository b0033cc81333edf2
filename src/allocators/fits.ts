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
 * The bytes and the invariants are drawn in fits-layout.ts; `check()` is fits-check.ts.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidStoreError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { type AllocatorStoreOptions, openStore, reallocByMove } from "./common.js";
import { checkFits } from "./fits-check.js";
import { Ctrl, Fits } from "./fits-layout.js";
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
    this.store = openStore(options, Ctrl.HEAP_START, this.name);
    this.maxRequestBytes = Math.max(0, roundDown(this.store.reservedBytes) - Ctrl.HEAP_START - Fits.OVERHEAD_BYTES);
    this.store.u8.fill(0, 0, Ctrl.HEAP_START);
    const u32 = this.store.u32;
    u32[Ctrl.MAGIC >>> 2] = Fits.MAGIC;
    u32[Ctrl.FIT >>> 2] = FITS.indexOf(this.fit);
    u32[Ctrl.COALESCE >>> 2] = COALESCINGS.indexOf(this.coalesce);
    u32[Ctrl.TOP >>> 2] = Ctrl.HEAP_START;
    this.store.f64[Ctrl.PEAK_TOP >>> 3] = Ctrl.HEAP_START;
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
    f64[Ctrl.LIVE_BLOCKS >>> 3]!--;
    f64[Ctrl.LIVE_BYTES >>> 3]! -= this.asked(b);
    f64[Ctrl.USED_BLOCK_BYTES >>> 3]! -= this.sizeOf(b);
    f64[Ctrl.FREE_COUNT >>> 3]!++;
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
    const top = this.store.u32[Ctrl.TOP >>> 2]!;
    let kept: number;
    if (need <= s) {
      kept = s - need >= Fits.MIN_BLOCK_BYTES ? need : s;
    } else if (next < top && this.isFreeBlock(next) && s + this.sizeOf(next) >= need) {
      const merged = s + this.sizeOf(next);
      kept = merged - need >= Fits.MIN_BLOCK_BYTES ? need : merged;
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
    this.writeBlock(b, kept, Fits.USED, size);
    if (kept < s) {
      this.writeBlock(b + kept, s - kept, Fits.USED, 0); // the tail, freed like any block
      this.release(b + kept);
    }
    const f64 = this.store.f64;
    f64[Ctrl.LIVE_BYTES >>> 3]! += size - asked;
    f64[Ctrl.USED_BLOCK_BYTES >>> 3]! += kept - s;
    if (f64[Ctrl.LIVE_BYTES >>> 3]! > f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!) f64[Ctrl.PEAK_LIVE_BYTES >>> 3] = f64[Ctrl.LIVE_BYTES >>> 3]!;
    return ptr;
  }

  usableSize(ptr: number): number {
    return this.sizeOf(this.usedBlock(ptr)) - Fits.OVERHEAD_BYTES;
  }

  stats(): AllocatorStats {
    const f64 = this.store.f64;
    const u32 = this.store.u32;
    const top = u32[Ctrl.TOP >>> 2]!;
    let largestFreeBytes = 0;
    for (let x = u32[Ctrl.FREE_HEAD >>> 2]!; x !== 0; x = u32[(x + Fits.NEXT) >>> 2]!) largestFreeBytes = Math.max(largestFreeBytes, this.sizeOf(x));
    const freeBytes = top - Ctrl.HEAP_START - f64[Ctrl.USED_BLOCK_BYTES >>> 3]!;
    return assembleStats(this.store, {
      liveBlocks: f64[Ctrl.LIVE_BLOCKS >>> 3]!,
      liveBytes: f64[Ctrl.LIVE_BYTES >>> 3]!,
      peakLiveBytes: f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!,
      extentBytes: top,
      peakExtentBytes: f64[Ctrl.PEAK_TOP >>> 3]!,
      freeBytes,
      largestFreeBytes,
      internalFragmentationBytes: f64[Ctrl.USED_BLOCK_BYTES >>> 3]! - Fits.OVERHEAD_BYTES * f64[Ctrl.LIVE_BLOCKS >>> 3]! - f64[Ctrl.LIVE_BYTES >>> 3]!,
      mallocCount: f64[Ctrl.MALLOC_COUNT >>> 3]!,
      freeCount: f64[Ctrl.FREE_COUNT >>> 3]!,
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
    if (!sink.span(0, Ctrl.HEAP_START, Span.META, 0, 0, Held.NONE, "control block")) return;
    const top = this.store.u32[Ctrl.TOP >>> 2]!;
    for (let b = Ctrl.HEAP_START; b < top;) {
      const word = this.store.u32[b >>> 2]!;
      const s = sizeOfWord(word);
      if (s < Fits.MIN_BLOCK_BYTES || b + s > top || this.store.u32[(b + 4) >>> 2] !== seal(b, word)) {
        throw new HeapCorruptionError(`no valid block header (word ${word})`, b);
      }
      const going = (word & Fits.USED) !== 0
        ? sink.span(b, s, Span.USED, b + Fits.HEADER_BYTES, this.asked(b), Held.NONE, "")
        : sink.span(b, s, Span.FREE, 0, 0, Held.NONE, "");
      if (!going) return;
      b += s;
    }
  }

  check(): void {
    checkFits(this);
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
    const head = u32[Ctrl.FREE_HEAD >>> 2]!;
    if (this.fit === "best") {
      let best = 0, bestBytes = Infinity;
      for (let x = head; x !== 0; x = u32[(x + Fits.NEXT) >>> 2]!) {
        const s = this.sizeOf(x);
        if (s < bestBytes && this.fits(x, s, need, align)) {
          best = x;
          bestBytes = s;
          if (s === need) break;
        }
      }
      return best;
    }
    const start = this.fit === "next" && u32[Ctrl.ROVER >>> 2] !== 0 ? u32[Ctrl.ROVER >>> 2]! : head;
    for (let x = start; x !== 0; x = u32[(x + Fits.NEXT) >>> 2]!) if (this.fits(x, this.sizeOf(x), need, align)) return x;
    for (let x = head; x !== start; x = u32[(x + Fits.NEXT) >>> 2]!) if (this.fits(x, this.sizeOf(x), need, align)) return x;
    return 0;
  }

  private fits(b: number, s: number, need: number, align: number): boolean {
    return payloadFor(b, align) - Fits.HEADER_BYTES + need <= b + s;
  }

  /**
   * Carves the used block out of the free block b: a front gap (for alignment) stays a free block
   * where b was, a tail of MIN_BLOCK_BYTES or more becomes a free block after it.
   */
  private place(b: number, need: number, align: number, size: number): number {
    const s = this.sizeOf(b);
    const after = this.store.u32[(b + Fits.NEXT) >>> 2]!;
    const u = payloadFor(b, align) - Fits.HEADER_BYTES;
    const tail = s - (u - b) - need >= Fits.MIN_BLOCK_BYTES ? u + need : 0;
    const end = b + s;
    if (u > b) {
      this.writeBlock(b, u - b, 0, 0); // b keeps its place in the list
      if (tail !== 0) this.linkAfter(b, tail);
    } else if (tail !== 0) this.replaceFree(b, tail);
    else this.unlinkFree(b);
    if (tail !== 0) this.writeBlock(tail, end - tail, 0, 0);
    if (this.fit === "next") this.store.u32[Ctrl.ROVER >>> 2] = tail !== 0 ? tail : after; // where the search stopped
    const blockEnd = tail !== 0 ? tail : end;
    this.writeBlock(u, blockEnd - u, Fits.USED, size);
    const f64 = this.store.f64;
    f64[Ctrl.LIVE_BLOCKS >>> 3]!++;
    f64[Ctrl.LIVE_BYTES >>> 3]! += size;
    f64[Ctrl.USED_BLOCK_BYTES >>> 3]! += blockEnd - u;
    f64[Ctrl.MALLOC_COUNT >>> 3]!++;
    if (f64[Ctrl.LIVE_BYTES >>> 3]! > f64[Ctrl.PEAK_LIVE_BYTES >>> 3]!) f64[Ctrl.PEAK_LIVE_BYTES >>> 3] = f64[Ctrl.LIVE_BYTES >>> 3]!;
    return u + Fits.HEADER_BYTES;
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
    const nextFree = next < u32[Ctrl.TOP >>> 2]! && this.isFreeBlock(next);
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
    for (let x = u32[Ctrl.FREE_HEAD >>> 2]!; x !== 0;) {
      const next = u32[(x + Fits.NEXT) >>> 2]!;
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
    const top = u32[Ctrl.TOP >>> 2]!;
    const last = this.freeBlockEndingAt(top);
    const b = last !== 0 ? last : top;
    if (!this.extendTop(Math.max(top, payloadFor(b, align) - Fits.HEADER_BYTES + need))) return 0;
    this.writeBlock(b, this.store.u32[Ctrl.TOP >>> 2]! - b, 0, 0);
    if (last === 0) this.insertFree(b);
    return b;
  }

  /** Moves TOP up to newTop, growing the store; false (nothing changed) past the reservation. */
  private extendTop(newTop: number): boolean {
    if (newTop > this.store.reservedBytes || !this.store.grow(newTop)) return false;
    this.store.u32[Ctrl.TOP >>> 2] = newTop;
    const f64 = this.store.f64;
    if (newTop > f64[Ctrl.PEAK_TOP >>> 3]!) f64[Ctrl.PEAK_TOP >>> 3] = newTop;
    return true;
  }

  /** The block of the live pointer ptr; throws the typed error for anything else. */
  private usedBlock(ptr: number): number {
    const u32 = this.store.u32;
    const top = u32[Ctrl.TOP >>> 2]!;
    if (!(Number.isInteger(ptr) && ptr >= Ctrl.HEAP_START + Fits.HEADER_BYTES && ptr < top)) {
      throw new InvalidFreeError(ptr, `outside the heap (${Ctrl.HEAP_START + Fits.HEADER_BYTES} to ${top - 1})`);
    }
    if (ptr % Fits.GRANULE_BYTES !== 0) throw new InvalidFreeError(ptr, `not a multiple of ${Fits.GRANULE_BYTES}, so not a block's payload`);
    const b = ptr - Fits.HEADER_BYTES;
    const word = u32[b >>> 2]!;
    if (u32[(b + Fits.SEAL) >>> 2] !== seal(b, word)) throw new InvalidFreeError(ptr, "no block header here: never allocated, or inside a block");
    if (word === Fits.TOMBSTONE) throw new DoubleFreeError(ptr, " (and merged into a neighbour)");
    if ((word & Fits.USED) === 0) throw new DoubleFreeError(ptr);
    const s = sizeOfWord(word);
    if (s < Fits.MIN_BLOCK_BYTES || b + s > top || u32[(b + s - Fits.FOOTER_BYTES) >>> 2] !== word) {
      throw new HeapCorruptionError(`block header ${word} does not match its footer`, b);
    }
    return b;
  }

  /** The free block that ends at `end` (found through its footer), or 0. */
  private freeBlockEndingAt(end: number): number {
    if (end <= Ctrl.HEAP_START) return 0;
    const footer = this.store.u32[(end - Fits.FOOTER_BYTES) >>> 2]!;
    return (footer & Fits.USED) === 0 ? end - sizeOfWord(footer) : 0;
  }

  private isFreeBlock(b: number): boolean {
    return (this.store.u32[b >>> 2]! & Fits.USED) === 0;
  }

  private sizeOf(b: number): number {
    return sizeOfWord(this.store.u32[b >>> 2]!);
  }

  private asked(b: number): number {
    return this.store.u32[(b + this.sizeOf(b) - Fits.ASKED_FROM_END) >>> 2]!;
  }

  /** Header (size word, seal) and footer (size word, asked); a free block's links are untouched. */
  private writeBlock(b: number, s: number, used: number, asked: number): void {
    const u32 = this.store.u32;
    const word = s + used;
    u32[b >>> 2] = word;
    u32[(b + Fits.SEAL) >>> 2] = seal(b, word);
    u32[(b + s - Fits.FOOTER_BYTES) >>> 2] = word;
    u32[(b + s - Fits.ASKED_FROM_END) >>> 2] = asked;
  }

  /** Marks a header that is no longer a block start. */
  private bury(b: number): void {
    const u32 = this.store.u32;
    u32[b >>> 2] = Fits.TOMBSTONE;
    u32[(b + Fits.SEAL) >>> 2] = seal(b, Fits.TOMBSTONE);
  }

  /** Links x into the address-ordered list after its predecessor (a walk: O(free blocks)). */
  private insertFree(x: number): void {
    const u32 = this.store.u32;
    let prev = 0;
    for (let y = u32[Ctrl.FREE_HEAD >>> 2]!; y !== 0 && y < x; y = u32[(y + Fits.NEXT) >>> 2]!) prev = y;
    this.linkAfter(prev, x);
  }

  /** Links x after prev (0: at the head). */
  private linkAfter(prev: number, x: number): void {
    const u32 = this.store.u32;
    const next = prev === 0 ? u32[Ctrl.FREE_HEAD >>> 2]! : u32[(prev + Fits.NEXT) >>> 2]!;
    u32[(x + Fits.NEXT) >>> 2] = next;
    u32[(x + Fits.PREV) >>> 2] = prev;
    if (prev === 0) u32[Ctrl.FREE_HEAD >>> 2] = x;
    else u32[(prev + Fits.NEXT) >>> 2] = x;
    if (next !== 0) u32[(next + Fits.PREV) >>> 2] = x;
  }

  private unlinkFree(x: number): void {
    const u32 = this.store.u32;
    const next = u32[(x + Fits.NEXT) >>> 2]!;
    const prev = u32[(x + Fits.PREV) >>> 2]!;
    if (prev === 0) u32[Ctrl.FREE_HEAD >>> 2] = next;
    else u32[(prev + Fits.NEXT) >>> 2] = next;
    if (next !== 0) u32[(next + Fits.PREV) >>> 2] = prev;
    if (u32[Ctrl.ROVER >>> 2] === x) u32[Ctrl.ROVER >>> 2] = next;
  }

  /** x takes old's place in the list (x lies between old's neighbours in address order). */
  private replaceFree(old: number, x: number): void {
    const u32 = this.store.u32;
    const next = u32[(old + Fits.NEXT) >>> 2]!;
    const prev = u32[(old + Fits.PREV) >>> 2]!;
    u32[(x + Fits.NEXT) >>> 2] = next;
    u32[(x + Fits.PREV) >>> 2] = prev;
    if (prev === 0) u32[Ctrl.FREE_HEAD >>> 2] = x;
    else u32[(prev + Fits.NEXT) >>> 2] = x;
    if (next !== 0) u32[(next + Fits.PREV) >>> 2] = x;
    if (u32[Ctrl.ROVER >>> 2] === old) u32[Ctrl.ROVER >>> 2] = x;
  }
}

/** Block bytes for a request: the payload rounded to the granule, plus header and footer. */
function blockBytes(size: number): number {
  return Math.max(Fits.MIN_BLOCK_BYTES, Math.ceil(size / Fits.GRANULE_BYTES) * Fits.GRANULE_BYTES + Fits.OVERHEAD_BYTES);
}

/** The payload offset for a block placed in the hole at b: aligned, leaving either no gap or a free block. */
function payloadFor(b: number, align: number): number {
  const p = b + Fits.HEADER_BYTES;
  if (p % align === 0) return p;
  const aligned = Math.ceil(p / align) * align;
  return aligned - p >= Fits.MIN_BLOCK_BYTES ? aligned : Math.ceil((p + Fits.MIN_BLOCK_BYTES) / align) * align;
}

/** The size in a header or footer word (without the flag bits; sizes may reach 2^32 - 8). */
function sizeOfWord(word: number): number {
  return word - (word & Fits.FLAG_BITS);
}

/** A check word tying a header to its address, so a stray offset almost never passes for a block. */
function seal(b: number, word: number): number {
  return (Math.imul(b ^ Fits.MAGIC, 0x9e3779b1) ^ Math.imul(word ^ 0x5bd1e995, 0x85ebca6b)) >>> 0;
}

function roundDown(bytes: number): number {
  return bytes - (bytes % Fits.GRANULE_BYTES);
}

/**
 * The block layer of `Heap`: a two-level segregated fit (TLSF) over boundary-tagged blocks,
 * with immediate coalescing and a wilderness above `top` (see layout.ts for the bytes).
 *
 * Invariants (checked by check.ts):
 *   heapStart <= every block < top <= committedBytes;  blocks tile [heapStart, top) exactly
 *   free(b) => !free(next(b)) && !free(prev(b))            (immediate coalescing)
 *   the block just below top is used                       (free space at the top is wilderness)
 *   P bit of next(b) == free(b);  footer(b) == size(b) when free(b)
 *   bit (fl, sl) of the bitmaps == 1  <=>  list (fl, sl) is non-empty
 *   b in list listIndexOf(size(b)) <=> free(b);  Σ size(free b) == F_HOLE_BYTES
 */
import { ByteStore } from "../memory/store.js";
import {
  F_HOLE_BYTES, F_PEAK_TOP, FREE_BIT, FREE_TAG, GRANULE, HEADER_BYTES, MIN_BLOCK_BYTES,
  PREV_FREE_BIT, SIZE_MASK, SL_COUNT, W_FL_BITMAP, W_FREE_HEADS, W_SECRET, W_SL_BITMAPS, W_TOP,
  keyOf, listIndexOf, searchSizeFor,
} from "./layout.js";

/** How many entries of the exact list are tried before growing the heap (good-fit fallback). */
const FALLBACK_SCAN = 8;

export class TlsfBlocks {
  protected words: Uint32Array;
  protected doubles: Float64Array;
  protected readonly secret: number;

  constructor(readonly store: ByteStore, protected readonly heapStart: number) {
    this.words = store.u32;
    this.doubles = store.f64;
    this.secret = store.u32[W_SECRET]!;
  }

  /** The heap's extent: the end of the highest block (its `brk`). */
  get top(): number {
    return this.words[W_TOP]!;
  }

  // ---- Header words ------------------------------------------------------------------------

  protected sizeOf(p: number): number {
    return this.words[(p - 4) >>> 2]! & SIZE_MASK;
  }

  /** Marks p used with `requested` bytes, keeping its P bit. */
  protected markUsed(p: number, size: number, requested: number): void {
    const u32 = this.words;
    u32[(p - 4) >>> 2] = size | (u32[(p - 4) >>> 2]! & PREV_FREE_BIT);
    u32[(p - 8) >>> 2] = (requested ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Requested bytes of a used block, decoded from its check word. */
  protected requestedOf(p: number, size: number): number {
    return (this.words[(p - 8) >>> 2]! ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Writes a free block's header and footer and sets its successor's P bit. */
  private markFree(p: number, size: number): void {
    const u32 = this.words;
    u32[(p - 4) >>> 2] = size | FREE_BIT;
    u32[(p - 8) >>> 2] = (FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0;
    u32[(p + size - 12) >>> 2] = size;
    u32[(p + size - 4) >>> 2]! |= PREV_FREE_BIT;
  }

  protected isFreeTagged(p: number, size: number): boolean {
    return this.words[(p - 8) >>> 2] === ((FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0);
  }

  // ---- Free lists (mapping_insert / mapping_search / search_suitable_block) ---------------

  private insertFree(p: number, size: number): void {
    const u32 = this.words;
    const list = listIndexOf(size);
    const head = u32[W_FREE_HEADS + list]!;
    u32[p >>> 2] = head;
    u32[(p + 4) >>> 2] = 0;
    if (head !== 0) u32[(head + 4) >>> 2] = p;
    u32[W_FREE_HEADS + list] = p;
    const fl = (list / SL_COUNT) | 0;
    u32[W_FL_BITMAP]! |= 1 << fl;
    u32[W_SL_BITMAPS + fl]! |= 1 << (list & (SL_COUNT - 1));
    this.doubles[F_HOLE_BYTES]! += size;
  }

  private removeFree(p: number, size: number): void {
    const u32 = this.words;
    const next = u32[p >>> 2]!;
    const prev = u32[(p + 4) >>> 2]!;
    if (next !== 0) u32[(next + 4) >>> 2] = prev;
    if (prev !== 0) {
      u32[prev >>> 2] = next;
    } else {
      const list = listIndexOf(size);
      u32[W_FREE_HEADS + list] = next;
      if (next === 0) {
        const fl = (list / SL_COUNT) | 0;
        const sl = u32[W_SL_BITMAPS + fl]! & ~(1 << (list & (SL_COUNT - 1)));
        u32[W_SL_BITMAPS + fl] = sl;
        if (sl === 0) u32[W_FL_BITMAP]! &= ~(1 << fl);
      }
    }
    this.doubles[F_HOLE_BYTES]! -= size;
  }

  /** First block of the first non-empty list whose every block holds `size`; 0 if none. */
  private searchSuitable(size: number): number {
    const u32 = this.words;
    const target = searchSizeFor(size);
    if (target > 0xffffffff) return this.searchExact(size);
    const list = listIndexOf(target);
    let fl = (list / SL_COUNT) | 0;
    let slMap = u32[W_SL_BITMAPS + fl]! & (~0 << (list & (SL_COUNT - 1)));
    if (slMap === 0) {
      const flMap = fl + 1 < 32 ? u32[W_FL_BITMAP]! & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return this.searchExact(size);
      fl = 31 - Math.clz32(flMap & -flMap);
      slMap = u32[W_SL_BITMAPS + fl]!;
    }
    return u32[W_FREE_HEADS + fl * SL_COUNT + (31 - Math.clz32(slMap & -slMap))]!;
  }

  /** Good-fit fallback before growing: a few blocks of the request's own list may fit. */
  private searchExact(size: number): number {
    let p = this.words[W_FREE_HEADS + listIndexOf(size)]!;
    for (let i = 0; p !== 0 && i < FALLBACK_SCAN; i++, p = this.words[p >>> 2]!) {
      if (this.sizeOf(p) >= size) return p;
    }
    return 0;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /**
   * A used block of `size` bytes whose payload p has (p - phase) % align == 0, or 0. `align` is
   * a power of two; `phase` 0 aligns the payload, 8 aligns the block start (slab pages).
   */
  protected allocBlock(size: number, requested: number, align: number, phase: number): number {
    const padded = align <= GRANULE && phase === 0 ? size : size + align + MIN_BLOCK_BYTES;
    const p = this.searchSuitable(padded);
    if (p === 0) return this.carveFromTop(size, requested, align, phase);
    const blockSize = this.sizeOf(p);
    this.removeFree(p, blockSize);
    const q = alignedPayload(p, align, phase);
    if (q !== p) {
      this.markFree(p, q - p);
      this.insertFree(p, q - p);
    }
    this.useBlock(q, blockSize - (q - p), size, requested);
    return q;
  }

  /** Takes a block off the wilderness, committing memory if needed. */
  private carveFromTop(size: number, requested: number, align: number, phase: number): number {
    const top = this.top;
    const q = alignedPayload(top + HEADER_BYTES, align, phase);
    const newTop = q - HEADER_BYTES + size;
    if (newTop > this.store.committedBytes && !this.commit(newTop)) return 0;
    const u32 = this.words;
    const gap = q - HEADER_BYTES - top;
    u32[(q - 4) >>> 2] = 0;
    if (gap > 0) {
      this.markFree(top + HEADER_BYTES, gap);
      this.insertFree(top + HEADER_BYTES, gap);
    }
    u32[W_TOP] = newTop;
    if (newTop > this.doubles[F_PEAK_TOP]!) this.doubles[F_PEAK_TOP] = newTop;
    this.markUsed(q, size, requested);
    return q;
  }

  /** Grows the store to hold `newTop`, by at least an eighth so growth is amortised. */
  private commit(newTop: number): boolean {
    const store = this.store;
    const roomy = Math.max(newTop, store.committedBytes + (store.committedBytes >>> 3));
    const ok = (roomy <= store.reservedBytes && store.grow(roomy)) || store.grow(newTop);
    this.adoptViews();
    return ok;
  }

  /** Takes the store's current views (after it grew or shrank). */
  protected adoptViews(): void {
    this.words = this.store.u32;
    this.doubles = this.store.f64;
  }

  /** Makes the free block p (already unlisted) a used block of `size`, splitting off the rest. */
  private useBlock(p: number, blockSize: number, size: number, requested: number): void {
    const rest = blockSize - size;
    if (rest >= MIN_BLOCK_BYTES) {
      this.words[(p - 4) >>> 2] = size | (this.words[(p - 4) >>> 2]! & PREV_FREE_BIT);
      this.markUsed(p, size, requested);
      this.markFree(p + size, rest);
      this.insertFree(p + size, rest);
    } else {
      this.markUsed(p, blockSize, requested);
      this.words[(p + blockSize - 4) >>> 2]! &= ~PREV_FREE_BIT;
    }
  }

  // ---- Free and resize ---------------------------------------------------------------------

  /** Frees a used block (already validated), coalescing with free neighbours and the top. */
  protected freeBlock(p: number, size: number): void {
    const u32 = this.words;
    if (u32[(p - 4) >>> 2]! & PREV_FREE_BIT) {
      const prevSize = u32[(p - 12) >>> 2]!;
      p -= prevSize;
      this.removeFree(p, prevSize);
      size += prevSize;
    }
    const next = p + size;
    if (next - HEADER_BYTES === this.top) {
      u32[W_TOP] = p - HEADER_BYTES;
      return;
    }
    const nextWord = u32[(next - 4) >>> 2]!;
    if (nextWord & FREE_BIT) {
      this.removeFree(next, nextWord & SIZE_MASK);
      size += nextWord & SIZE_MASK;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
  }

  /**
   * Resizes a used block in place to `size` bytes: shrinking splits off the tail, growing takes
   * from a free successor or the wilderness. Returns false (nothing changed) when it cannot.
   */
  protected resizeInPlace(p: number, oldSize: number, size: number, requested: number): boolean {
    const u32 = this.words;
    const next = p + oldSize;
    if (next - HEADER_BYTES === this.top) {
      const newTop = p - HEADER_BYTES + size;
      if (newTop > this.store.committedBytes && !this.commit(newTop)) return false;
      this.words[W_TOP] = newTop;
      if (newTop > this.doubles[F_PEAK_TOP]!) this.doubles[F_PEAK_TOP] = newTop;
      this.markUsed(p, size, requested);
      return true;
    }
    const nextWord = u32[(next - 4) >>> 2]!;
    const nextFree = (nextWord & FREE_BIT) !== 0 ? nextWord & SIZE_MASK : 0;
    if (size > oldSize + nextFree) return false;
    if (nextFree !== 0) this.removeFree(next, nextFree);
    const available = oldSize + nextFree;
    if (available - size >= MIN_BLOCK_BYTES) {
      this.markUsed(p, size, requested);
      this.freeBlockTail(p + size, available - size);
    } else {
      this.markUsed(p, available, requested);
      u32[(p + available - 4) >>> 2]! &= ~PREV_FREE_BIT;
    }
    return true;
  }

  /** A tail split off a used block becomes free (its successor is used, or the wilderness). */
  private freeBlockTail(p: number, size: number): void {
    if (p + size - HEADER_BYTES === this.top) {
      this.words[W_TOP] = p - HEADER_BYTES;
      return;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
  }

  /** Largest free block, scanning only the highest non-empty first-level range. */
  protected largestFreeBlock(): number {
    const u32 = this.words;
    const flMap = u32[W_FL_BITMAP]!;
    if (flMap === 0) return 0;
    const fl = 31 - Math.clz32(flMap);
    let largest = 0;
    for (let sl = 0; sl < SL_COUNT; sl++) {
      for (let p = u32[W_FREE_HEADS + fl * SL_COUNT + sl]!; p !== 0; p = u32[p >>> 2]!) {
        largest = Math.max(largest, this.sizeOf(p));
      }
    }
    return largest;
  }
}

/** Smallest q >= p with (q - phase) % align == 0 leaving a gap of 0 or >= MIN_BLOCK_BYTES. */
function alignedPayload(p: number, align: number, phase: number): number {
  if (align <= GRANULE && phase === 0) return p;
  let q = Math.ceil((p - phase) / align) * align + phase;
  if (q !== p && q - p < MIN_BLOCK_BYTES) q += Math.ceil((MIN_BLOCK_BYTES - (q - p)) / align) * align;
  return q;
}

/**
 * The block layer of `Heap`: a two-level segregated fit (TLSF) over boundary-tagged blocks,
 * coalescing every block it frees at once, with a wilderness above `top` (see layout.ts for the
 * bytes), behind per-size quick lists that defer the coalescing of small freed blocks (dlmalloc's
 * fastbins, glibc's tcache): a malloc of a size just freed pops that block, touching no
 * neighbour and no free list.
 *
 * Invariants (checked by check.ts):
 *   heapStart <= every block < top <= committedBytes;  blocks tile [heapStart, top) exactly
 *   free(b) => !free(next(b)) && !free(prev(b))            (immediate coalescing)
 *   the block just below top is used                       (free space at the top is wilderness)
 *   P bit of next(b) == free(b);  footer(b) == size(b) when free(b)
 *   bit (fl, sl) of the bitmaps == 1  <=>  list (fl, sl) is non-empty
 *   b in list listIndexOf(size(b)) <=> free(b)
 *   b in quick list quickListOf(size(b)) <=> check(b) == QUICK_TAG ^ key(b);  then !free(b)
 *   W[QUICK_BYTES] == Σ sizes on the quick lists <= W[QUICK_LIMIT]
 *   bit i of the quick map == 1  <=>  quick list i is non-empty
 */
import { ByteStore } from "../memory/store.js";
import { isQuickTagged } from "./inspect.js";
import { Gauge, keyOf, Layout, listIndexOf, quickBlockBytes, quickListOf, searchSizeFor, Word } from "./layout.js";

/** How many entries of the exact list are tried before growing the heap (good-fit fallback). */
const FALLBACK_SCAN = 8;

export class TlsfBlocks {
  protected words: Uint32Array;
  protected doubles: Float64Array;
  protected readonly secret: number;

  constructor(readonly store: ByteStore, protected readonly heapStart: number) {
    this.words = store.u32;
    this.doubles = store.f64;
    this.secret = store.u32[Word.SECRET]!;
  }

  /** The heap's extent: the end of the highest block (its `brk`). */
  get top(): number {
    return this.words[Word.TOP]!;
  }

  // ---- Header words ------------------------------------------------------------------------

  protected sizeOf(p: number): number {
    return this.words[(p - 4) >>> 2]! & Layout.SIZE_MASK;
  }

  /** Marks p used with `requested` bytes, keeping its P bit. */
  protected markUsed(p: number, size: number, requested: number): void {
    const u32 = this.words;
    u32[(p - 4) >>> 2] = size | (u32[(p - 4) >>> 2]! & Layout.PREV_FREE_BIT);
    u32[(p - 8) >>> 2] = (requested ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Requested bytes of a used block, decoded from its check word. */
  protected requestedOf(p: number, size: number): number {
    return (this.words[(p - 8) >>> 2]! ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Writes a free block's header and footer and sets its successor's P bit. */
  private markFree(p: number, size: number): void {
    const u32 = this.words;
    u32[(p - 4) >>> 2] = size | Layout.FREE_BIT;
    u32[(p - 8) >>> 2] = (Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0;
    u32[(p + size - 12) >>> 2] = size;
    u32[(p + size - 4) >>> 2]! |= Layout.PREV_FREE_BIT;
  }

  protected isFreeTagged(p: number, size: number): boolean {
    return this.words[(p - 8) >>> 2] === ((Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0);
  }

  // ---- Free lists (mapping_insert / mapping_search / search_suitable_block) ---------------

  private insertFree(p: number, size: number): void {
    const u32 = this.words;
    const list = listIndexOf(size);
    const head = u32[Word.FREE_HEADS + list]!;
    u32[p >>> 2] = head;
    u32[(p + 4) >>> 2] = 0;
    if (head !== 0) u32[(head + 4) >>> 2] = p;
    u32[Word.FREE_HEADS + list] = p;
    const fl = (list / Layout.SL_COUNT) | 0;
    u32[Word.FL_BITMAP]! |= 1 << fl;
    u32[Word.SL_BITMAPS + fl]! |= 1 << (list & (Layout.SL_COUNT - 1));
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
      u32[Word.FREE_HEADS + list] = next;
      if (next === 0) {
        const fl = (list / Layout.SL_COUNT) | 0;
        const sl = u32[Word.SL_BITMAPS + fl]! & ~(1 << (list & (Layout.SL_COUNT - 1)));
        u32[Word.SL_BITMAPS + fl] = sl;
        if (sl === 0) u32[Word.FL_BITMAP]! &= ~(1 << fl);
      }
    }
  }

  /** First block of the first non-empty list whose every block holds `size`; 0 if none. */
  private searchSuitable(size: number): number {
    const u32 = this.words;
    const target = searchSizeFor(size);
    if (target > 0xffffffff) return this.searchExact(size);
    const list = listIndexOf(target);
    let fl = (list / Layout.SL_COUNT) | 0;
    let slMap = u32[Word.SL_BITMAPS + fl]! & (~0 << (list & (Layout.SL_COUNT - 1)));
    if (slMap === 0) {
      const flMap = fl + 1 < 32 ? u32[Word.FL_BITMAP]! & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return this.searchExact(size);
      fl = 31 - Math.clz32(flMap & -flMap);
      slMap = u32[Word.SL_BITMAPS + fl]!;
    }
    return u32[Word.FREE_HEADS + fl * Layout.SL_COUNT + (31 - Math.clz32(slMap & -slMap))]!;
  }

  /** Good-fit fallback before growing: a few blocks of the request's own list may fit. */
  private searchExact(size: number): number {
    let p = this.words[Word.FREE_HEADS + listIndexOf(size)]!;
    for (let i = 0; p !== 0 && i < FALLBACK_SCAN; i++, p = this.words[p >>> 2]!) {
      if (this.sizeOf(p) >= size) return p;
    }
    return 0;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /**
   * A used block of `size` bytes whose payload p has (p - phase) % align == 0, or 0. `align` is
   * a power of two; `phase` 0 aligns the payload, 8 aligns the block start (slab pages).
   * Fast path: a block of exactly `size` from its quick list (quickListOf written out).
   */
  protected allocBlock(size: number, requested: number, align: number, phase: number): number {
    const plain = align <= Layout.GRANULE && phase === 0;
    if (plain && size <= Layout.QUICK_MAX_BYTES) {
      const u32 = this.words;
      const list = (size - Layout.MIN_BLOCK_BYTES) >>> Layout.GRANULE_LOG2;
      const p = u32[Word.QUICK_HEADS + list]!;
      if (p !== 0) {
        this.popQuick(p, size, list);
        this.markUsed(p, size, requested);
        return p;
      }
    }
    return this.allocFreeBlock(size, requested, align, phase, plain);
  }

  /**
   * allocBlock when the quick list has none: a free block; else a larger cached block, split;
   * else, while the quick lists hold little (see QUICK_CARVE_SHIFT), a block carved from the
   * top within the committed bytes. Otherwise, and always before growing the store or failing,
   * the quick lists are flushed and the free lists searched again.
   */
  private allocFreeBlock(size: number, requested: number, align: number, phase: number, plain: boolean): number {
    const padded = plain ? size : size + align + Layout.MIN_BLOCK_BYTES;
    let p = this.searchSuitable(padded);
    if (p === 0) {
      const u32 = this.words;
      if (u32[Word.QUICK_BYTES] === 0) return this.carveFromTop(size, requested, align, phase, true);
      const cached = plain ? this.splitCached(size, requested) : 0;
      if (cached !== 0) return cached;
      const carved = u32[Word.QUICK_BYTES]! <= u32[Word.QUICK_LIMIT]! >>> Layout.QUICK_CARVE_SHIFT ? this.carveFromTop(size, requested, align, phase, false) : 0;
      if (carved !== 0) return carved;
      this.flushQuick();
      p = this.searchSuitable(padded);
      if (p === 0) return this.carveFromTop(size, requested, align, phase, true);
    }
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

  /** Takes a block off the wilderness, committing memory if needed and allowed; 0 if it cannot. */
  private carveFromTop(size: number, requested: number, align: number, phase: number, mayCommit: boolean): number {
    const top = this.top;
    const q = alignedPayload(top + Layout.HEADER_BYTES, align, phase);
    const newTop = q - Layout.HEADER_BYTES + size;
    if (newTop > this.store.committedBytes && !(mayCommit && this.commit(newTop))) return 0;
    const u32 = this.words;
    const gap = q - Layout.HEADER_BYTES - top;
    u32[(q - 4) >>> 2] = 0;
    if (gap > 0) {
      this.markFree(top + Layout.HEADER_BYTES, gap);
      this.insertFree(top + Layout.HEADER_BYTES, gap);
    }
    u32[Word.TOP] = newTop;
    if (newTop > this.doubles[Gauge.PEAK_TOP]!) this.doubles[Gauge.PEAK_TOP] = newTop;
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
    if (rest >= Layout.MIN_BLOCK_BYTES) {
      this.markUsed(p, size, requested);
      this.markFree(p + size, rest);
      this.insertFree(p + size, rest);
    } else {
      this.markUsed(p, blockSize, requested);
      this.words[(p + blockSize - 4) >>> 2]! &= ~Layout.PREV_FREE_BIT;
    }
  }

  // ---- Free and resize ---------------------------------------------------------------------

  /**
   * Frees a used block (already validated). Fast path: a block of at most QUICK_MAX_BYTES goes
   * on the quick list of its size, uncoalesced (quickListOf written out); when that would take
   * the lists past their bound, they are flushed and the block freed with them.
   */
  protected releaseBlock(p: number, size: number): void {
    if (size > Layout.QUICK_MAX_BYTES || this.words[Word.QUICK_BYTES]! + size > this.words[Word.QUICK_LIMIT]!) {
      if (size <= Layout.QUICK_MAX_BYTES) this.flushQuick();
      this.freeBlock(p, size);
      return;
    }
    this.pushQuick(p, size, (size - Layout.MIN_BLOCK_BYTES) >>> Layout.GRANULE_LOG2);
  }

  /** Takes p, the head of quick list `list` (of blocks of `size`), off it. */
  private popQuick(p: number, size: number, list: number): void {
    const u32 = this.words;
    const next = u32[p >>> 2]!;
    u32[Word.QUICK_HEADS + list] = next;
    if (next === 0) u32[Word.QUICK_MAP + (list >>> 5)]! &= ~(1 << (list & 31));
    u32[Word.QUICK_BYTES]! -= size;
  }

  /** Puts the block p (its header already says `size`, not free) on quick list `list`. */
  private pushQuick(p: number, size: number, list: number): void {
    const u32 = this.words;
    const head = u32[Word.QUICK_HEADS + list]!;
    if (head === 0) u32[Word.QUICK_MAP + (list >>> 5)]! |= 1 << (list & 31);
    u32[p >>> 2] = head;
    u32[Word.QUICK_HEADS + list] = p;
    u32[(p - 8) >>> 2] = (Layout.QUICK_TAG ^ keyOf(p, size, this.secret)) >>> 0;
    u32[Word.QUICK_BYTES]! += size;
  }

  /**
   * A used block of `size` cut from the smallest cached block that is larger, its rest (when a
   * block can be made of it) cached in turn, so the quick lists are not flushed early; 0 if none.
   */
  private splitCached(size: number, requested: number): number {
    const u32 = this.words;
    const from = quickListOf(size) + 1;
    for (let w = from >>> 5; w < Layout.QUICK_MAP_WORDS; w++) {
      const bits = u32[Word.QUICK_MAP + w]! & (w === from >>> 5 ? ~0 << (from & 31) : ~0);
      if (bits === 0) continue;
      const list = w * 32 + 31 - Math.clz32(bits & -bits);
      const blockSize = quickBlockBytes(list);
      const p = u32[Word.QUICK_HEADS + list]!;
      this.popQuick(p, blockSize, list);
      const rest = blockSize - size;
      if (rest < Layout.MIN_BLOCK_BYTES) {
        this.markUsed(p, blockSize, requested);
      } else {
        this.markUsed(p, size, requested);
        u32[(p + size - 4) >>> 2] = rest;
        this.pushQuick(p + size, rest, quickListOf(rest));
      }
      return p;
    }
    return 0;
  }

  /**
   * Hands every block on the quick lists to freeBlock (so they coalesce), then sets the lists'
   * next bound from the live bytes (glibc's malloc_consolidate does the same for fastbins).
   */
  protected flushQuick(): void {
    const u32 = this.words;
    for (let w = 0; w < Layout.QUICK_MAP_WORDS; w++) {
      for (let bits = u32[Word.QUICK_MAP + w]!; bits !== 0; bits &= bits - 1) {
        const list = w * 32 + 31 - Math.clz32(bits & -bits);
        const size = quickBlockBytes(list);
        for (let p = u32[Word.QUICK_HEADS + list]!; p !== 0; ) {
          const next = u32[p >>> 2]!;
          this.freeBlock(p, size);
          p = next;
        }
        u32[Word.QUICK_HEADS + list] = 0;
      }
      u32[Word.QUICK_MAP + w] = 0;
    }
    u32[Word.QUICK_BYTES] = 0;
    const liveBytes = this.doubles[Gauge.PEAK_LIVE_BYTES]! - u32[Word.LIVE_HEADROOM]!;
    u32[Word.QUICK_LIMIT] = Math.max(Layout.QUICK_MIN_LIMIT, liveBytes >>> Layout.QUICK_LIMIT_SHIFT);
  }

  /** Frees a used block (already validated), coalescing with free neighbours and the top. */
  protected freeBlock(p: number, size: number): void {
    const u32 = this.words;
    if (u32[(p - 4) >>> 2]! & Layout.PREV_FREE_BIT) {
      const prevSize = u32[(p - 12) >>> 2]!;
      this.tombstone(p, size);
      p -= prevSize;
      this.removeFree(p, prevSize);
      size += prevSize;
    }
    const next = p + size;
    if (next - Layout.HEADER_BYTES === this.top) {
      this.tombstone(p, size);
      u32[Word.TOP] = p - Layout.HEADER_BYTES;
      return;
    }
    const nextWord = u32[(next - 4) >>> 2]!;
    if (nextWord & Layout.FREE_BIT) {
      this.removeFree(next, nextWord & Layout.SIZE_MASK);
      size += nextWord & Layout.SIZE_MASK;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
  }

  /**
   * Marks the header of a block that is being absorbed (into a free predecessor or the
   * wilderness) as freed, so a second free of it is a `DoubleFreeError`: a header left looking
   * used would let that free corrupt the heap.
   */
  private tombstone(p: number, size: number): void {
    this.words[(p - 4) >>> 2] = size | Layout.FREE_BIT;
    this.words[(p - 8) >>> 2] = (Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /**
   * Resizes a used block in place to `size` bytes: shrinking splits off the tail, growing takes
   * from a free successor or the wilderness. Returns false (nothing changed) when it cannot.
   */
  protected resizeInPlace(p: number, oldSize: number, size: number, requested: number): boolean {
    const u32 = this.words;
    const next = p + oldSize;
    if (next - Layout.HEADER_BYTES === this.top) {
      const newTop = p - Layout.HEADER_BYTES + size;
      if (newTop > this.store.committedBytes && !this.commit(newTop)) return false;
      this.words[Word.TOP] = newTop;
      if (newTop > this.doubles[Gauge.PEAK_TOP]!) this.doubles[Gauge.PEAK_TOP] = newTop;
      this.markUsed(p, size, requested);
      return true;
    }
    const nextWord = u32[(next - 4) >>> 2]!;
    const nextFree = (nextWord & Layout.FREE_BIT) !== 0 ? nextWord & Layout.SIZE_MASK : 0;
    if (size > oldSize + nextFree) {
      if (!this.cachedAfter(next + nextFree)) return false;
      // A freed block beyond waits on a quick list: coalesce the cached blocks, then look again.
      this.flushQuick();
      return this.resizeInPlace(p, oldSize, size, requested);
    }
    if (nextFree !== 0) this.removeFree(next, nextFree);
    const available = oldSize + nextFree;
    if (available - size >= Layout.MIN_BLOCK_BYTES) {
      this.markUsed(p, size, requested);
      this.freeBlockTail(p + size, available - size);
    } else {
      this.markUsed(p, available, requested);
      u32[(p + available - 4) >>> 2]! &= ~Layout.PREV_FREE_BIT;
    }
    return true;
  }

  /** The block at q (below top, or the wilderness) waits on a quick list. */
  private cachedAfter(q: number): boolean {
    if (q - Layout.HEADER_BYTES === this.top) return false;
    const word = this.words[(q - 4) >>> 2]!;
    return (word & Layout.FREE_BIT) === 0 && isQuickTagged(this.words, q, word & Layout.SIZE_MASK);
  }

  /** A tail split off a used block becomes free (its successor is used, or the wilderness). */
  private freeBlockTail(p: number, size: number): void {
    if (p + size - Layout.HEADER_BYTES === this.top) {
      this.words[Word.TOP] = p - Layout.HEADER_BYTES;
      return;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
  }

  /** Largest free or cached block, scanning only the highest non-empty first-level range. */
  protected largestFreeBlock(): number {
    const u32 = this.words;
    let largest = 0;
    for (let w = Layout.QUICK_MAP_WORDS - 1; w >= 0 && largest === 0; w--) {
      const bits = u32[Word.QUICK_MAP + w]!;
      if (bits !== 0) largest = quickBlockBytes(w * 32 + 31 - Math.clz32(bits));
    }
    const flMap = u32[Word.FL_BITMAP]!;
    if (flMap === 0) return largest;
    const fl = 31 - Math.clz32(flMap);
    for (let sl = 0; sl < Layout.SL_COUNT; sl++) {
      for (let p = u32[Word.FREE_HEADS + fl * Layout.SL_COUNT + sl]!; p !== 0; p = u32[p >>> 2]!) {
        largest = Math.max(largest, this.sizeOf(p));
      }
    }
    return largest;
  }
}

/** Smallest q >= p with (q - phase) % align == 0 leaving a gap of 0 or >= Layout.MIN_BLOCK_BYTES. */
function alignedPayload(p: number, align: number, phase: number): number {
  if (align <= Layout.GRANULE && phase === 0) return p;
  let q = Math.ceil((p - phase) / align) * align + phase;
  if (q !== p && q - p < Layout.MIN_BLOCK_BYTES) q += Math.ceil((Layout.MIN_BLOCK_BYTES - (q - p)) / align) * align;
  return q;
}

/**
 * The block layer of `Heap`: a two-level segregated fit (TLSF) over boundary-tagged blocks,
 * with immediate coalescing and a wilderness above `top` (see layout.ts for the bytes). It
 * serves requests above the mid slabs' sizes, aligned requests, and the slabs themselves.
 *
 * Invariants (checked by check.ts):
 *   heapStart <= every block < top <= committedBytes;  blocks tile [heapStart, top) exactly
 *   free(b) => !free(next(b)) && !free(prev(b))            (immediate coalescing)
 *   the block just below top is used                       (free space at the top is wilderness)
 *   P bit of next(b) == free(b);  footer(b) == size(b) when free(b)
 *   bit (fl, sl) of the bitmaps == 1  <=>  list (fl, sl) is non-empty
 *   b in list listIndexOf(size(b)) <=> free(b) && b != W[RESERVE]
 *   W[RESERVE] != 0  =>  it is a free block and the block before it is W[GROWER] (used)
 *
 * The growth reserve (docs/architecture.md, "Where memory goes", says why: glibc grows such
 * buffers with mremap, a heap in one buffer cannot). When the top must grow above the large
 * block that realloc grew last (W[GROWER]), and that block grows by at most 1.5x a step, the
 * carve first leaves room for its next step (W[GROWER_NEXT]: the last step times the last ratio,
 * at least a quarter of the block) as a free block kept out of the free lists (W[RESERVE]),
 * which the grower's next realloc takes in place. It adds at most its next step (at most half
 * the grower, plus a page) to the extent, and goes back to the free lists once the heap has
 * carved as much above it, or when the store cannot grow, or the grower is freed, shrunk or
 * moved (any coalescing with it ends it, but for a block freed right after it, which it takes
 * in while it stays within twice the next step).
 *
 * The kept hole (glibc unmaps a freed large block, so the next large block gets all of it; so do
 * jemalloc's extents and mimalloc's segments). The free block that a freed block of
 * Layout.KEPT_MIN_BYTES or more (glibc's default mmap threshold) leaves is kept whole (W[KEPT]): a request under an eighth of it carves from the top instead, while the bytes
 * so carved stay within an eighth of the hole (W[KEPT_BUDGET]); a larger request, a block moved
 * by realloc, or a request the store cannot grow for takes it as any free block (and a block
 * below top that realloc grows moves into it when it holds the new size).
 *   W[KEPT] != 0  =>  it is a block in the free lists
 */
import type { ByteStore } from "../memory/store.js";
import type { HeapCore } from "./core.js";
import { blockLimit, boundStep } from "./inspect.js";
import { keptHoleHolds, spendKeptBudget } from "./kept-hole.js";
import { Block, Gauge, keyOf, Layout, listIndexOf, searchSizeFor, Word } from "./layout.js";

/** How many entries of the exact list are tried before growing the heap (good-fit fallback). */
const FALLBACK_SCAN = 8;

export class TlsfBlocks {
  private readonly store: ByteStore;
  private readonly secret: number;
  /**
   * Called before the top grows for a block of `size` bytes: gives memory held back to the free
   * lists (the mid cache; for a large block, the empty spare slab that ends at top); true when it
   * gave any, so the block is looked for again. Set by Heap (this layer knows no slabs).
   */
  beforeGrowth: (size: number) => boolean = () => false;

  constructor(private readonly core: HeapCore) {
    this.store = core.store;
    this.secret = core.secret;
  }

  private get top(): number {
    return this.store.u32[Word.TOP]!;
  }

  // ---- Header words ------------------------------------------------------------------------

  sizeOf(p: number): number {
    return this.store.u32[(p + Block.SIZE) >>> 2]! & Layout.SIZE_MASK;
  }

  /** Marks p used with `requested` bytes, keeping its P bit. */
  markUsed(p: number, size: number, requested: number): void {
    const u32 = this.store.u32;
    u32[(p + Block.SIZE) >>> 2] = size | (u32[(p + Block.SIZE) >>> 2]! & Layout.PREV_FREE_BIT);
    u32[(p + Block.CHECK) >>> 2] = (requested ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Requested bytes of a used block, decoded from its check word. */
  requestedOf(p: number, size: number): number {
    return (this.store.u32[(p + Block.CHECK) >>> 2]! ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /** Writes a free block's header and footer and sets its successor's P bit. */
  private markFree(p: number, size: number): void {
    const u32 = this.store.u32;
    u32[(p + Block.SIZE) >>> 2] = size | Layout.FREE_BIT;
    u32[(p + Block.CHECK) >>> 2] = (Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0;
    u32[(p + size + Block.PREV_FOOTER) >>> 2] = size;
    u32[(p + size + Block.SIZE) >>> 2]! |= Layout.PREV_FREE_BIT;
  }

  /** Tags the used block at p as held in the mid cache (mid-cache.ts). */
  markCached(p: number): void {
    this.store.u32[(p + Block.CHECK) >>> 2] = (Layout.CACHED_TAG ^ keyOf(p, this.sizeOf(p), this.secret)) >>> 0;
  }

  isFreeTagged(p: number, size: number): boolean {
    return this.store.u32[(p + Block.CHECK) >>> 2] === ((Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0);
  }

  // ---- Free lists (mapping_insert / mapping_search / search_suitable_block) ---------------

  private insertFree(p: number, size: number): void {
    const u32 = this.store.u32;
    const list = listIndexOf(size);
    const head = u32[Word.FREE_HEADS + list]!;
    u32[p >>> 2] = head;
    u32[(p + Block.PREV_FREE) >>> 2] = 0;
    if (head !== 0) u32[(head + Block.PREV_FREE) >>> 2] = p;
    u32[Word.FREE_HEADS + list] = p;
    const fl = (list / Layout.SL_COUNT) | 0;
    u32[Word.FL_BITMAP]! |= 1 << fl;
    u32[Word.SL_BITMAPS + fl]! |= 1 << (list & (Layout.SL_COUNT - 1));
  }

  private removeFree(p: number, size: number): void {
    const u32 = this.store.u32;
    if (p === u32[Word.RESERVE]) {
      u32[Word.RESERVE] = 0; // the reserve is in no list; coalescing with it ends it
      return;
    }
    if (p === u32[Word.KEPT]) u32[Word.KEPT] = 0; // split or coalesced: no longer the hole it was
    const next = u32[p >>> 2]!;
    const prev = u32[(p + Block.PREV_FREE) >>> 2]!;
    if (next !== 0) u32[(next + Block.PREV_FREE) >>> 2] = prev;
    if (prev !== 0) {
      u32[(prev + Block.NEXT_FREE) >>> 2] = next;
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
    const u32 = this.store.u32;
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
    let p = this.store.u32[Word.FREE_HEADS + listIndexOf(size)]!;
    for (let i = 0; p !== 0 && i < FALLBACK_SCAN; i++, p = this.store.u32[p >>> 2]!) {
      if (this.sizeOf(p) >= size) return p;
    }
    return 0;
  }

  /**
   * Good fit for an aligned request: a block that holds it at an aligned payload (a freed slab
   * page is one, exactly), among the first few of each non-empty list from the request's own up
   * to the first whose every block holds `size + align` (where allocBlock's fallback begins), so
   * aligned blocks reuse their holes instead of passing them by: a free run of two pages holds a
   * page-aligned page, but lies in a list below the fallback's. 0 if none does.
   */
  private searchAligned(size: number, align: number, phase: number): number {
    const u32 = this.store.u32;
    const end = listIndexOf(searchSizeFor(size + align + Layout.MIN_BLOCK_BYTES));
    for (let list = listIndexOf(size); list < end; list++) {
      if (((u32[Word.SL_BITMAPS + ((list / Layout.SL_COUNT) | 0)]! >>> (list & (Layout.SL_COUNT - 1))) & 1) === 0) continue;
      let p = u32[Word.FREE_HEADS + list]!;
      for (let i = 0; p !== 0 && i < FALLBACK_SCAN; i++, p = u32[p >>> 2]!) {
        if (alignedPayload(p, align, phase) - p + size <= this.sizeOf(p)) return p;
      }
    }
    return 0;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /**
   * A used block of `size` bytes whose payload p has (p - phase) % align == 0, or 0. `align` is
   * a power of two; `phase` 0 aligns the payload, 8 aligns the block start (slab pages). A free
   * block if one fits, else (unless `fromTop` is false: the heap must not grow) one carved from
   * the top. `moved`: the block is one that realloc moves (the kept hole serves it).
   */
  allocBlock(size: number, requested: number, align: number, phase: number, fromTop = true, moved = false): number {
    this.core.refreshIfStale(); // the lists link blocks that another agent may have placed beyond the views
    const plain = align <= Layout.GRANULE && phase === 0;
    const p = plain ? this.searchSuitable(size) : this.searchAligned(size, align, phase) || this.searchSuitable(size + align + Layout.MIN_BLOCK_BYTES);
    if (p === 0) return fromTop ? this.allocFromTop(size, requested, align, phase, moved) : 0;
    if (!moved && p === this.store.u32[Word.KEPT] && size * 8 < this.sizeOf(p)) {
      if (!fromTop) return 0;
      const q = spendKeptBudget(this.store.u32, size) ? this.allocFromTop(size, requested, align, phase, moved) : 0;
      if (q !== 0) return q;
      this.store.u32[Word.KEPT] = 0; // out of budget, or the store cannot grow: it is a hole like any other
      return this.allocBlock(size, requested, align, phase, fromTop, moved);
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

  /**
   * Takes a block off the wilderness, committing memory if needed; with `reserve` > 0, after
   * leaving that many bytes (and the alignment gap) as the growth reserve.
   */
  private carveFromTop(size: number, requested: number, align: number, phase: number, reserve: number): number {
    const top = this.top;
    const q = alignedPayload(top + reserve + Layout.HEADER_BYTES, align, phase);
    const newTop = q - Layout.HEADER_BYTES + size;
    if (newTop > this.store.usableBytes && !this.commit(newTop)) return 0;
    const u32 = this.store.u32;
    const gap = q - Layout.HEADER_BYTES - top;
    u32[(q + Block.SIZE) >>> 2] = 0;
    if (gap > 0) {
      this.markFree(top + Layout.HEADER_BYTES, gap);
      if (reserve > 0) u32[Word.RESERVE] = top + Layout.HEADER_BYTES;
      else this.insertFree(top + Layout.HEADER_BYTES, gap);
    }
    u32[Word.TOP] = newTop;
    if (newTop > this.store.f64[Gauge.PEAK_TOP]!) this.store.f64[Gauge.PEAK_TOP] = newTop;
    this.markUsed(q, size, requested);
    return q;
  }

  /** True when beforeGrowth may give memory back for a block of `size`: a cached block, or a spare slab and a large block. */
  private holdsBack(size: number): boolean {
    const u32 = this.store.u32;
    return u32[Word.MID_CACHED_ALL] !== 0 || (size >= Layout.LARGE_MIN_BYTES && u32[Word.MID_SPARE] !== 0);
  }

  /** True when the store holds (committing it if need be) a block of `size` carved from the top. */
  private roomAtTop(size: number, align: number, phase: number): boolean {
    const newTop = alignedPayload(this.top + Layout.HEADER_BYTES, align, phase) - Layout.HEADER_BYTES + size;
    return newTop <= this.store.usableBytes || this.commit(newTop);
  }

  /** A block carved from the top, after the growth reserve if one is due; 0 when the store cannot grow. */
  private allocFromTop(size: number, requested: number, align: number, phase: number, moved: boolean): number {
    if (this.reserveOutgrown(size) || (this.holdsBack(size) && this.roomAtTop(size, align, phase) && this.beforeGrowth(size))) return this.allocBlock(size, requested, align, phase, true, moved);
    const reserve = this.reserveToMake();
    const q = this.carveFromTop(size, requested, align, phase, reserve) || (reserve > 0 ? this.carveFromTop(size, requested, align, phase, 0) : 0);
    if (q === 0 && this.releaseReserve()) return this.allocBlock(size, requested, align, phase, true, moved);
    return q;
  }

  // ---- The growth reserve (see the top of this file) -----------------------------------------

  /** Bytes of reserve a carve from the top must leave first: > 0 when the grower ends at top. */
  private reserveToMake(): number {
    const u32 = this.store.u32;
    const grower = u32[Word.GROWER]!;
    if (grower === 0 || u32[Word.RESERVE] !== 0) return 0;
    const word = u32[(grower + Block.SIZE) >>> 2]!;
    const endsAtTop = grower + (word & Layout.SIZE_MASK) - Layout.HEADER_BYTES === this.top;
    return endsAtTop && (word & Layout.FREE_BIT) === 0 ? u32[Word.GROWER_NEXT]! : 0;
  }

  /**
   * True when a carve of `size` would put the heap above the reserve past the reserve's size,
   * and so released the reserve instead (the rest of the heap outgrew it).
   */
  private reserveOutgrown(size: number): boolean {
    const reserve = this.store.u32[Word.RESERVE]!;
    if (reserve === 0) return false;
    const reserveBytes = this.sizeOf(reserve);
    const above = this.top - (reserve - Layout.HEADER_BYTES + reserveBytes) + size;
    return above > reserveBytes && this.releaseReserve();
  }

  /** Gives the reserve to the free lists; false when there is none. */
  releaseReserve(): boolean {
    const u32 = this.store.u32;
    const reserve = u32[Word.RESERVE]!;
    if (reserve === 0) return false;
    u32[Word.RESERVE] = 0;
    this.insertFree(reserve, this.sizeOf(reserve));
    return true;
  }

  /**
   * Makes the store's views reach `newTop`, growing it by at least an eighth so growth is
   * amortised (when another agent has grown it already, `grow` only refreshes the views).
   */
  private commit(newTop: number): boolean {
    const store = this.store;
    const roomy = Math.max(newTop, store.committedBytes + (store.committedBytes >>> 3));
    // Below what another agent committed already, grow only remakes the views.
    const ok = newTop <= store.committedBytes ? store.grow(newTop) : (roomy <= store.reservedBytes && store.grow(roomy)) || store.grow(newTop);
    this.core.adoptViews();
    return ok;
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
      this.store.u32[(p + blockSize + Block.SIZE) >>> 2]! &= ~Layout.PREV_FREE_BIT;
    }
  }

  // ---- Free and resize ---------------------------------------------------------------------

  /**
   * Frees a used block (already validated), coalescing with free neighbours and the top; returns
   * the free block it became part of (0 when that is the wilderness, or the growth reserve).
   */
  freeBlock(p: number, size: number): number {
    this.core.refreshIfStale(); // the lists link blocks that another agent may have placed beyond the views
    const u32 = this.store.u32;
    let afterReserve = false;
    if (u32[(p + Block.SIZE) >>> 2]! & Layout.PREV_FREE_BIT) {
      const prevSize = u32[(p + Block.PREV_FOOTER) >>> 2]!;
      this.tombstone(p, size);
      p -= prevSize;
      afterReserve = p === u32[Word.RESERVE];
      this.removeFree(p, prevSize);
      size += prevSize;
    }
    const next = p + size;
    if (next - Layout.HEADER_BYTES === this.top) {
      this.tombstone(p, size);
      u32[Word.TOP] = p - Layout.HEADER_BYTES;
      return 0;
    }
    const nextWord = u32[(next + Block.SIZE) >>> 2]!;
    if (nextWord & Layout.FREE_BIT) {
      this.removeFree(next, nextWord & Layout.SIZE_MASK);
      size += nextWord & Layout.SIZE_MASK;
    }
    if (afterReserve && size <= 2 * u32[Word.GROWER_NEXT]!) {
      this.keepAsReserve(p, size); // the reserve takes its freed neighbour in
      return 0;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
    return p;
  }

  /**
   * Marks the header of a block that is being absorbed (into a free predecessor or the
   * wilderness) as freed, so a second free of it is a `DoubleFreeError`: a header left looking
   * used would let that free corrupt the heap.
   */
  private tombstone(p: number, size: number): void {
    this.store.u32[(p + Block.SIZE) >>> 2] = size | Layout.FREE_BIT;
    this.store.u32[(p + Block.CHECK) >>> 2] = (Layout.FREE_TAG ^ keyOf(p, size, this.secret)) >>> 0;
  }

  /**
   * Resizes a used block in place to `size` bytes: shrinking splits off the tail, growing takes
   * from a free successor or the wilderness. Returns false (nothing changed) when it cannot.
   */
  resizeInPlace(p: number, oldSize: number, size: number, requested: number): boolean {
    this.core.refreshIfStale(); // the lists link blocks that another agent may have placed beyond the views
    const u32 = this.store.u32;
    const next = p + oldSize;
    if (next - Layout.HEADER_BYTES === this.top) {
      if (size > oldSize && keptHoleHolds(this.store.u32, size)) return false; // moving there costs no extent; growing here would
      const newTop = p - Layout.HEADER_BYTES + size;
      if (newTop > this.store.usableBytes && !this.commit(newTop)) return false;
      this.store.u32[Word.TOP] = newTop;
      if (newTop > this.store.f64[Gauge.PEAK_TOP]!) this.store.f64[Gauge.PEAK_TOP] = newTop;
      this.markUsed(p, size, requested);
      return true;
    }
    const nextWord = u32[(next + Block.SIZE) >>> 2]!;
    const nextFree = (nextWord & Layout.FREE_BIT) !== 0 ? nextWord & Layout.SIZE_MASK : 0;
    if (size > oldSize + nextFree) return false;
    const fromReserve = next === u32[Word.RESERVE] && size > oldSize;
    if (nextFree !== 0) this.removeFree(next, nextFree);
    const available = oldSize + nextFree;
    if (available - size >= Layout.MIN_BLOCK_BYTES) {
      this.markUsed(p, size, requested);
      if (fromReserve) this.keepAsReserve(p + size, available - size);
      else this.freeBlockTail(p + size, available - size);
    } else {
      this.markUsed(p, available, requested);
      u32[(p + available + Block.SIZE) >>> 2]! &= ~Layout.PREV_FREE_BIT;
    }
    return true;
  }

  /** A free block right after the grower becomes (or stays) its reserve (its successor is a used block). */
  private keepAsReserve(p: number, size: number): void {
    this.markFree(p, size);
    this.store.u32[Word.RESERVE] = p;
  }

  /** A tail split off a used block becomes free (its successor is used, or the wilderness). */
  private freeBlockTail(p: number, size: number): void {
    if (p + size - Layout.HEADER_BYTES === this.top) {
      this.store.u32[Word.TOP] = p - Layout.HEADER_BYTES;
      return;
    }
    this.markFree(p, size);
    this.insertFree(p, size);
  }

  /** Largest free block, scanning only the highest non-empty first-level range. */
  largestFreeBlock(): number {
    const u32 = this.store.u32;
    const flMap = u32[Word.FL_BITMAP]!;
    if (flMap === 0) return 0;
    const fl = 31 - Math.clz32(flMap);
    let largest = 0;
    const limit = blockLimit(u32);
    let steps = 0;
    for (let sl = 0; sl < Layout.SL_COUNT; sl++) {
      for (let p = u32[Word.FREE_HEADS + fl * Layout.SL_COUNT + sl]!; p !== 0; p = u32[p >>> 2]!) {
        boundStep(++steps, limit, "a TLSF free list", p);
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

/**
 * The large-block layer of `Heap`: requests above the mid slabs' sizes, and requests that ask
 * for an alignment the slabs cannot give, are TLSF blocks (tlsf.ts) of their own, with a header
 * that holds the size and an encoded request; from Layout.LARGE_MIN_BYTES they are page runs,
 * whole pages rounded up. layout.ts draws the header.
 *
 * Invariant (checked by check.ts): W[TLSF_LIVE_BLOCKS] == the used TLSF blocks that are
 * neither slabs, nor the mid layer's leaves and descriptor pages, nor held in the mid cache
 * (mid-cache.ts); each one's decoded request lies within maxSlackFor of its usable bytes.
 */
import { DoubleFreeError, InvalidFreeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import type { HeapCore } from "./core.js";
import { Block, blockSizeFor, Layout, maxSlackFor, roundUp8, Word } from "./layout.js";
import { keepHole } from "./kept-hole.js";
import { isCachedTagged, MidCache, type MidBlockCache } from "./mid-cache.js";
import { midClassOfRequest } from "./mid-layout.js";
import type { TlsfBlocks } from "./tlsf.js";

export class LargeBlocks {
  private readonly store: ByteStore;

  constructor(private readonly core: HeapCore, private readonly tlsf: TlsfBlocks, private readonly cache: MidBlockCache) {
    this.store = core.store;
  }

  /**
   * A block for `size` bytes (already validated) at an `align`-aligned payload, or 0; `moved`:
   * for a block that realloc moves.
   */
  malloc(size: number, align: number, moved = false): number {
    return mallocTlsfBlock(this.core, this.tlsf, size, align, true, moved);
  }

  /**
   * Frees the block at p (8-aligned, below the views' end, in no slab) when its header is
   * genuine; returns false, changing nothing, when it is not (the caller names the error).
   * `keep`: a large block's space (KEPT_MIN_BYTES or more) is kept whole for large requests (tlsf.ts, the kept hole).
   */
  free(p: number, keep = true): boolean {
    const words = this.store.u32;
    const top = words[Word.TOP]!;
    const word = words[(p + Block.SIZE) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    const requested = this.tlsf.requestedOf(p, size);
    const slack = size - Layout.HEADER_BYTES - requested;
    if (p >= top || (word & Layout.FREE_BIT) !== 0 || size < Layout.MIN_BLOCK_BYTES || p - Layout.HEADER_BYTES + size > top || slack < 0 || slack > maxSlackFor(size - Layout.HEADER_BYTES)) return false;
    this.core.subtractLiveBytes(words, requested);
    if (p === words[Word.GROWER]) words[Word.GROWER] = 0;
    words[Word.TLSF_LIVE_BLOCKS]! -= 1;
    countMidSized(words, requested, -1);
    const c = midClassOfRequest(requested);
    if (requested <= MidCache.MAX_REQUEST && c >= 0 && this.isolated(p, size, word, top) && this.cache.put(p, c)) return true;
    const hole = this.tlsf.freeBlock(p, size);
    if (keep && size >= Layout.KEPT_MIN_BYTES) keepHole(this.store.u32, hole); // a freed large block's space, kept whole (tlsf.ts)
    return true;
  }

  /**
   * True when neither neighbour of the used block at p (its size word `word`) is free and it is
   * not the block below top: a free would coalesce with nothing, so the mid cache may keep it.
   */
  private isolated(p: number, size: number, word: number, top: number): boolean {
    return (word & Layout.PREV_FREE_BIT) === 0 && p - Layout.HEADER_BYTES + size < top && (this.store.u32[(p + size + Block.SIZE) >>> 2]! & Layout.FREE_BIT) === 0;
  }

  /**
   * Resizes the block at p (validated by usedBlockSize) to `size` bytes in place, when the
   * next block or the wilderness has room; returns the old request, or -1 when it must move.
   */
  resize(p: number, size: number): number {
    const oldSize = this.usedBlockSize(p);
    const oldRequested = this.tlsf.requestedOf(p, oldSize);
    if (!this.tlsf.resizeInPlace(p, oldSize, blockSizeFor(size), size)) return -1;
    const words = this.store.u32;
    this.core.subtractLiveBytes(words, oldRequested);
    this.core.addLiveBytes(words, size);
    countMidSized(words, oldRequested, -1);
    countMidSized(words, size, 1);
    return oldRequested;
  }

  /**
   * Notes that realloc grew the block at p from `old` to `size` bytes: it becomes the grower
   * whose next step a carve above it leaves room for (tlsf.ts, "The growth reserve").
   */
  noteGrowth(p: number, old: number, size: number): void {
    if (size < Layout.GROWER_MIN_BYTES) return;
    const words = this.store.u32;
    if (words[Word.GROWER] !== p) this.tlsf.releaseReserve(); // a reserve serves its grower only
    words[Word.GROWER] = p;
    words[Word.GROWER_NEXT] = nextGrowthStep(old, size);
  }

  /** Requested bytes of the used block at p, after checking its header. */
  requestedAt(p: number): number {
    return this.tlsf.requestedOf(p, this.usedBlockSize(p));
  }

  /** Usable bytes of the used block at p, after checking its header. */
  usableAt(p: number): number {
    return this.usedBlockSize(p) - Layout.HEADER_BYTES;
  }

  /** Size of the used TLSF block at p, after checking its header is genuine. */
  usedBlockSize(p: number): number {
    const words = this.store.u32;
    const word = words[(p + Block.SIZE) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    const inRange = size >= Layout.MIN_BLOCK_BYTES && p - Layout.HEADER_BYTES + size <= words[Word.TOP]!;
    if (inRange && (word & Layout.FREE_BIT) === 0 && isCachedTagged(words, p, size, this.core.secret)) throw new DoubleFreeError(p);
    if (word & Layout.FREE_BIT) {
      if (inRange && this.tlsf.isFreeTagged(p, size)) throw new DoubleFreeError(p);
      throw new InvalidFreeError(p);
    }
    const usable = size - Layout.HEADER_BYTES;
    const requested = inRange ? this.tlsf.requestedOf(p, size) : -1;
    if (!inRange || requested > usable || usable - requested > maxSlackFor(usable)) throw new InvalidFreeError(p);
    return size;
  }
}

/**
 * A TLSF block of its own for `size` bytes (already validated) at an `align`-aligned payload, or
 * 0: what the large-block layer hands out, and the mid layer for a class that has no slab room.
 */
export function mallocTlsfBlock(core: HeapCore, tlsf: TlsfBlocks, size: number, align: number, fromTop = true, moved = false): number {
  const p = tlsf.allocBlock(blockSizeFor(size), size, align, 0, fromTop, moved);
  return p === 0 ? 0 : countTlsfMalloc(core, p, size);
}

/** Counts the TLSF block at p, just marked used for `size` bytes, as a live block; returns p. */
export function countTlsfMalloc(core: HeapCore, p: number, size: number): number {
  const words = core.store.u32;
  core.addLiveBytes(words, size);
  core.countMallocs(1);
  words[Word.TLSF_LIVE_BLOCKS]! += 1;
  countMidSized(words, size, 1);
  return p;
}

/** Adds `delta` to the count of live TLSF blocks of the mid class of `requested`, if it has one. */
function countMidSized(words: Uint32Array, requested: number, delta: number): void {
  const c = midClassOfRequest(requested);
  if (c >= 0) words[Word.MID_TLSF_LIVE + c]! += delta;
}

/**
 * The room a grower's next steps take, if it grows as it did last: its last step times its last
 * ratio, or a quarter of the block if more (a list that grows by 1/8 gets two steps), plus a page
 * for the rounding of page runs; 0 when the next step is over half the block (a doubling vector:
 * reserving for it would cost as much as the move it saves).
 */
export function nextGrowthStep(old: number, size: number): number {
  const next = Math.ceil(((size - old) * size) / Math.max(old, 1));
  return next * 2 > size ? 0 : roundUp8(Math.max(next, Math.floor(size / 4)) + Layout.SLAB_PAGE_BYTES);
}

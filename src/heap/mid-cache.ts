/**
 * The mid cache of `Heap`: per mid class, a short LIFO list of freed TLSF blocks whose requests
 * fell in the class (glibc's tcache: malloc/malloc.c, tcache_put and tcache_get, 7 chunks a
 * bin). A class with too few live blocks for a slab (mid-slabs.ts) gets TLSF blocks of its own,
 * and a program that mallocs and frees such a size over and over (jq's 272-byte values, CPython's
 * 448-byte frames under PYTHONMALLOC=malloc) paid a TLSF search and split on each malloc and a
 * coalescing on each free: 120 ns an op, where a slab slot takes 20. A freed block of the class
 * goes on its list instead, a used block still to the TLSF layer (nothing coalesces with it),
 * and the class's next malloc that the block fits takes it back.
 *
 * Only a block a free would coalesce with nothing is cached (both neighbours used, and not the
 * block below top), of a request up to MAX_REQUEST: so the cache takes no free space from a
 * neighbour's hole. Caching any such block, as glibc does, cost up to 0.06 of the utilization of
 * gcc's traces; caching up to 2 KiB, 0.02 of git's.
 *
 *   cached block, payload p (a TLSF block: tlsf.ts draws the header)
 *   ┌──────┬────────────────────────────┬──────────────────────────────────┬─────────┐
 *   │ size │ CACHED_TAG XOR key(p, size) │ next cached block of the class  │ (stale) │
 *   └──────┴────────────────────────────┴──────────────────────────────────┴─────────┘
 *   W[MID_CACHE + c]  = the class's first cached block (0: none)
 *   W[MID_CACHED + c] = how many blocks its list holds;  W[MID_CACHED_ALL] = Σ of them
 *
 * The cache never costs the heap's peak extent: before the heap grows (tlsf.ts, allocFromTop)
 * and before a trim, every cached block goes back to the free lists, coalescing as any free.
 * So it holds at most LIMIT blocks a class only between two growths of the heap.
 *
 * Invariants (checked by check.ts):
 *   list c holds W[MID_CACHED + c] <= LIMIT blocks, each a used TLSF block tagged CACHED
 *   W[MID_CACHED_ALL] = Σ_c W[MID_CACHED + c]
 *   a block is tagged CACHED  <=>  it is on one list, once
 */
import type { HeapCore } from "./core.js";
import { Block, keyOf, Layout, maxSlackFor, Word } from "./layout.js";
import { Mid } from "./mid-layout.js";
import type { TlsfBlocks } from "./tlsf.js";

export const enum MidCache {
  /** Blocks a class's list holds at most (glibc's tcache_count). */
  LIMIT = 7,
  /** Largest request whose block is cached (glibc's tcache reaches 1032 bytes on 64-bit systems). */
  MAX_REQUEST = 1032,
}

export class MidBlockCache {
  constructor(private readonly core: HeapCore, private readonly tlsf: TlsfBlocks) {}

  /**
   * Takes the last block cached for class c if it fits a request of `size` bytes at an
   * `align`-aligned offset (and the rounding a free checks), marked used for it; else 0.
   */
  take(c: number, size: number, align: number): number {
    const u32 = this.core.store.u32;
    const p = u32[Word.MID_CACHE + c]!;
    if (p === 0 || (p & (align - 1)) !== 0) return 0;
    const blockSize = this.tlsf.sizeOf(p);
    const slack = blockSize - Layout.HEADER_BYTES - size;
    if (slack < 0 || slack > maxSlackFor(blockSize - Layout.HEADER_BYTES)) return 0;
    u32[Word.MID_CACHE + c] = u32[p >>> 2]!;
    u32[Word.MID_CACHED + c]! -= 1;
    u32[Word.MID_CACHED_ALL]! -= 1;
    this.tlsf.markUsed(p, blockSize, size);
    return p;
  }

  /** Caches the used TLSF block at p (its accounting as a live block already undone) for class c; false when c's list is full. */
  put(p: number, c: number): boolean {
    const u32 = this.core.store.u32;
    if (u32[Word.MID_CACHED + c]! >= MidCache.LIMIT) return false;
    this.tlsf.markCached(p);
    u32[p >>> 2] = u32[Word.MID_CACHE + c]!;
    u32[Word.MID_CACHE + c] = p;
    u32[Word.MID_CACHED + c]! += 1;
    u32[Word.MID_CACHED_ALL]! += 1;
    return true;
  }

  /** Gives every cached block back to the free lists; true when there was one (one read when there is none). */
  flush(): boolean {
    const u32 = this.core.store.u32;
    if (u32[Word.MID_CACHED_ALL] === 0) return false;
    u32[Word.MID_CACHED_ALL] = 0;
    for (let c = 0; c < Mid.CLASS_COUNT; c++) {
      for (let p = u32[Word.MID_CACHE + c]!; p !== 0;) {
        const next = u32[p >>> 2]!;
        u32[Word.MID_CACHE + c] = next;
        u32[Word.MID_CACHED + c]! -= 1;
        this.tlsf.freeBlock(p, this.tlsf.sizeOf(p)); // refreshes no view: the heap holds its store, and nothing grows
        p = next;
      }
    }
    return true;
  }
}

/** True when the used TLSF block at p (of `size` bytes) is tagged as cached. */
export function isCachedTagged(u32: Uint32Array, p: number, size: number, secret: number): boolean {
  return u32[(p + Block.CHECK) >>> 2] === ((Layout.CACHED_TAG ^ keyOf(p, size, secret)) >>> 0);
}

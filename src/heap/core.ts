/**
 * The core of `Heap` that every layer is handed (`Heap` extends it, so the fast paths read
 * `this.words` with one load): the byte store, which makes the only views; `words` and `halves`,
 * the store's u32 and u16 views as the fast paths use them; where the heap's blocks start; the heap's secret; and the
 * live-byte accounting the layers share.
 *
 * `words` is the store's view, taken again (`adoptViews`) whenever this heap grows or shrinks
 * the store, and whenever it no longer reaches the heap's top: another agent (a Worker, a second
 * `Heap.attach`) grew the store, or a WASM memory's buffer was detached. The layers call
 * `refreshIfStale` (or `freshWords`) before they follow a link to memory that another agent may
 * have placed beyond it; the fast paths need no call (see `refreshIfStale`).
 *
 *   W[LIVE_HEADROOM] = peak live bytes - live bytes      (layout.ts, `Gauge`)
 *   so a malloc that fits in the headroom leaves the peak (an f64) alone.
 */
import type { ByteStore } from "../memory/store.js";
import { Gauge, Word } from "./layout.js";

/**
 * Internal to the heap's layers: `Heap` inherits these members, but code outside src/heap
 * should use only what `Heap` itself documents (`store`, `top` and the API).
 */
export class HeapCore {
  /** Mixed into every block's check word (layout.ts); fixed when the heap is formatted. */
  readonly secret: number;
  /** The store's u32 view, as of the last `adoptViews` (see above). */
  words: Uint32Array;
  /** The store's u16 view, taken with `words` (the mid slabs' request halfwords). */
  halves: Uint16Array;

  constructor(readonly store: ByteStore, readonly heapStart: number) {
    this.words = store.u32;
    this.halves = store.u16;
    this.secret = store.u32[Word.SECRET]!;
  }

  /** The heap's extent: the end of the highest block (its `brk`). */
  get top(): number {
    return this.store.u32[Word.TOP]!;
  }

  /** Takes the store's current views, remaking them first if the buffer changed. */
  adoptViews(): void {
    this.store.refresh();
    this.words = this.store.u32;
    this.halves = this.store.u16;
  }

  /**
   * Remakes the store's views when they no longer reach the heap's top: another agent grew the
   * store (the views are short) or a WASM memory grew (the old buffer is detached: length 0,
   * and every read undefined, hence the negated compare). Everything the layers touch lies
   * below top, and growth past the views goes through `store.grow`, which refreshes them.
   *
   * The fast paths need no call: a small slab's slots and header share one page, so a slab
   * whose header a view reaches lies wholly in it (a stale head slab reads as undefined, which
   * sends malloc to its slow path), and free has checked ptr against the view. Everything that
   * follows a link to other memory (list links, the mid page table, the TLSF lists) calls this
   * first.
   */
  refreshIfStale(): void {
    const words = this.words;
    if (!(words[Word.TOP]! <= words.length * 4)) this.adoptViews();
  }

  /** `words`, taken again first if it no longer reaches top. */
  freshWords(): Uint32Array {
    this.refreshIfStale();
    return this.words;
  }

  /** Live bytes grow by `size`: out of the headroom below the peak, or by raising the peak. */
  addLiveBytes(words: Uint32Array, size: number): void {
    const headroom = words[Word.LIVE_HEADROOM]!;
    if (size <= headroom) words[Word.LIVE_HEADROOM] = headroom - size;
    else this.raisePeak(size - headroom);
  }

  /** Live bytes grow past the peak by `excess`: the peak rises, the headroom is 0. */
  raisePeak(excess: number): void {
    this.words[Word.LIVE_HEADROOM] = 0;
    this.store.f64[Gauge.PEAK_LIVE_BYTES]! += excess;
  }

  subtractLiveBytes(words: Uint32Array, size: number): void {
    words[Word.LIVE_HEADROOM]! += size;
  }

  /** Adds mallocs a slab's state word counted to the heap's count. */
  countMallocs(n: number): void {
    this.store.f64[Gauge.MALLOC_COUNT]! += n;
  }
}

/**
 * The core of `Heap` that every layer is handed: the byte store (the only owner of the views),
 * where the heap's blocks start, the heap's secret, and the live-byte accounting the layers
 * share. It keeps no view and no copy of a control word of its own, so growth of the store by
 * another agent (a Worker, a second `Heap.attach`) leaves nothing stale here: each layer reads
 * `store.u32` when it runs, and `Heap` calls `viewsCover` before each operation.
 *
 *   W[LIVE_HEADROOM] = peak live bytes - live bytes      (layout.ts, `Gauge`)
 *   so a malloc that fits in the headroom leaves the peak (an f64) alone.
 */
import type { ByteStore } from "../memory/store.js";
import { Gauge, Word } from "./layout.js";

export class HeapCore {
  /** Mixed into every block's check word (layout.ts); fixed when the heap is formatted. */
  readonly secret: number;

  constructor(readonly store: ByteStore, readonly heapStart: number) {
    this.secret = store.u32[Word.SECRET]!;
  }

  /** The heap's extent: the end of the highest block (its `brk`). */
  get top(): number {
    return this.store.u32[Word.TOP]!;
  }

  /**
   * Remakes the store's views when they no longer reach the heap's top: another agent grew the
   * store (the views are short) or a WASM memory grew (the old buffer is detached: length 0,
   * and every read undefined, hence the negated compare). Everything the layers touch lies
   * below top, and growth past the views goes through `store.grow`, which refreshes them.
   */
  refreshIfStale(): void {
    const words = this.store.u32;
    if (!(words[Word.TOP]! <= words.length * 4)) this.store.refresh();
  }

  /** Live bytes grow by `size`: out of the headroom below the peak, or by raising the peak. */
  addLiveBytes(words: Uint32Array, size: number): void {
    const headroom = words[Word.LIVE_HEADROOM]!;
    if (size <= headroom) words[Word.LIVE_HEADROOM] = headroom - size;
    else this.raisePeak(size - headroom);
  }

  private raisePeak(excess: number): void {
    this.store.u32[Word.LIVE_HEADROOM] = 0;
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

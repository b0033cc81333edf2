/**
 * `SharedHeap`: one heap that many Workers use at once, over a growable SharedArrayBuffer (or a
 * shared WebAssembly.Memory). Each attached thread owns pages of the small and mid size classes
 * (up to 4 KiB) and allocates from them alone; its malloc and its free of its own blocks take no
 * lock and no atomic operation. A block freed by another thread is marked pending and flagged in
 * its page's remote bits (compareExchange and or, lock-free), and collected by the owner
 * (mimalloc's thread-free lists: Leijen, Zorn, de Moura, "Mimalloc: Free List Sharding in
 * Action", APLAS 2019, with a bit map in place of the list). New pages, large blocks and growth
 * go through a central Heap (src/heap) under one Atomics lock (tcmalloc's central heap). A thread
 * that detaches gives back its empty pages and leaves the others abandoned; the next thread that
 * needs a page of that class adopts one (mimalloc's abandoned pages). layout.ts draws the bytes.
 *
 * This file keeps the API and the fast paths; core.ts the per-thread state, views and lock;
 * thread-pages.ts a thread's page lists (malloc's slow path); pages.ts one page's operations;
 * threads.ts detach and recovery; control.ts the control block; inspect.ts and walk.ts the rest.
 *
 * Which calls may wait on the lock: malloc and realloc when a thread needs a new page or a block
 * over 4 KiB (or aligned beyond 16), free/realloc/usableSize of such a block, detach, recover,
 * check and stats. Where an agent may not block (a browser's main thread), the wait is a bounded
 * spin that ends in `LockTimeoutError`; everywhere else it sleeps in `Atomics.wait`.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, InvalidFreeError, OutOfMemoryError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import type { WasmMemory } from "../memory/wasm-memory.js";
import { type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { SharedCore } from "./core.js";
import { checkSharedHeap, sharedStats } from "./inspect.js";
import { CLASS_FIRST_SLOT, CLASS_RECIP, CLASS_SLOT_BYTES, classOf, PageWord, SharedLayout, type SharedView, slotIndexAt, ThreadWord } from "./layout.js";
import { markRemoteFree } from "./pages.js";
import { moveToAvail, pageWithRoom, retirePage, takeSlot } from "./thread-pages.js";
import { recoverThread, releaseThread } from "./threads.js";
import { writeSharedSpans } from "./walk.js";

export interface SharedHeapOptions extends Omit<StoreOptions, "kind"> {
  /** A shared store to format (kind "shared", or "wasm" over a shared memory). */
  store?: ByteStore;
  /** How many threads may be attached at once. @defaultValue 64 */
  threads?: number;
}

/**
 * A heap that every Worker can use at once. Create it on one thread, pass `heap.store.handle`
 * to the Workers, and open it there with `SharedHeap.attach(handle)`.
 *
 * @example
 * ```ts
 * const heap = new SharedHeap({ maxBytes: 64 << 20 });
 * const worker = new Worker("./worker.js", { workerData: heap.store.handle });
 * // in the Worker: const heap = SharedHeap.attach(workerData); heap.free(heap.malloc(100));
 * ```
 */
export class SharedHeap extends SharedCore implements Allocator {
  readonly name = "shared-heap";
  /** The store `attach` is opening (so the constructor opens its heap instead of formatting one). */
  private static opening: ByteStore | undefined;

  /** A new shared heap on a new growable SharedArrayBuffer (64 KiB growing to 1 GiB by default). */
  constructor(options: SharedHeapOptions = {}) {
    const opening = SharedHeap.opening;
    SharedHeap.opening = undefined;
    super(opening ?? options.store ?? ByteStore.create({ ...options, kind: "shared" }), opening ? undefined : options.threads ?? SharedLayout.DEFAULT_THREADS);
  }

  /** Opens, in this thread, the shared heap that lives in `backing` (from `heap.store.handle`). */
  static attach(backing: SharedArrayBuffer | WasmMemory | ByteStore): SharedHeap {
    SharedHeap.opening = backing instanceof ByteStore ? backing : ByteStore.wrap(backing);
    try {
      return new SharedHeap();
    } finally {
      SharedHeap.opening = undefined;
    }
  }

  // ---- Views -------------------------------------------------------------------------------
  /**
   * Views of the whole store, as of now: another thread may have grown it since this thread
   * last looked, so read them again after any call that may allocate (cheap: one length check).
   */
  get u8(): Uint8Array { return this.freshStore().u8; }
  get i32(): Int32Array { return this.freshStore().i32; }
  get u32(): Uint32Array { return this.freshStore().u32; }
  get f64(): Float64Array { return this.freshStore().f64; }

  private freshStore(): ByteStore {
    this.store.refresh();
    return this.store;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /** Allocates `size` bytes aligned to `align` (16 by default). Returns 0 when out of memory. */
  malloc(size: number, align = SharedLayout.SLOT_ALIGN): number {
    if (typeof size === "number" && size >>> 0 === size && size <= SharedLayout.MAX_SLOT_BYTES && align === SharedLayout.SLOT_ALIGN) {
      const c = classOf(size);
      const i32 = this.words;
      const page = i32[this.availHeads + c]!;
      if (page !== 0) {
        const w = page >>> 2;
        const slot = i32[w + PageWord.LOCAL_FREE]!;
        if (slot !== 0) {
          i32[w + PageWord.LOCAL_FREE] = i32[slot >>> 2]!;
          i32[w + PageWord.USED]! += 1;
          const j = (((slot - page - CLASS_FIRST_SLOT[c]!) >>> SharedLayout.SLOT_ALIGN_LOG2) * CLASS_RECIP[c]!) >>> SharedLayout.RECIP_SHIFT;
          this.halves[(page >>> 1) + PageWord.STATUS_HALF + j] = size + 1;
          return slot;
        }
      }
      return this.mallocSlot(size, c);
    }
    return this.mallocGeneric(size, align);
  }

  /** Like `malloc`, but throws `OutOfMemoryError` instead of returning 0. */
  mallocOrThrow(size: number, align = SharedLayout.SLOT_ALIGN): number {
    const ptr = this.malloc(size, align);
    if (ptr === 0) throw new OutOfMemoryError(size, this.store.reservedBytes);
    return ptr;
  }

  private mallocGeneric(size: number, align: number): number {
    this.assertAttached();
    checkSize(size, this.central.maxRequestBytes);
    checkAlign(align, SharedLayout.PAGE_BYTES);
    if (size <= SharedLayout.MAX_SLOT_BYTES && align <= SharedLayout.SLOT_ALIGN) return this.mallocSlot(size, classOf(size));
    return this.locked(() => this.central.malloc(size, align));
  }

  /** The slow path of a slot malloc: collect remote frees, bump, other pages, a new page. */
  private mallocSlot(size: number, c: number): number {
    this.assertAttached();
    for (;;) {
      const page = pageWithRoom(this, c);
      if (page === 0) return 0;
      const slot = takeSlot(this, page, c);
      if (slot !== 0) {
        this.halves[(page >>> 1) + PageWord.STATUS_HALF + slotIndexAt(c, slot - page - CLASS_FIRST_SLOT[c]!)] = size + 1;
        return slot;
      }
    }
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block, from any thread; `free(0)` does nothing. Anything else that is not a live
   * block throws `InvalidFreeError` or `DoubleFreeError` and changes nothing.
   */
  free(ptr: number): void {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & (SharedLayout.SLOT_ALIGN - 1)) !== 0 || ptr >= this.viewBytes) {
      if (ptr === 0) return;
      return this.freeOutsideView(ptr);
    }
    const i32 = this.words;
    if (((i32[this.pageMapWord + (ptr >>> (SharedLayout.PAGE_SHIFT + 5))]! >>> ((ptr >>> SharedLayout.PAGE_SHIFT) & 31)) & 1) === 0) {
      return this.freeCentral(ptr);
    }
    const page = ptr - (ptr & (SharedLayout.PAGE_BYTES - 1));
    const w = page >>> 2;
    const c = i32[w + PageWord.CLASS]!;
    const j = slotIndexAt(c, ptr - page - CLASS_FIRST_SLOT[c]!);
    if (j < 0) throw new InvalidFreeError(ptr, "not the start of a slot in a shared-heap page");
    const si = (page >>> 1) + PageWord.STATUS_HALF + j;
    // Plain reads and writes on the owner's path (layout.ts says why that is safe): only this
    // thread writes its tag, and another thread's free only ever moves a live status to PENDING.
    const status = this.halves[si]!;
    if (status === 0 || status === SharedLayout.PENDING) this.notLive(ptr, page, j);
    if (i32[w + PageWord.OWNER] === this.tag) {
      this.halves[si] = 0;
      i32[ptr >>> 2] = i32[w + PageWord.LOCAL_FREE]!;
      i32[w + PageWord.LOCAL_FREE] = ptr;
      const used = i32[w + PageWord.USED]! - 1;
      i32[w + PageWord.USED] = used;
      if (used === 0 && page !== i32[this.availHeads + c]) retirePage(this, page, c);
      else if (i32[w + PageWord.IN_FULL] !== 0) moveToAvail(this, page, c);
    } else {
      this.freeRemote(ptr, page, j, status);
    }
    this.doubles[this.freesF64]! += 1;
  }

  /** A free into another thread's (or an abandoned) page: mark the slot pending, then its remote bit. */
  private freeRemote(ptr: number, page: number, j: number, status: number): void {
    if (Atomics.compareExchange(this.halves, (page >>> 1) + PageWord.STATUS_HALF + j, status, SharedLayout.PENDING) !== status) this.notLive(ptr, page, j);
    const i32 = this.words;
    markRemoteFree(i32, page, j);
    if (Atomics.load(i32, (page >>> 2) + PageWord.IN_FULL) !== 0) {
      const owner = Atomics.load(i32, (page >>> 2) + PageWord.OWNER);
      if (owner !== 0) Atomics.or(i32, this.recordOf(owner - 1) + ThreadWord.REMOTE_HINT, 1 << i32[(page >>> 2) + PageWord.CLASS]!);
    }
  }

  private freeOutsideView(ptr: number): void {
    if (typeof ptr !== "number") throw new InvalidFreeError(ptr, "a pointer is a number");
    if (ptr >>> 0 === ptr && ptr < this.store.buffer.byteLength && ptr >= this.viewBytes) {
      this.refreshViews(); // another thread grew the store
      return this.free(ptr);
    }
    if (ptr >>> 0 === ptr && (ptr & 7) === 0) return this.freeCentral(ptr); // the Heap names what is wrong
    throw new InvalidFreeError(ptr, "not a block of this heap (blocks are 8-aligned offsets into the store)");
  }

  private freeCentral(ptr: number): void {
    this.assertAttached();
    if (ptr === this.controlPtr) throw new InvalidFreeError(ptr, "the shared heap's control block is not a block of the user's");
    this.locked(() => this.central.free(ptr));
    this.doubles[this.freesF64]! += 1;
  }

  private notLive(ptr: number, page: number, j: number): never {
    const owned = Atomics.load(this.words, (page >>> 2) + PageWord.OWNER) === this.tag;
    if (owned && j >= this.words[(page >>> 2) + PageWord.BUMP]!) throw new InvalidFreeError(ptr, "a slot that was never handed out");
    throw new DoubleFreeError(ptr, Atomics.load(this.halves, (page >>> 1) + PageWord.STATUS_HALF + j) === SharedLayout.PENDING ? "already freed by another thread" : "");
  }

  // ---- Realloc and sizes -------------------------------------------------------------------

  /** Resizes a live block, in place where its slot holds the new size; 0 (block unchanged) if no memory. */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    checkSize(size, this.central.maxRequestBytes);
    const slot = this.liveSlot(ptr);
    if (slot < 0) return this.locked(() => this.central.realloc(ptr, size));
    const page = ptr - (ptr & (SharedLayout.PAGE_BYTES - 1));
    const c = this.words[(page >>> 2) + PageWord.CLASS]!;
    const si = (page >>> 1) + PageWord.STATUS_HALF + slot;
    const status = Atomics.load(this.halves, si);
    if (size <= CLASS_SLOT_BYTES[c]! && (c === 0 || size > CLASS_SLOT_BYTES[c - 1]!)) {
      if (Atomics.compareExchange(this.halves, si, status, size + 1) !== status) this.notLive(ptr, page, slot);
      return ptr;
    }
    const moved = this.malloc(size);
    if (moved === 0) return 0;
    this.bytes.copyWithin(moved, ptr, ptr + Math.min(size, status - 1));
    this.free(ptr);
    return moved;
  }

  /** Bytes the caller may use in a live block. */
  usableSize(ptr: number): number {
    const slot = this.liveSlot(ptr);
    if (slot >= 0) return CLASS_SLOT_BYTES[this.words[((ptr - (ptr & (SharedLayout.PAGE_BYTES - 1))) >>> 2) + PageWord.CLASS]!]!;
    if (ptr === this.controlPtr) throw new InvalidFreeError(ptr, "the shared heap's control block is not a block of the user's");
    return this.locked(() => this.central.usableSize(ptr));
  }

  /** The slot index of a live slot at ptr, -1 if ptr is in no page; throws for a dead slot. */
  private liveSlot(ptr: number): number {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr) throw new InvalidFreeError(ptr, "a pointer is a non-negative integer offset");
    if (ptr >= this.viewBytes) this.refreshViews();
    if (ptr >= this.viewBytes || !this.isPage(ptr - (ptr & (SharedLayout.PAGE_BYTES - 1)))) return -1;
    const page = ptr - (ptr & (SharedLayout.PAGE_BYTES - 1));
    const c = this.words[(page >>> 2) + PageWord.CLASS]!;
    const j = slotIndexAt(c, ptr - page - CLASS_FIRST_SLOT[c]!);
    if (j < 0) throw new InvalidFreeError(ptr, "not the start of a slot in a shared-heap page");
    const status = Atomics.load(this.halves, (page >>> 1) + PageWord.STATUS_HALF + j);
    if (status === 0 || status === SharedLayout.PENDING) this.notLive(ptr, page, j);
    return j;
  }

  // ---- Threads -----------------------------------------------------------------------------

  /**
   * Ends this thread's use of the heap: its empty pages go back to the central heap, the pages
   * that still hold live blocks are left for other threads to adopt, and its counters are folded
   * into the heap's. Blocks it allocated stay valid and may be freed by any thread. Call it before
   * a Worker ends; for a Worker that ended without it, call `recover(threadId)` from another.
   */
  detach(): void {
    this.assertAttached();
    this.locked(() => releaseThread(this, this.threadId, false));
    this.attached = false;
  }

  /**
   * Takes back the pages and the thread slot of a thread that ended without `detach()` (a Worker
   * that was terminated or threw: the creator sees it in the Worker's "exit" event). Its pages
   * are rebuilt from their status words and left for adoption. If it died holding the central
   * lock, the central heap is checked first and `HeapCorruptionError` says if it cannot be trusted.
   */
  recover(threadId: number): void {
    this.assertAttached();
    recoverThread(this, threadId);
  }

  // ---- Inspection --------------------------------------------------------------------------

  /**
   * The heap's gauges. Exact once every thread is quiet; while others run, each field is a
   * recent value (the counters are read without stopping them).
   */
  stats(): AllocatorStats {
    return this.locked(() => sharedStats(this.view(), this.central.stats(), this.store));
  }

  /**
   * Checks the central heap, the control block, every page and every thread's lists. It takes
   * the central lock, but the pages' owners run without it: call it while the other threads are
   * quiet (a stop-the-world, for example after they post that they are done).
   */
  check(): void {
    this.locked(() => {
      this.central.check();
      checkSharedHeap(this.view(), (page) => this.central.usableSize(page));
    });
  }

  /** Spans in address order (the walk contract): the central heap's, with pages expanded into slots. */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  /** @internal The walk's one writer (src/spans.ts). */
  writeSpans(sink: SpanSink): void {
    writeSharedSpans(this.view(), this.central, sink);
  }

  /** What inspect.ts and walk.ts read: the views and where the control block's regions are. */
  private view(): SharedView {
    this.refreshViews();
    return {
      i32: this.words, u16: this.halves, f64: this.doubles, ctl: this.ctl, controlPtr: this.controlPtr, controlBytes: this.controlBytes,
      pageMapWord: this.pageMapWord, threadCount: this.threadCount, pages: [...this.pages()],
    };
  }
}

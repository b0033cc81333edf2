/**
 * `SharedHeap`: one heap that many Workers use at once, over a growable SharedArrayBuffer (or a
 * shared WebAssembly.Memory). Each attached thread owns pages of the small and mid size classes
 * (up to 4 KiB) and allocates from them alone, with no lock and no atomic read-modify-write but
 * one on free; a block freed by another thread is pushed lock-free onto its page's remote-free
 * list and collected by the owner (mimalloc's thread-free lists: Leijen, Zorn, de Moura,
 * "Mimalloc: Free List Sharding in Action", APLAS 2019). New pages, large blocks and growth go
 * through a central Heap (src/heap) under one Atomics lock (tcmalloc's central heap). A thread
 * that detaches gives back its empty pages and leaves the others abandoned; the next thread that
 * needs a page of that class adopts one (mimalloc's abandoned pages). layout.ts draws the bytes.
 *
 * Which calls may wait on the lock: malloc and realloc when a thread needs a new page or a block
 * over 4 KiB (or aligned beyond 16), free/realloc/usableSize of such a block, detach, recover,
 * check and stats. Where an agent may not block (a browser's main thread), the wait is a bounded
 * spin that ends in `LockTimeoutError`; everywhere else it sleeps in `Atomics.wait`.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidStoreError, OutOfMemoryError } from "../errors.js";
import { Heap } from "../heap/heap.js";
import { Layout, Word } from "../heap/layout.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import type { WasmMemory } from "../memory/wasm-memory.js";
import { type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { checkSharedHeap, sharedStats } from "./inspect.js";
import {
  CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_RECIP, CLASS_SLOT_BYTES, classOf, controlGeometry, Ctl, PageWord, SharedLayout,
  type SharedView, slotIndexAt, ThreadState, ThreadWord,
} from "./layout.js";
import { acquire, agentCanBlock, release } from "./lock.js";
import { collectThreadFree, formatPage, rebuildPage } from "./pages.js";
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
export class SharedHeap implements Allocator {
  readonly name = "shared-heap";
  readonly store: ByteStore;
  /** This thread's number among the attached threads (0-based). */
  readonly threadId: number;
  private readonly central: Heap;
  private readonly controlPtr: number;
  private readonly ctl: number;
  private readonly controlBytes: number;
  private readonly pageMapWord: number;
  private readonly threadCount: number;
  private readonly record: number;
  private readonly availHeads: number;
  private readonly fullHeads: number;
  private readonly freesF64: number;
  private readonly tag: number;
  private readonly canBlock: boolean;
  private attached = true;
  private words!: Int32Array;
  private halves!: Uint16Array;
  private bytes!: Uint8Array;
  private doubles!: Float64Array;
  private viewBytes = 0;

  private static opening: ByteStore | undefined;

  /** A new shared heap on a new growable SharedArrayBuffer (64 KiB growing to 1 GiB by default). */
  constructor(options: SharedHeapOptions = {}) {
    const opening = SharedHeap.opening;
    SharedHeap.opening = undefined;
    const store = opening ?? options.store ?? ByteStore.create({ ...options, kind: "shared" });
    if (store.isRange) throw new InvalidStoreError("a SharedHeap cannot live in a range of a buffer (a Heap can): give it a store of its own");
    if (!(store.buffer instanceof SharedArrayBuffer)) {
      throw new InvalidStoreError(`a SharedHeap needs shared memory (a growable SharedArrayBuffer or a shared WebAssembly.Memory); this store is ${store.kind} over an unshared buffer`);
    }
    this.store = store;
    // Every call into the central heap holds the shared heap's lock: its own guard is not needed
    // (and a thread that died inside it would leave that guard taken).
    const central = opening ? undefined : new Heap({ store, concurrencyGuard: false });
    this.controlPtr = central ? this.formatControl(central, options.threads ?? SharedLayout.DEFAULT_THREADS) : this.findControl();
    this.ctl = this.controlPtr >>> 2;
    this.refreshViews();
    this.threadCount = this.words[this.ctl + Ctl.THREAD_COUNT]!;
    const geometry = controlGeometry(this.threadCount, store.reservedBytes);
    this.controlBytes = geometry.bytes;
    this.pageMapWord = this.ctl + geometry.pageMapWord;
    this.threadId = this.claimThread();
    this.tag = this.threadId + 1;
    this.record = this.recordOf(this.threadId);
    this.availHeads = this.record + ThreadWord.AVAIL_HEADS;
    this.fullHeads = this.record + ThreadWord.FULL_HEADS;
    this.freesF64 = (this.record >>> 1) + ThreadWord.FREES_F64;
    this.canBlock = agentCanBlock(this.words);
    this.central = central ?? this.attachCentral();
  }

  /**
   * Opens the central heap under the lock: attach reads and checks its blocks, which other
   * threads change only while they hold it. A refused attach gives the thread slot back.
   */
  private attachCentral(): Heap {
    try {
      acquire(this.words, this.ctl + Ctl.LOCK, this.ctl + Ctl.LOCK_WAITERS, this.tag, this.canBlock);
      try {
        this.store.refresh();
        return Heap.attach(this.store, { concurrencyGuard: false });
      } finally {
        release(this.words, this.ctl + Ctl.LOCK, this.ctl + Ctl.LOCK_WAITERS);
      }
    } catch (error) {
      Atomics.store(this.words, this.record + ThreadWord.STATE, ThreadState.FREE);
      throw error;
    }
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
      const page = this.pageWithRoom(c);
      if (page === 0) return 0;
      const slot = this.takeSlot(page, c);
      if (slot !== 0) {
        this.halves[(page >>> 1) + PageWord.STATUS_HALF + slotIndexAt(c, slot - page - CLASS_FIRST_SLOT[c]!)] = size + 1;
        return slot;
      }
    }
  }

  /** A slot from the page's local list or above its bump (0 if full); the status is not set yet. */
  private takeSlot(page: number, c: number): number {
    const i32 = this.words;
    const w = page >>> 2;
    let slot = i32[w + PageWord.LOCAL_FREE]!;
    if (slot !== 0) {
      i32[w + PageWord.LOCAL_FREE] = i32[slot >>> 2]!;
    } else {
      const bump = i32[w + PageWord.BUMP]!;
      if (bump >= CLASS_CAPACITY[c]!) return 0;
      i32[w + PageWord.BUMP] = bump + 1; // before the status is set: see rebuildPage
      slot = page + CLASS_FIRST_SLOT[c]! + bump * CLASS_SLOT_BYTES[c]!;
    }
    i32[w + PageWord.USED]! += 1;
    return slot;
  }

  /** The head of class c's available pages once it has room, moving full pages aside. */
  private pageWithRoom(c: number): number {
    const i32 = this.words;
    for (;;) {
      const page = i32[this.availHeads + c]!;
      if (page === 0) break;
      const w = page >>> 2;
      collectThreadFree(i32, this.halves, page);
      if (i32[w + PageWord.LOCAL_FREE] !== 0 || i32[w + PageWord.BUMP]! < CLASS_CAPACITY[c]!) return page;
      this.moveToFull(page, c);
    }
    const hint = this.record + ThreadWord.REMOTE_HINT;
    if ((Atomics.load(i32, hint) & (1 << c)) !== 0) {
      Atomics.and(i32, hint, ~(1 << c)); // before the scan: a free that lands during it hints again
      if (this.reviveFullPages(c)) return i32[this.availHeads + c]!;
    }
    return this.newPage(c);
  }

  /** Moves a full page to its class's FULL list, unless a remote free raced in (then keeps it). */
  private moveToFull(page: number, c: number): void {
    const w = page >>> 2;
    Atomics.store(this.words, w + PageWord.IN_FULL, 1);
    if (Atomics.load(this.words, w + PageWord.THREAD_FREE) !== 0) {
      Atomics.store(this.words, w + PageWord.IN_FULL, 0); // a remote free came first: collect it next turn
      return;
    }
    this.unlink(page, this.availHeads + c);
    this.push(page, this.fullHeads + c);
  }

  /** Collects the remote frees on class c's full pages (a free hinted them); true if one has room now. */
  private reviveFullPages(c: number): boolean {
    let found = false;
    let page = this.words[this.fullHeads + c]!;
    while (page !== 0) {
      const next = this.words[(page >>> 2) + PageWord.NEXT]!;
      if (collectThreadFree(this.words, this.halves, page) !== 0) {
        this.moveToAvail(page, c);
        found = true;
      }
      page = next;
    }
    return found;
  }

  private moveToAvail(page: number, c: number): void {
    Atomics.store(this.words, (page >>> 2) + PageWord.IN_FULL, 0);
    this.unlink(page, this.fullHeads + c);
    this.push(page, this.availHeads + c);
  }

  /** Adopts an abandoned page of class c, or makes one from the central heap; 0 if no memory. */
  private newPage(c: number): number {
    const page = this.locked(() => {
      const head = this.ctl + Ctl.ABANDONED_HEADS + c;
      const abandoned = this.words[head]!;
      if (abandoned !== 0) {
        this.words[head] = this.words[(abandoned >>> 2) + PageWord.NEXT]!;
        Atomics.store(this.words, (abandoned >>> 2) + PageWord.OWNER, this.tag);
        return abandoned;
      }
      const fresh = this.central.malloc(SharedLayout.PAGE_BYTES, SharedLayout.PAGE_BYTES);
      if (fresh === 0) return 0;
      this.refreshViews();
      formatPage(this.words, this.halves, fresh, c, this.tag);
      this.setPageBit(fresh, true);
      this.words[this.ctl + Ctl.PAGES]! += 1;
      return fresh;
    });
    if (page !== 0) {
      this.words[(page >>> 2) + PageWord.NEXT] = 0;
      this.words[(page >>> 2) + PageWord.PREV] = 0;
      Atomics.store(this.words, (page >>> 2) + PageWord.IN_FULL, 0);
      this.push(page, this.availHeads + c);
    }
    return page;
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
    const status = Atomics.load(this.halves, si);
    if (status === 0 || status === SharedLayout.PENDING) this.notLive(ptr, page, j);
    if (Atomics.load(i32, w + PageWord.OWNER) === this.tag) {
      if (Atomics.compareExchange(this.halves, si, status, 0) !== status) this.notLive(ptr, page, j);
      i32[ptr >>> 2] = i32[w + PageWord.LOCAL_FREE]!;
      i32[w + PageWord.LOCAL_FREE] = ptr;
      const used = i32[w + PageWord.USED]! - 1;
      i32[w + PageWord.USED] = used;
      if (used === 0 && page !== i32[this.availHeads + c]) this.retirePage(page, c);
      else if (i32[w + PageWord.IN_FULL] !== 0) this.moveToAvail(page, c);
    } else {
      this.freeRemote(ptr, page, si, status);
    }
    this.doubles[this.freesF64]! += 1;
  }

  /** A free into another thread's (or an abandoned) page: mark it pending, push it lock-free. */
  private freeRemote(ptr: number, page: number, si: number, status: number): void {
    if (Atomics.compareExchange(this.halves, si, status, SharedLayout.PENDING) !== status) this.notLive(ptr, page, si - (page >>> 1) - PageWord.STATUS_HALF);
    const i32 = this.words;
    const head = (page >>> 2) + PageWord.THREAD_FREE;
    for (;;) {
      const first = Atomics.load(i32, head);
      i32[ptr >>> 2] = first;
      if (Atomics.compareExchange(i32, head, first, ptr) === first) break;
    }
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

  /** Gives an empty page back to the central heap. */
  private retirePage(page: number, c: number): void {
    const inFull = this.words[(page >>> 2) + PageWord.IN_FULL] !== 0;
    this.unlink(page, (inFull ? this.fullHeads : this.availHeads) + c);
    this.locked(() => {
      this.setPageBit(page, false);
      this.words[this.ctl + Ctl.PAGES]! -= 1;
      this.central.free(page);
    });
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
    this.locked(() => this.releaseThread(this.threadId, false));
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
    if (!Number.isInteger(threadId) || threadId < 0 || threadId >= this.threadCount || threadId === this.threadId) {
      throw new InvalidStoreError(`recover(${String(threadId)}): not another thread's number (0..${this.threadCount - 1}, not this thread's ${this.threadId})`);
    }
    const lock = this.ctl + Ctl.LOCK;
    if (Atomics.compareExchange(this.words, lock, threadId + 1, this.tag) === threadId + 1) {
      try {
        this.central.check();
      } catch (error) {
        release(this.words, lock, this.ctl + Ctl.LOCK_WAITERS);
        throw new HeapCorruptionError(`thread ${threadId} ended inside a central-heap operation and left it inconsistent: ${(error as Error).message}`);
      }
      release(this.words, lock, this.ctl + Ctl.LOCK_WAITERS);
    }
    this.locked(() => {
      if (this.words[this.recordOf(threadId) + ThreadWord.STATE] !== ThreadState.ATTACHED) return;
      this.releaseThread(threadId, true);
    });
  }

  /** Under the lock: abandons or retires every page of thread t, folds its counters, frees its slot. */
  private releaseThread(t: number, rebuild: boolean): void {
    const i32 = this.words;
    const tag = t + 1;
    for (const page of this.pages()) {
      const w = page >>> 2;
      if (Atomics.load(i32, w + PageWord.OWNER) !== tag) continue;
      if (rebuild) rebuildPage(i32, this.halves, page);
      collectThreadFree(i32, this.halves, page);
      if (i32[w + PageWord.USED] === 0) {
        this.setPageBit(page, false);
        i32[this.ctl + Ctl.PAGES]! -= 1;
        this.central.free(page);
        continue;
      }
      const c = i32[w + PageWord.CLASS]!;
      Atomics.store(i32, w + PageWord.OWNER, 0);
      Atomics.store(i32, w + PageWord.IN_FULL, 0);
      i32[w + PageWord.PREV] = 0;
      i32[w + PageWord.NEXT] = i32[this.ctl + Ctl.ABANDONED_HEADS + c]!;
      i32[this.ctl + Ctl.ABANDONED_HEADS + c] = page;
    }
    const record = this.recordOf(t);
    const g = this.ctl >>> 1;
    this.doubles[g + Ctl.GLOBAL_FREES_F64]! += this.doubles[(record >>> 1) + ThreadWord.FREES_F64]!;
    i32.fill(0, record + 1, record + ThreadWord.WORDS);
    Atomics.store(i32, record + ThreadWord.STATE, ThreadState.FREE);
  }

  private claimThread(): number {
    for (let t = 0; t < this.threadCount; t++) {
      const record = this.recordOf(t);
      if (Atomics.compareExchange(this.words, record + ThreadWord.STATE, ThreadState.FREE, ThreadState.ATTACHED) === ThreadState.FREE) return t;
    }
    throw new InvalidStoreError(`all ${this.threadCount} thread slots of this shared heap are attached: detach() a thread first, or create the heap with a larger \`threads\``);
  }

  private recordOf(t: number): number {
    return this.ctl + Ctl.THREADS + t * ThreadWord.WORDS;
  }

  private assertAttached(): void {
    if (!this.attached) throw new InvalidStoreError(`thread ${this.threadId} has detached from this shared heap: attach again to use it`);
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

  // ---- Shared plumbing ---------------------------------------------------------------------

  private *pages(): IterableIterator<number> {
    const words = Math.ceil(this.store.reservedBytes / SharedLayout.PAGE_BYTES / 32);
    for (let k = 0; k < words; k++) {
      let bits = Atomics.load(this.words, this.pageMapWord + k);
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        yield (k * 32 + b) * SharedLayout.PAGE_BYTES;
      }
    }
  }

  private isPage(page: number): boolean {
    return ((this.words[this.pageMapWord + (page >>> (SharedLayout.PAGE_SHIFT + 5))]! >>> ((page >>> SharedLayout.PAGE_SHIFT) & 31)) & 1) !== 0;
  }

  private setPageBit(page: number, on: boolean): void {
    const word = this.pageMapWord + (page >>> (SharedLayout.PAGE_SHIFT + 5));
    const bit = 1 << ((page >>> SharedLayout.PAGE_SHIFT) & 31);
    if (on) Atomics.or(this.words, word, bit);
    else Atomics.and(this.words, word, ~bit);
  }

  private push(page: number, head: number): void {
    const i32 = this.words;
    const first = i32[head]!;
    i32[(page >>> 2) + PageWord.PREV] = 0;
    i32[(page >>> 2) + PageWord.NEXT] = first;
    if (first !== 0) i32[(first >>> 2) + PageWord.PREV] = page;
    i32[head] = page;
  }

  private unlink(page: number, head: number): void {
    const i32 = this.words;
    const prev = i32[(page >>> 2) + PageWord.PREV]!;
    const next = i32[(page >>> 2) + PageWord.NEXT]!;
    if (prev === 0) i32[head] = next;
    else i32[(prev >>> 2) + PageWord.NEXT] = next;
    if (next !== 0) i32[(next >>> 2) + PageWord.PREV] = prev;
  }

  /** Runs fn under the central lock; the central heap sees growth by other threads first. */
  private locked<T>(fn: () => T): T {
    acquire(this.words, this.ctl + Ctl.LOCK, this.ctl + Ctl.LOCK_WAITERS, this.tag, this.canBlock);
    try {
      this.store.refresh();
      this.refreshViews();
      return fn();
    } finally {
      release(this.words, this.ctl + Ctl.LOCK, this.ctl + Ctl.LOCK_WAITERS);
    }
  }

  /** Remakes this thread's views when the store has grown (they are fixed-length: fast to read). */
  private refreshViews(): void {
    const buffer = this.store.buffer;
    if (buffer.byteLength === this.viewBytes && this.bytes?.buffer === buffer) return;
    this.viewBytes = buffer.byteLength;
    this.words = new Int32Array(buffer, 0, this.viewBytes >>> 2);
    this.halves = new Uint16Array(buffer, 0, this.viewBytes >>> 1);
    this.bytes = new Uint8Array(buffer, 0, this.viewBytes);
    this.doubles = new Float64Array(buffer, 0, this.viewBytes >>> 3);
  }

  // ---- Control block -----------------------------------------------------------------------

  private formatControl(central: Heap, threads: number): number {
    if (!Number.isInteger(threads) || threads < 1 || threads > SharedLayout.MAX_THREADS) {
      throw new InvalidStoreError(`threads must be an integer from 1 to ${SharedLayout.MAX_THREADS}, not ${String(threads)}`);
    }
    const geometry = controlGeometry(threads, this.store.reservedBytes);
    const ptr = central.malloc(geometry.bytes);
    if (ptr === 0) throw new InvalidStoreError(`the store cannot hold a shared heap's ${geometry.bytes}-byte control block`);
    const u8 = this.store.u8;
    u8.fill(0, ptr, ptr + geometry.bytes);
    const i32 = new Int32Array(this.store.buffer, ptr, geometry.bytes >>> 2);
    i32[Ctl.MAGIC] = SharedLayout.MAGIC;
    i32[Ctl.VERSION] = SharedLayout.VERSION;
    i32[Ctl.PAGE_MAP_WORDS] = geometry.pageMapWords;
    i32[Ctl.THREAD_COUNT] = threads;
    central.root = ptr;
    return ptr;
  }

  /** The control block, from the central heap's root word (read before the heap is attached). */
  private findControl(): number {
    const i32 = this.store.i32;
    const ptr = i32[Word.ROOT]! >>> 0;
    if (i32[Word.MAGIC]! >>> 0 !== Layout.MAGIC) throw new InvalidStoreError("this buffer does not hold a heapkit heap (no heap magic at offset 0)");
    if (ptr === 0 || (ptr & 7) !== 0 || ptr + 4 > this.store.committedBytes || i32[ptr >>> 2] !== SharedLayout.MAGIC) {
      throw new InvalidStoreError("this heap is not a SharedHeap (no shared-heap control block at its root): open it with Heap.attach");
    }
    if (i32[(ptr >>> 2) + Ctl.VERSION] !== SharedLayout.VERSION) {
      throw new InvalidStoreError(`shared heap format version ${i32[(ptr >>> 2) + Ctl.VERSION]} is not supported (this heapkit reads version ${SharedLayout.VERSION})`);
    }
    return ptr;
  }
}

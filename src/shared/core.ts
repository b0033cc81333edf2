/**
 * What every part of SharedHeap is handed (`SharedHeap` extends it, so its fast paths read
 * `this.words` with one load): the store and this thread's fixed-length views of it, where the
 * control block's regions are, this thread's record and tag, the central Heap and its lock.
 *
 *   views     words/halves/bytes/doubles: the whole buffer as of the last `refreshViews`, which
 *             remakes them when another thread has grown the store (one length compare).
 *   ctl       word index of the control block (layout.ts draws it); pageMapWord, threadCount.
 *   record    word index of this thread's record; availHeads/fullHeads: its page lists' heads.
 *   tag       threadId + 1: what this thread writes in the OWNER word of its pages and in LOCK.
 *   central   the Heap that the whole store is, touched only under LOCK (`locked`).
 *
 * Invariant: fields other than the views and `attached` never change after the constructor.
 */
import { InvalidStoreError } from "../errors.js";
import { Heap } from "../heap/heap.js";
import type { ByteStore } from "../memory/store.js";
import { formatSharedControl, findSharedControl } from "./control.js";
import { controlGeometry, Ctl, SharedLayout, ThreadState, ThreadWord } from "./layout.js";
import { acquire, agentCanBlock, release } from "./lock.js";

/** Internal to src/shared: `SharedHeap` inherits these members; its API is what it documents. */
export class SharedCore {
  readonly store: ByteStore;
  /** This thread's number among the attached threads (0-based). */
  readonly threadId: number;
  readonly central: Heap;
  readonly controlPtr: number;
  readonly ctl: number;
  readonly controlBytes: number;
  readonly pageMapWord: number;
  readonly threadCount: number;
  readonly record: number;
  readonly availHeads: number;
  readonly fullHeads: number;
  readonly freesF64: number;
  readonly tag: number;
  readonly canBlock: boolean;
  attached = true;
  words!: Int32Array;
  halves!: Uint16Array;
  bytes!: Uint8Array;
  doubles!: Float64Array;
  viewBytes = 0;

  /** Formats a new shared heap on `store` with `formatThreads` slots, or (undefined) opens the one there. */
  constructor(store: ByteStore, formatThreads: number | undefined) {
    if (store.isRange) throw new InvalidStoreError("a SharedHeap cannot live in a range of a buffer (a Heap can): give it a store of its own");
    if (!(store.buffer instanceof SharedArrayBuffer)) {
      throw new InvalidStoreError(`a SharedHeap needs shared memory (a growable SharedArrayBuffer or a shared WebAssembly.Memory); this store is ${store.kind} over an unshared buffer`);
    }
    this.store = store;
    // Every call into the central heap holds the shared heap's lock: its own guard is not needed
    // (and a thread that died inside it would leave that guard taken).
    const central = formatThreads === undefined ? undefined : new Heap({ store, concurrencyGuard: false });
    this.controlPtr = central ? formatSharedControl(store, central, formatThreads!) : findSharedControl(store);
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

  /** Takes the first free thread slot (compareExchange on its state word). */
  private claimThread(): number {
    for (let t = 0; t < this.threadCount; t++) {
      const record = this.recordOf(t);
      if (Atomics.compareExchange(this.words, record + ThreadWord.STATE, ThreadState.FREE, ThreadState.ATTACHED) === ThreadState.FREE) return t;
    }
    throw new InvalidStoreError(`all ${this.threadCount} thread slots of this shared heap are attached: detach() a thread first, or create the heap with a larger \`threads\``);
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

  /** Word index of thread t's record. */
  recordOf(t: number): number {
    return this.ctl + Ctl.THREADS + t * ThreadWord.WORDS;
  }

  assertAttached(): void {
    if (!this.attached) throw new InvalidStoreError(`thread ${this.threadId} has detached from this shared heap: attach again to use it`);
  }

  /** Runs fn under the central lock; the central heap sees growth by other threads first. */
  locked<T>(fn: () => T): T {
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
  refreshViews(): void {
    const buffer = this.store.buffer;
    if (buffer.byteLength === this.viewBytes && this.bytes?.buffer === buffer) return;
    this.viewBytes = buffer.byteLength;
    this.words = new Int32Array(buffer, 0, this.viewBytes >>> 2);
    this.halves = new Uint16Array(buffer, 0, this.viewBytes >>> 1);
    this.bytes = new Uint8Array(buffer, 0, this.viewBytes);
    this.doubles = new Float64Array(buffer, 0, this.viewBytes >>> 3);
  }

  // ---- The page map ------------------------------------------------------------------------

  /** Every page, in address order, from the page map. */
  *pages(): IterableIterator<number> {
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

  isPage(page: number): boolean {
    return ((this.words[this.pageMapWord + (page >>> (SharedLayout.PAGE_SHIFT + 5))]! >>> ((page >>> SharedLayout.PAGE_SHIFT) & 31)) & 1) !== 0;
  }

  setPageBit(page: number, on: boolean): void {
    const word = this.pageMapWord + (page >>> (SharedLayout.PAGE_SHIFT + 5));
    const bit = 1 << ((page >>> SharedLayout.PAGE_SHIFT) & 31);
    if (on) Atomics.or(this.words, word, bit);
    else Atomics.and(this.words, word, ~bit);
  }
}

/**
 * `Heap`: the general-purpose allocator, in layers that share one core (core.ts: the store, its
 * views, the live-byte accounting). Small requests (0..256 bytes) are slots in one-page slabs
 * (small-slabs.ts); requests of 257..8176 bytes are slots in 16, 32 or 64 KiB mid slabs whose
 * bookkeeping sits in dense descriptors apart from the slabs (mid-slabs.ts); everything else is
 * a block of its own (large-blocks.ts). Slabs and blocks all come from the TLSF layer (tlsf.ts), O(1) to
 * allocate and free at any heap size, coalesced as soon as freed. The bytes are drawn in
 * layout.ts and mid-layout.ts, the layers in docs/architecture.md.
 *
 * This file keeps the API: dispatch by size, the validation of pointers, attach, and the
 * whole-heap operations. Another agent may grow a shared store: each layer notices it where it
 * follows a link (core.ts, `refreshIfStale`), so the fast paths pay nothing for it.
 */
import type { Allocator, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkPointerType, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, InvalidFreeError, InvalidRangeError, InvalidSizeError, OutOfMemoryError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import { copyBytes } from "./copy-bytes.js";
import type { WasmMemory } from "../memory/wasm-memory.js";
import { checkHeap } from "./check.js";
import { assertControl, formatControl, openControl, storeToAttach } from "./control.js";
import { HeapCore } from "./core.js";
import { installConcurrencyGuard, isSharedStore } from "./guard.js";
import type { HeapStats } from "./heap-stats.js";
import { heapStats } from "./inspect.js";
import { LargeBlocks } from "./large-blocks.js";
import { Block, Gauge, Layout, Word } from "./layout.js";
import { type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { writeHeapSpans } from "./walk.js";
import { Mid } from "./mid-layout.js";
import { MidBlockCache } from "./mid-cache.js";
import { MidSlabs } from "./mid-slabs.js";
import { SmallSlabs } from "./small-slabs.js";
import { TlsfBlocks } from "./tlsf.js";
import { readUtf8, utf8Length, writeUtf8z } from "./strings.js";

export type { HeapStats } from "./heap-stats.js";

export interface HeapOptions extends StoreOptions {
  /**
   * An existing store to format as a new heap: its contents are overwritten, or only its range
   * when it was wrapped with one (`ByteStore.wrap(memory, { start, end })`: the heap's offsets
   * are then relative to the range's base, `heap.base`, and it touches no byte outside it).
   */
  store?: ByteStore;
  /**
   * On a shared store, throw `ConcurrentUseError` when two agents call the heap at once (see
   * guard.ts); false for code that holds its own lock. Unshared stores never pay for it.
   * @defaultValue true
   */
  concurrencyGuard?: boolean;
}

/**
 * The general-purpose heap: `malloc`/`free`/`realloc` of any size, handing out byte offsets into
 * its store, with every piece of its state inside that store (so a Worker can attach to it and
 * its bytes can be saved and reopened). Small and mid sizes are slots of slabs, the rest TLSF
 * blocks and page spans; docs/architecture.md draws the layers.
 *
 * @example
 * ```ts
 * const heap = new Heap();                 // 64 KiB committed, growing up to 1 GiB
 * const p = heap.malloc(100);              // an offset; 0 would mean out of memory
 * heap.f64[p >>> 3] = 3.14;                // read and write through the store's views
 * heap.free(p);
 * heap.check();                            // walks every structure; throws on corruption
 * ```
 */
export class Heap extends HeapCore implements Allocator {
  readonly name = "heap";
  /** Largest request accepted; larger sizes are an `InvalidSizeError`. */
  readonly maxRequestBytes: number;
  /** The lowest offset a block can have. */
  private readonly firstPayload: number;
  private readonly tlsf: TlsfBlocks;
  private readonly small: SmallSlabs;
  private readonly mid: MidSlabs;
  private readonly large: LargeBlocks;
  private readonly cache: MidBlockCache;
  /** The store `attach` is opening (so the constructor reads its heap instead of formatting one). */
  private static opening: ByteStore | undefined;

  /**
   * A new heap, by default on a reserved store: one plain ArrayBuffer of the whole reservation
   * (1 GiB unless `maxBytes` says otherwise), committed from 64 KiB as the heap grows, never
   * moved by growth; untouched pages cost no memory. Views stay valid across growth and are
   * detached only by `trim` (see `generation`; store.ts says what views do on each kind).
   */
  constructor(options: HeapOptions = {}) {
    const store = options.store ?? ByteStore.create({ ...options, kind: options.kind ?? "reserved" });
    const attach = Heap.opening === store;
    Heap.opening = undefined;
    super(store, attach ? openControl(store) : formatControl(store));
    this.tlsf = new TlsfBlocks(this);
    this.cache = new MidBlockCache(this, this.tlsf);
    this.small = new SmallSlabs(this, this.tlsf);
    this.mid = new MidSlabs(this, this.tlsf, this.cache);
    this.large = new LargeBlocks(this, this.tlsf, this.cache);
    this.tlsf.beforeGrowth = (size) => this.cache.flush() || (size >= Layout.LARGE_MIN_BYTES && this.mid.releaseSpareAtTop());
    this.firstPayload = this.heapStart + Layout.HEADER_BYTES;
    this.maxRequestBytes = Math.max(0, store.reservedBytes - this.heapStart - 2 * Layout.SLAB_PAGE_BYTES);
    if (options.concurrencyGuard !== false && isSharedStore(store)) installConcurrencyGuard(this, store);
  }

  /**
   * Reopens a heap that lives in `backing` (in a Worker, or after saving its bytes); a heap made
   * on a range of the buffer with `{ start }`, the range's start (its control block records
   * the end). A store that holds no heap there, or one of another layout version, is an
   * `InvalidStoreError`, and the store is left as it was.
   */
  static attach(backing: ArrayBuffer | SharedArrayBuffer | WasmMemory | ByteStore, options: { start?: number; concurrencyGuard?: boolean } = {}): Heap {
    const { start, concurrencyGuard } = options;
    if (backing instanceof ByteStore && start !== undefined) {
      throw new InvalidRangeError(start, "Heap.attach takes a start with a buffer or WebAssembly.Memory, not with a ByteStore (which has its range)");
    }
    const store = backing instanceof ByteStore ? backing : storeToAttach(backing, start);
    Heap.opening = store;
    try {
      return new Heap({ store, concurrencyGuard });
    } finally {
      Heap.opening = undefined;
    }
  }

  // ---- Views -------------------------------------------------------------------------------
  // Views of the whole store, indexed by offset / element size (`heap.f64[p / 8]`). They are
  // the store's, remade on growth: read them from the heap after a call that may grow it,
  // rather than keeping one (store.ts says what an old one does on each kind of store). On a
  // range of a buffer they are views of the range: they start at `base`.

  /**
   * Where the heap's offsets start in its buffer: 0, or the base of its range (its start
   * rounded up to 16). Code that uses the whole buffer (WASM, `new Float64Array(memory.buffer,
   * heap.base + p, n)`) adds it to an offset; the heap's views and calls do not.
   */
  get base(): number { return this.store.base; }
  get u8(): Uint8Array { return this.store.u8; }
  get i8(): Int8Array { return this.store.i8; }
  get u16(): Uint16Array { return this.store.u16; }
  get i16(): Int16Array { return this.store.i16; }
  get u32(): Uint32Array { return this.store.u32; }
  get i32(): Int32Array { return this.store.i32; }
  get f32(): Float32Array { return this.store.f32; }
  get f64(): Float64Array { return this.store.f64; }
  get i64(): BigInt64Array { return this.store.i64; }
  get u64(): BigUint64Array { return this.store.u64; }

  /**
   * Changes exactly when the heap's views are remade. A typed array from `view` or `mallocAs`
   * made before a change may be detached (after `trim` on the default store, after growth on
   * WASM) or short: make it again. Growth on the default store does not change it.
   */
  get generation(): number {
    return this.store.generation;
  }

  /**
   * A typed view of one block (`length` elements, by default as many as fit), when a caller
   * wants one. It is a convenience: offsets into the heap's views stay the fast path, and the
   * view is of the current buffer (see `generation`).
   */
  view<T extends TypedArrayCtor>(ptr: number, ctor: T, length?: number): InstanceType<T> {
    const usable = this.usableSize(ptr);
    if (ptr % ctor.BYTES_PER_ELEMENT !== 0) throw new InvalidFreeError(ptr, `not aligned for ${ctor.name}`);
    const count = length ?? Math.floor(usable / ctor.BYTES_PER_ELEMENT);
    if (count * ctor.BYTES_PER_ELEMENT > usable) throw new InvalidSizeError(length, `exceeds the block's ${usable} usable bytes`);
    return this.arrayAt(ctor, ptr, count);
  }

  /** `count` elements of `Type` at the heap's offset ptr, over the current buffer (a range heap's offsets start at `base`). */
  private arrayAt<T extends TypedArrayCtor>(Type: T, ptr: number, count: number): InstanceType<T> {
    return new Type(this.store.buffer as ArrayBuffer, this.store.base + ptr, count) as InstanceType<T>;
  }

  /**
   * A block of `count` elements of `Type` (`Float64Array`, `BigInt64Array`, ...), as a typed
   * array over it; its `byteOffset` minus `base` (0 but on a range) is the offset to `free`. Throws
   * `OutOfMemoryError` rather than returning 0. The view is of the current buffer (see
   * `generation`).
   */
  mallocAs<T extends TypedArrayCtor>(Type: T, count: number): InstanceType<T> {
    checkSize(count, Math.floor(this.maxRequestBytes / Type.BYTES_PER_ELEMENT));
    return this.arrayAt(Type, this.mallocOrThrow(count * Type.BYTES_PER_ELEMENT), count);
  }

  /** Like `mallocAs`, with the elements zeroed. */
  callocAs<T extends TypedArrayCtor>(Type: T, count: number): InstanceType<T> {
    const array = this.mallocAs(Type, count);
    const ptr = array.byteOffset - this.store.base;
    this.store.u8.fill(0, ptr, ptr + array.byteLength);
    return array;
  }

  /** `s` as UTF-8 in a new block, followed by a 0 byte (as C and WASM code expect); its offset. */
  allocString(s: string): number {
    const bytes = utf8Length(s);
    const ptr = this.mallocOrThrow(bytes + 1);
    writeUtf8z(this.store.u8, ptr, s, bytes);
    return ptr;
  }

  /**
   * The UTF-8 string at ptr, a live block: `length` bytes, or by default up to its first 0 byte
   * (or the end of what was requested for it).
   */
  readString(ptr: number, length?: number): string {
    const requested = this.requestedSize(ptr);
    if (length !== undefined) checkSize(length, requested);
    return readUtf8(this.store.u8, ptr, ptr + (length ?? requested), length === undefined);
  }

  /**
   * The heap's root: one offset the heap keeps for its user (0 when unset), so that an agent
   * that attaches to the heap can find the program's top structure (PMDK's `pmemobj_root`).
   * Set it to a live block (or 0); freeing that block does not clear it.
   */
  get root(): number { return this.store.u32[Word.ROOT]!; }
  set root(ptr: number) {
    if (ptr !== 0) this.usableSize(ptr);
    this.store.u32[Word.ROOT] = ptr;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /** Allocates `size` bytes aligned to `align` (8 by default). Returns 0 when out of memory. */
  malloc(size: number, align?: number): number {
    // typeof first: `>>>` of a BigInt throws a plain TypeError (mallocGeneric gives a typed one).
    // align has no default value: one lengthens the bytecode (small-slabs.ts says why that counts).
    if (typeof size === "number" && size >>> 0 === size && (align === undefined || align === Layout.GRANULE)) {
      if (size <= Layout.SMALL_MAX_BYTES) return this.small.malloc(size, this.words);
      if (size <= Mid.MAX_BYTES) return this.mid.malloc(size);
    }
    return this.mallocGeneric(size, align);
  }

  /** Like `malloc`, but throws `OutOfMemoryError` instead of returning 0. */
  mallocOrThrow(size: number, align: number = Layout.GRANULE): number {
    const ptr = this.malloc(size, align);
    if (ptr === 0) throw new OutOfMemoryError(size, this.store.reservedBytes);
    return ptr;
  }

  /** `count * size` zeroed bytes, or 0. */
  calloc(count: number, size: number): number {
    checkSize(count, Number.MAX_SAFE_INTEGER);
    checkSize(size, this.maxRequestBytes);
    const total = count * size;
    checkSize(total, this.maxRequestBytes);
    const ptr = this.malloc(total);
    if (ptr !== 0) this.store.u8.fill(0, ptr, ptr + total);
    return ptr;
  }

  private mallocGeneric(size: number, align: number = Layout.GRANULE): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, Layout.MAX_ALIGN);
    if (size <= Layout.SMALL_MAX_BYTES && align <= Layout.GRANULE) return this.small.malloc(size, this.words);
    if (size > Layout.SMALL_MAX_BYTES && size <= Mid.MAX_BYTES && align <= Mid.SLOT_ALIGN) return this.mid.malloc(size, align);
    return this.large.malloc(size, align);
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block; `free(0)` does nothing, as in C. Anything else that is not a live block
   * throws `InvalidFreeError` or `DoubleFreeError` and leaves the heap unchanged.
   */
  free(ptr: number): void {
    let words = this.words;
    // (ptr & -8) >>> 0 is ptr only for an 8-aligned uint32. Below the views' end is enough here:
    // page bits are set only for slabs, all below top.
    if (typeof ptr !== "number" || (ptr & -8) >>> 0 !== ptr || ptr < this.firstPayload || ptr >>> 2 >= words.length) {
      if (ptr === 0) return;
      words = this.checkedWords(ptr);
    }
    if (((words[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0) this.small.free(ptr, words);
    else this.freeMidOrLarge(ptr);
  }

  /** The views, remade if ptr may lie in what another agent grew, after checking ptr is in the heap. */
  private checkedWords(ptr: number): Uint32Array {
    const words = this.freshWords();
    this.checkPointerRange(ptr);
    return words;
  }

  private freeMidOrLarge(p: number): void {
    this.refreshIfStale(); // the page table's leaf and descriptor may lie beyond the views
    const d = this.mid.descriptorOf(p);
    if (d !== 0) this.mid.free(p, d);
    else if (!this.large.free(p)) this.refuseFree(p);
  }

  /** Throws the error that fits a free of p that the large-block layer refused. */
  private refuseFree(p: number): never {
    this.checkPointerRange(p);
    this.large.usedBlockSize(p);
    throw new InvalidFreeError(p);
  }

  // ---- Resize and query --------------------------------------------------------------------

  /**
   * Resizes a live block to `size` bytes. In place when shrinking or when the next block (or
   * the wilderness) has room; otherwise moves it. Returns the block's offset, or 0 when out of
   * memory (the old block is then untouched). `realloc(0, size)` is `malloc(size)`.
   */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    this.refreshIfStale();
    checkSize(size, this.maxRequestBytes);
    this.checkPointerRange(ptr);
    if (this.small.holds(ptr)) {
      return this.small.resize(ptr, size) >= 0 ? ptr : this.moveBlock(ptr, this.small.requestedAt(ptr), size);
    }
    const d = this.mid.descriptorOf(ptr);
    if (d !== 0) return this.mid.resize(ptr, d, size) >= 0 ? ptr : this.moveBlock(ptr, this.mid.requestedAt(ptr, d), size);
    let old = this.large.resize(ptr, size); // the old request, or -1: it must move
    const q = old >= 0 ? ptr : this.moveBlock(ptr, (old = this.large.requestedAt(ptr)), size, true);
    if (q !== 0 && size > old) this.large.noteGrowth(q, old, size);
    return q;
  }

  /**
   * realloc's move: a new block (one a freed large block's kept hole may take: tlsf.ts), the bytes
   * copied, the old block freed (`large`: a TLSF block of its own, whose space is not kept: the
   * buffer that left it lives on, now larger, and smaller blocks should fill it).
   */
  private moveBlock(ptr: number, oldRequested: number, size: number, large = false): number {
    const moved = size > Mid.MAX_BYTES ? this.large.malloc(size, Layout.GRANULE, true) : this.malloc(size);
    if (moved === 0) return 0;
    copyBytes(this.store, moved, ptr, Math.min(oldRequested, size));
    if (large) this.large.free(ptr, false);
    else this.free(ptr);
    return moved;
  }

  /** Bytes requested for a live block (what malloc or realloc was asked for). */
  requestedSize(ptr: number): number {
    this.refreshIfStale();
    this.checkPointerRange(ptr);
    if (this.small.holds(ptr)) return this.small.requestedAt(ptr);
    const d = this.mid.descriptorOf(ptr);
    return d === 0 ? this.large.requestedAt(ptr) : this.mid.requestedAt(ptr, d);
  }

  /** Bytes usable in a live block (at least what was requested). */
  usableSize(ptr: number): number {
    this.refreshIfStale();
    this.checkPointerRange(ptr);
    if (this.small.holds(ptr)) {
      this.small.requestedAt(ptr);
      return this.small.slotBytesAt(ptr);
    }
    const d = this.mid.descriptorOf(ptr);
    return d === 0 ? this.large.usableAt(ptr) : this.mid.usableAt(ptr, d);
  }

  // ---- Pointer validation (never mutates) --------------------------------------------------

  private checkPointerRange(ptr: number): void {
    checkPointerType(ptr);
    const top = this.top;
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= top) {
      if (ptr >>> 0 === ptr && (ptr & 7) !== 0) throw new InvalidFreeError(ptr, "not 8-byte aligned, so not a block this heap handed out");
      if (this.isFreedAboveTop(ptr)) throw new DoubleFreeError(ptr, " (its memory went back to the top of the heap)");
      throw new InvalidFreeError(ptr, `outside the heap's blocks [${this.firstPayload}, ${top})`);
    }
  }

  /** A block freed at the top joined the wilderness; its header still says it was freed. */
  private isFreedAboveTop(ptr: number): boolean {
    const words = this.store.u32;
    if (!(ptr >>> 0 === ptr && ptr >= this.top + Layout.HEADER_BYTES && ptr < words.length * 4)) return false;
    const word = words[(ptr + Block.SIZE) >>> 2]!;
    return (word & Layout.FREE_BIT) !== 0 && this.tlsf.isFreeTagged(ptr, word & Layout.SIZE_MASK);
  }

  // ---- Whole-heap operations ---------------------------------------------------------------

  /**
   * Gives committed memory above the extent back to the system, where the store can shrink;
   * returns the bytes released. On the default store this moves the heap to a fresh buffer
   * (a copy of the bytes below the extent): views made before are detached, and `generation`
   * changes.
   */
  trim(): number {
    this.refreshIfStale();
    this.cache.flush(); // cached blocks at the top would keep their pages
    const released = this.store.shrink(this.top);
    this.adoptViews();
    return released;
  }

  /**
   * Frees every block at once: the heap is as new on the same store (its stats start over, its
   * committed memory stays until `trim`). Offsets handed out before are invalid afterwards.
   */
  freeAll(): void {
    this.adoptViews();
    formatControl(this.store);
    this.store.u32[Word.SECRET] = this.secret; // the check words keep their key
    this.adoptViews();
  }

  stats(): HeapStats {
    this.adoptViews();
    assertControl(this.store);
    return heapStats(this.store, this.tlsf.largestFreeBlock());
  }

  check(): void {
    this.adoptViews();
    checkHeap(this.store);
  }

  /** See walk.ts: a range walk starts at the nearest slab at or below `start`. */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    this.adoptViews();
    assertControl(this.store);
    writeHeapSpans(this.store, sink);
  }
}

type TypedArrayCtor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

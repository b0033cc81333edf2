/**
 * `Heap`: the general-purpose allocator, in layers that share one core (core.ts: the store, its
 * views, the live-byte accounting). Small requests (0..256 bytes) are slots in one-page slabs
 * (small-slabs.ts); requests of 257..4080 bytes are slots in 16 KiB mid slabs whose bookkeeping
 * sits in dense descriptors apart from the slabs (mid-slabs.ts); everything else is a block of
 * its own (large-blocks.ts). Slabs and blocks all come from the TLSF layer (tlsf.ts), O(1) to
 * allocate and free at any heap size, coalesced as soon as freed. The bytes are drawn in
 * layout.ts and mid-layout.ts, the layers in docs/architecture.md.
 *
 * This file keeps the API: dispatch by size, the validation of pointers, attach, and the
 * whole-heap operations. Every operation first checks that the store's views still reach the
 * heap's top (another agent may have grown a shared store), one compare on a hot word.
 */
import type { Allocator, BlockInfo } from "../allocator.js";
import { checkAlign, checkPointerType, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, InvalidFreeError, InvalidSizeError, OutOfMemoryError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import { checkHeap } from "./check.js";
import { assertControl, formatControl, openControl } from "./control.js";
import { HeapCore } from "./core.js";
import { installConcurrencyGuard, isSharedStore } from "./guard.js";
import type { HeapStats } from "./heap-stats.js";
import { heapStats, walkHeap } from "./inspect.js";
import { LargeBlocks } from "./large-blocks.js";
import { Block, Gauge, Layout, Word } from "./layout.js";
import { Mid } from "./mid-layout.js";
import { MidSlabs } from "./mid-slabs.js";
import { SmallSlabs } from "./small-slabs.js";
import { TlsfBlocks } from "./tlsf.js";

export type { HeapStats } from "./heap-stats.js";

export interface HeapOptions extends StoreOptions {
  /** An existing store to format as a new heap (its contents are overwritten). */
  store?: ByteStore;
  /**
   * On a shared store, throw `ConcurrentUseError` when two agents call the heap at once (see
   * guard.ts); false for code that holds its own lock. Unshared stores never pay for it.
   * @defaultValue true
   */
  concurrencyGuard?: boolean;
}

export class Heap implements Allocator {
  readonly name = "heap";
  readonly store: ByteStore;
  /** Largest request accepted; larger sizes are an `InvalidSizeError`. */
  readonly maxRequestBytes: number;
  /** The lowest offset a block can have. */
  private readonly firstPayload: number;
  private readonly core: HeapCore;
  private readonly tlsf: TlsfBlocks;
  private readonly small: SmallSlabs;
  private readonly mid: MidSlabs;
  private readonly large: LargeBlocks;
  /** The store `attach` is opening (so the constructor reads its heap instead of formatting one). */
  private static opening: ByteStore | undefined;

  /** A new heap, by default on a resizable ArrayBuffer growing from 64 KiB up to 1 GiB. */
  constructor(options: HeapOptions = {}) {
    const store = options.store ?? ByteStore.create(options);
    const attach = Heap.opening === store;
    Heap.opening = undefined;
    this.store = store;
    this.core = new HeapCore(store, attach ? openControl(store) : formatControl(store));
    this.tlsf = new TlsfBlocks(this.core);
    this.small = new SmallSlabs(this.core, this.tlsf);
    this.mid = new MidSlabs(this.core, this.tlsf);
    this.large = new LargeBlocks(this.core, this.tlsf);
    this.firstPayload = this.core.heapStart + Layout.HEADER_BYTES;
    this.maxRequestBytes = Math.max(0, store.reservedBytes - this.core.heapStart - 2 * Layout.SLAB_PAGE_BYTES);
    if (options.concurrencyGuard !== false && isSharedStore(store)) installConcurrencyGuard(this, store);
  }

  /**
   * Reopens a heap that lives in `backing` (in a Worker, or after saving its bytes). A store
   * that holds no heap, or one of another layout version, is an `InvalidStoreError`, and the
   * store is left as it was.
   */
  static attach(backing: ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory | ByteStore, options: { concurrencyGuard?: boolean } = {}): Heap {
    const store = backing instanceof ByteStore ? backing : ByteStore.wrap(backing);
    Heap.opening = store;
    try {
      return new Heap({ store, ...options });
    } finally {
      Heap.opening = undefined;
    }
  }

  /** The heap's extent: the end of the highest block (its `brk`). */
  get top(): number {
    return this.core.top;
  }

  // ---- Views -------------------------------------------------------------------------------
  /** Views of the whole store; re-read them after any call that may grow the heap. */
  get u8(): Uint8Array { return this.store.u8; }
  get u32(): Uint32Array { return this.store.u32; }
  get i32(): Int32Array { return this.store.i32; }
  get f64(): Float64Array { return this.store.f64; }

  /** A typed view of one block, when a caller wants one (most code should use offsets). */
  view<T extends TypedArrayCtor>(ptr: number, ctor: T, length?: number): InstanceType<T> {
    const usable = this.usableSize(ptr);
    if (ptr % ctor.BYTES_PER_ELEMENT !== 0) throw new InvalidFreeError(ptr, `not aligned for ${ctor.name}`);
    const count = length ?? Math.floor(usable / ctor.BYTES_PER_ELEMENT);
    if (count * ctor.BYTES_PER_ELEMENT > usable) throw new InvalidSizeError(length, `exceeds the block's ${usable} usable bytes`);
    return new ctor(this.store.buffer as ArrayBuffer, ptr, count) as InstanceType<T>;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /** Allocates `size` bytes aligned to `align` (8 by default). Returns 0 when out of memory. */
  malloc(size: number, align: number = Layout.GRANULE): number {
    const words = this.store.u32;
    if (!(words[Word.TOP]! <= words.length * 4)) this.store.refresh();
    if (typeof size === "number" && size >>> 0 === size && align === Layout.GRANULE) {
      if (size <= Layout.SMALL_MAX_BYTES) return this.small.malloc(size);
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

  private mallocGeneric(size: number, align: number): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, Layout.MAX_ALIGN);
    if (size <= Layout.SMALL_MAX_BYTES && align <= Layout.GRANULE) return this.small.malloc(size);
    if (size > Layout.SMALL_MAX_BYTES && size <= Mid.MAX_BYTES && align <= Mid.SLOT_ALIGN) return this.mid.malloc(size);
    return this.large.malloc(size, align);
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block; `free(0)` does nothing, as in C. Anything else that is not a live block
   * throws `InvalidFreeError` or `DoubleFreeError` and leaves the heap unchanged.
   */
  free(ptr: number): void {
    let words = this.store.u32;
    if (!(words[Word.TOP]! <= words.length * 4)) words = this.refreshedWords();
    // Below the views' end is enough here: page bits are set only for slabs, all below top.
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >>> 2 >= words.length) {
      if (ptr === 0) return;
      this.checkPointerRange(ptr);
    }
    if (((words[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0) this.small.free(ptr, words);
    else this.freeMidOrLarge(ptr, this.mid.descriptorOf(ptr));
  }

  private freeMidOrLarge(p: number, d: number): void {
    if (d !== 0) this.mid.free(p, d);
    else if (!this.large.free(p)) this.refuseFree(p);
  }

  /** Throws the error that fits a free of p that the large-block layer refused. */
  private refuseFree(p: number): never {
    this.checkPointerRange(p);
    this.large.usedBlockSize(p);
    throw new InvalidFreeError(p);
  }

  private refreshedWords(): Uint32Array {
    this.store.refresh();
    return this.store.u32;
  }

  // ---- Resize and query --------------------------------------------------------------------

  /**
   * Resizes a live block to `size` bytes. In place when shrinking or when the next block (or
   * the wilderness) has room; otherwise moves it. Returns the block's offset, or 0 when out of
   * memory (the old block is then untouched). `realloc(0, size)` is `malloc(size)`.
   */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    this.core.refreshIfStale();
    checkSize(size, this.maxRequestBytes);
    this.checkPointerRange(ptr);
    if (this.small.holds(ptr)) {
      return this.small.resize(ptr, size) >= 0 ? ptr : this.moveBlock(ptr, this.small.requestedAt(ptr), size);
    }
    const d = this.mid.descriptorOf(ptr);
    if (d !== 0) return this.mid.resize(ptr, d, size) >= 0 ? ptr : this.moveBlock(ptr, this.mid.requestedAt(ptr, d), size);
    return this.large.resize(ptr, size) >= 0 ? ptr : this.moveBlock(ptr, this.large.requestedAt(ptr), size);
  }

  private moveBlock(ptr: number, oldRequested: number, size: number): number {
    const moved = this.malloc(size);
    if (moved === 0) return 0;
    this.store.u8.copyWithin(moved, ptr, ptr + Math.min(oldRequested, size));
    this.free(ptr);
    return moved;
  }

  /** Bytes usable in a live block (at least what was requested). */
  usableSize(ptr: number): number {
    this.core.refreshIfStale();
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
    const top = this.core.top;
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= top) {
      if (ptr >>> 0 === ptr && (ptr & 7) !== 0) throw new InvalidFreeError(ptr, "not 8-byte aligned, so not a block this heap handed out");
      if (this.isFreedAboveTop(ptr)) throw new DoubleFreeError(ptr, " (its memory went back to the top of the heap)");
      throw new InvalidFreeError(ptr, `outside the heap's blocks [${this.firstPayload}, ${top})`);
    }
  }

  /** A block freed at the top joined the wilderness; its header still says it was freed. */
  private isFreedAboveTop(ptr: number): boolean {
    const words = this.store.u32;
    if (!(ptr >>> 0 === ptr && ptr >= this.core.top + Layout.HEADER_BYTES && ptr < words.length * 4)) return false;
    const word = words[(ptr + Block.SIZE) >>> 2]!;
    return (word & Layout.FREE_BIT) !== 0 && this.tlsf.isFreeTagged(ptr, word & Layout.SIZE_MASK);
  }

  // ---- Whole-heap operations ---------------------------------------------------------------

  /** Gives committed memory above the extent back to the system, where the store can shrink. */
  trim(): number {
    this.core.refreshIfStale();
    return this.store.shrink(this.core.top);
  }

  stats(): HeapStats {
    this.store.refresh();
    assertControl(this.store);
    return heapStats(this.store, this.tlsf.largestFreeBlock());
  }

  check(): void {
    this.store.refresh();
    checkHeap(this.store);
  }

  walk(): IterableIterator<BlockInfo> {
    assertControl(this.store);
    return walkHeap(this.store);
  }
}

type TypedArrayCtor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

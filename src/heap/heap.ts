/**
 * `Heap`: the general-purpose allocator. Small requests (0..256 bytes) are slots in one-page
 * slabs, one size class per 8 bytes, with no per-block header (the mimalloc/tcmalloc way);
 * everything else is a TLSF block (tlsf.ts), O(1) to allocate and free at any heap size;
 * requests of 256 KiB or more are whole-page spans. The bytes are drawn in layout.ts.
 *
 * Slab invariants (checked by check.ts), for each slab s of class c:
 *   live(s) + |free list(s)| + neverUsed(s) == capacity(c)
 *   nibble(i) != 0  <=>  slot i is live;    s in partial list(c)  <=>  live(s) < capacity(c)
 *   page bit(page of s) == 1  <=>  s is a slab;  slot, first, recip, capacity == those of c
 *   live blocks == mallocs - frees
 *
 * Fast path: `malloc` of a small size pops a slot from the head slab of its class, `free`
 * pushes one back; everything else (a new slab, TLSF, growth, bad input) is the slow path.
 */
import type { Allocator, AllocatorStats, BlockInfo } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, InvalidFreeError, InvalidStoreError, InvalidSizeError, OutOfMemoryError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import { checkHeap } from "./check.js";
import { heapStats, walkHeap } from "./inspect.js";
import { blockSizeFor, Gauge, Layout, maxSlackFor, roundUp8, SLAB_CLASSES, SlabWord, smallClassOf, Word } from "./layout.js";
import { TlsfBlocks } from "./tlsf.js";

export interface HeapOptions extends StoreOptions {
  /** An existing store to format as a new heap (its contents are overwritten). */
  store?: ByteStore;
}


export class Heap extends TlsfBlocks implements Allocator {
  readonly name = "heap";
  /** Largest request accepted; larger sizes are an `InvalidSizeError`. */
  readonly maxRequestBytes: number;
  /** The lowest offset a block can have. */
  private readonly firstPayload: number;

  /** A new heap, by default on a resizable ArrayBuffer growing from 64 KiB up to 1 GiB. */
  constructor(options: HeapOptions = {}) {
    const store = options.store ?? ByteStore.create(options);
    super(store, (store as AttachMark)[attaching] ? openControl(store) : formatControl(store));
    delete (store as AttachMark)[attaching];
    this.firstPayload = this.heapStart + Layout.HEADER_BYTES;
    this.maxRequestBytes = Math.max(0, store.reservedBytes - this.heapStart - 2 * Layout.SLAB_PAGE_BYTES);
  }

  /** Reopens a heap that lives in `backing` (in a Worker, or after saving its bytes). */
  static attach(backing: ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory | ByteStore): Heap {
    const store = backing instanceof ByteStore ? backing : ByteStore.wrap(backing);
    (store as AttachMark)[attaching] = true;
    return new Heap({ store });
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
    if (size <= Layout.SMALL_MAX_BYTES && align === Layout.GRANULE && size >>> 0 === size) return this.mallocSmall(size);
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

  /** A slot of the size's class (`malloc(0)` gets a unique 8-byte slot, as in C). */
  private mallocSmall(size: number): number {
    const c = smallClassOf(size);
    let s = this.words[Word.SLAB_HEADS + c]!;
    if (s === 0 && (s = this.newSlab(c)) === 0) return 0;
    const words = this.words;
    const h = s >>> 2;
    const slotBytes = words[h + SlabWord.SLOT_BYTES]!;
    let slot = words[h + SlabWord.FREE]!;
    if (slot !== 0) {
      words[h + SlabWord.FREE] = words[slot >>> 2]!;
    } else {
      slot = words[h + SlabWord.BUMP]!;
      words[h + SlabWord.BUMP] = slot + slotBytes;
    }
    const live = words[h + SlabWord.LIVE]! + 1;
    words[h + SlabWord.LIVE] = live;
    if (live === words[h + SlabWord.CAPACITY]) this.unlinkSlab(s, c);
    const i = ((slot - words[h + SlabWord.FIRST]!) * words[h + SlabWord.RECIP]!) >>> Layout.RECIP_SHIFT;
    words[h + SlabWord.NIBBLES + (i >>> 3)]! |= (1 + slotBytes - size) << ((i & 7) << 2);
    this.countMalloc(size, slotBytes - size);
    return slot;
  }

  private mallocGeneric(size: number, align: number): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, Layout.MAX_ALIGN);
    if (size <= Layout.SMALL_MAX_BYTES && align <= Layout.GRANULE) return this.mallocSmall(size);
    const blockSize = blockSizeFor(size);
    const p = this.allocBlock(blockSize, size, align, 0);
    if (p === 0) return 0;
    this.countMalloc(size, this.sizeOf(p) - Layout.HEADER_BYTES - size);
    return p;
  }

  private countMalloc(size: number, rounding: number): void {
    const f64 = this.doubles;
    const liveBytes = f64[Gauge.LIVE_BYTES]! + size;
    f64[Gauge.LIVE_BYTES] = liveBytes;
    if (liveBytes > f64[Gauge.PEAK_LIVE_BYTES]!) f64[Gauge.PEAK_LIVE_BYTES] = liveBytes;
    f64[Gauge.ROUNDING_BYTES]! += rounding;
    f64[Gauge.MALLOC_COUNT]! += 1;
  }

  /** A resize in place is neither a malloc nor a free: takes back the counts it made. */
  private uncount(): void {
    this.doubles[Gauge.MALLOC_COUNT]! -= 1;
    this.doubles[Gauge.FREE_COUNT]! -= 1;
  }

  private countFree(size: number, rounding: number): void {
    const f64 = this.doubles;
    f64[Gauge.LIVE_BYTES]! -= size;
    f64[Gauge.ROUNDING_BYTES]! -= rounding;
    f64[Gauge.FREE_COUNT]! += 1;
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block; `free(0)` does nothing, as in C. Anything else that is not a live block
   * throws `InvalidFreeError` or `DoubleFreeError` and leaves the heap unchanged.
   */
  free(ptr: number): void {
    const words = this.words;
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= words[Word.TOP]!) {
      if (ptr === 0) return;
      this.checkPointerRange(ptr);
    }
    if (((words[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) === 0) {
      this.freeLarge(ptr);
      return;
    }
    const s = ptr - (ptr & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
    const h = s >>> 2;
    const slotBytes = words[h + SlabWord.SLOT_BYTES]!;
    const i = this.slotIndex(ptr, s);
    const nibbleWord = h + SlabWord.NIBBLES + (i >>> 3);
    const shift = (i & 7) << 2;
    const nibble = (words[nibbleWord]! >>> shift) & 15;
    if (nibble === 0) throw new DoubleFreeError(ptr);
    words[nibbleWord]! &= ~(15 << shift);
    words[ptr >>> 2] = words[h + SlabWord.FREE]!;
    words[h + SlabWord.FREE] = ptr;
    const live = words[h + SlabWord.LIVE]! - 1;
    words[h + SlabWord.LIVE] = live;
    this.countFree(slotBytes + 1 - nibble, nibble - 1);
    if (live === words[h + SlabWord.CAPACITY]! - 1) this.linkSlab(s, words[h + SlabWord.CLASS]!);
    else if (live === 0 && (words[h + SlabWord.NEXT] !== 0 || words[h + SlabWord.PREV] !== 0)) this.releaseSlab(s);
  }

  private freeLarge(p: number): void {
    const size = this.usedBlockSize(p);
    const requested = this.requestedOf(p, size);
    this.countFree(requested, size - Layout.HEADER_BYTES - requested);
    this.freeBlock(p, size);
  }

  // ---- Resize and query --------------------------------------------------------------------

  /**
   * Resizes a live block to `size` bytes. In place when shrinking or when the next block (or
   * the wilderness) has room; otherwise moves it. Returns the block's offset, or 0 when out of
   * memory (the old block is then untouched). `realloc(0, size)` is `malloc(size)`.
   */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    checkSize(size, this.maxRequestBytes);
    this.checkPointerRange(ptr);
    if (this.isSlab(ptr)) return this.reallocSlot(ptr, size);
    const oldSize = this.usedBlockSize(ptr);
    const oldRequested = this.requestedOf(ptr, oldSize);
    const newSize = blockSizeFor(size);
    if (this.resizeInPlace(ptr, oldSize, newSize, size)) {
      this.countFree(oldRequested, oldSize - Layout.HEADER_BYTES - oldRequested);
      this.countMalloc(size, this.sizeOf(ptr) - Layout.HEADER_BYTES - size);
      this.uncount();
      return ptr;
    }
    return this.moveBlock(ptr, oldRequested, size);
  }

  private reallocSlot(p: number, size: number): number {
    const s = p - (p & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
    const words = this.words;
    const slotBytes = words[(s >>> 2) + SlabWord.SLOT_BYTES]!;
    const i = this.slotIndex(p, s);
    const nibbleWord = (s >>> 2) + SlabWord.NIBBLES + (i >>> 3);
    const shift = (i & 7) << 2;
    const nibble = (words[nibbleWord]! >>> shift) & 15;
    if (nibble === 0) throw new InvalidFreeError(p, "realloc of a freed block");
    const oldRequested = slotBytes + 1 - nibble;
    if (size > slotBytes || size + Layout.GRANULE <= slotBytes) return this.moveBlock(p, oldRequested, size);
    words[nibbleWord] = (words[nibbleWord]! & ~(15 << shift)) | ((1 + slotBytes - size) << shift);
    this.countFree(oldRequested, slotBytes - oldRequested);
    this.countMalloc(size, slotBytes - size);
    this.uncount();
    return p;
  }

  private moveBlock(ptr: number, oldRequested: number, size: number): number {
    const moved = this.malloc(size);
    if (moved === 0) return 0;
    const u8 = this.store.u8;
    u8.copyWithin(moved, ptr, ptr + Math.min(oldRequested, size));
    this.free(ptr);
    return moved;
  }

  /** Bytes usable in a live block (at least what was requested). */
  usableSize(ptr: number): number {
    this.checkPointerRange(ptr);
    if (!this.isSlab(ptr)) return this.usedBlockSize(ptr) - Layout.HEADER_BYTES;
    const s = ptr - (ptr & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
    const i = this.slotIndex(ptr, s);
    const nibble = (this.words[(s >>> 2) + SlabWord.NIBBLES + (i >>> 3)]! >>> ((i & 7) << 2)) & 15;
    if (nibble === 0) throw new InvalidFreeError(ptr, "the block is free");
    return this.words[(s >>> 2) + SlabWord.SLOT_BYTES]!;
  }

  // ---- Pointer validation (never mutates) --------------------------------------------------

  private checkPointerRange(ptr: number): void {
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= this.top) {
      if (ptr >>> 0 === ptr && (ptr & 7) !== 0) throw new InvalidFreeError(ptr, "not 8-byte aligned, so not a block this heap handed out");
      if (this.isFreedAboveTop(ptr)) throw new DoubleFreeError(ptr, " (its memory went back to the top of the heap)");
      throw new InvalidFreeError(ptr, `outside the heap's blocks [${this.firstPayload}, ${this.top})`);
    }
  }

  /** A block freed at the top joined the wilderness; its header still says it was freed. */
  private isFreedAboveTop(ptr: number): boolean {
    if (!(ptr >>> 0 === ptr && ptr >= this.top + Layout.HEADER_BYTES && ptr < this.store.committedBytes)) return false;
    const word = this.words[(ptr - 4) >>> 2]!;
    return (word & Layout.FREE_BIT) !== 0 && this.isFreeTagged(ptr, word & Layout.SIZE_MASK);
  }

  private isSlab(ptr: number): boolean {
    return ((this.words[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0;
  }

  /** Index of the slot at p in slab s, or an `InvalidFreeError` if p is not a handed-out slot. */
  private slotIndex(p: number, s: number): number {
    const words = this.words;
    const h = s >>> 2;
    const offset = p - words[h + SlabWord.FIRST]!;
    const i = (offset * words[h + SlabWord.RECIP]!) >>> Layout.RECIP_SHIFT;
    if (i * words[h + SlabWord.SLOT_BYTES]! !== offset || p >= words[h + SlabWord.BUMP]!) {
      throw new InvalidFreeError(p, `not the start of a slot in the ${words[h + SlabWord.SLOT_BYTES]}-byte slab at ${s - Layout.HEADER_BYTES}`);
    }
    return i;
  }

  /** Size of the used TLSF block at p, after checking its header is genuine. */
  private usedBlockSize(p: number): number {
    const word = this.words[(p - 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    const inRange = size >= Layout.MIN_BLOCK_BYTES && p - Layout.HEADER_BYTES + size <= this.top;
    if (word & Layout.FREE_BIT) {
      if (inRange && this.isFreeTagged(p, size)) throw new DoubleFreeError(p);
      throw new InvalidFreeError(p);
    }
    const usable = size - Layout.HEADER_BYTES;
    const requested = inRange ? this.requestedOf(p, size) : -1;
    if (!inRange || requested > usable || usable - requested > maxSlackFor(usable)) throw new InvalidFreeError(p);
    return size;
  }

  // ---- Slabs (slow path) -------------------------------------------------------------------

  private newSlab(c: number): number {
    const p = this.allocBlock(Layout.SLAB_PAGE_BYTES, Layout.SLAB_BLOCK_PAYLOAD, Layout.SLAB_PAGE_BYTES, Layout.HEADER_BYTES);
    if (p === 0) return 0;
    const words = this.words;
    const h = p >>> 2;
    const { slotBytes, capacity, firstSlot, recip } = SLAB_CLASSES[c]!;
    words.fill(0, h, (p + firstSlot) >>> 2);
    words[h + SlabWord.SLOT_BYTES] = slotBytes;
    words[h + SlabWord.BUMP] = p + firstSlot;
    words[h + SlabWord.FIRST] = p + firstSlot;
    words[h + SlabWord.RECIP] = recip;
    words[h + SlabWord.CAPACITY] = capacity;
    words[h + SlabWord.CLASS] = c;
    this.setPageBit(p, true);
    this.linkSlab(p, c);
    this.doubles[Gauge.SLAB_PAGES]! += 1;
    return p;
  }

  private releaseSlab(s: number): void {
    this.unlinkSlab(s, this.words[(s >>> 2) + SlabWord.CLASS]!);
    this.setPageBit(s, false);
    this.doubles[Gauge.SLAB_PAGES]! -= 1;
    this.freeBlock(s, this.sizeOf(s));
  }

  /** Pushes s on the partial list of class c. */
  private linkSlab(s: number, c: number): void {
    const u32 = this.words;
    const head = u32[Word.SLAB_HEADS + c]!;
    u32[(s >>> 2) + SlabWord.NEXT] = head;
    u32[(s >>> 2) + SlabWord.PREV] = 0;
    if (head !== 0) u32[(head >>> 2) + SlabWord.PREV] = s;
    u32[Word.SLAB_HEADS + c] = s;
  }

  private unlinkSlab(s: number, c: number): void {
    const u32 = this.words;
    const next = u32[(s >>> 2) + SlabWord.NEXT]!;
    const prev = u32[(s >>> 2) + SlabWord.PREV]!;
    if (next !== 0) u32[(next >>> 2) + SlabWord.PREV] = prev;
    if (prev !== 0) u32[(prev >>> 2) + SlabWord.NEXT] = next;
    else u32[Word.SLAB_HEADS + c] = next;
    u32[(s >>> 2) + SlabWord.NEXT] = 0;
    u32[(s >>> 2) + SlabWord.PREV] = 0;
  }

  private setPageBit(p: number, on: boolean): void {
    const word = Gauge.PAGE_MAP_WORD + (p >>> (Layout.PAGE_SHIFT + 5));
    const bit = 1 << ((p >>> Layout.PAGE_SHIFT) & 31);
    this.words[word] = on ? this.words[word]! | bit : this.words[word]! & ~bit;
  }

  // ---- Whole-heap operations ---------------------------------------------------------------

  /** Gives committed memory above the extent back to the system, where the store can shrink. */
  trim(): number {
    const released = this.store.shrink(this.top);
    this.adoptViews();
    return released;
  }

  stats(): HeapStats {
    return heapStats(this.store, this.largestFreeBlock());
  }

  check(): void {
    checkHeap(this.store);
  }

  walk(): IterableIterator<BlockInfo> {
    return walkHeap(this.store);
  }
}

export interface HeapStats extends AllocatorStats {
  slabPages: number;
}

type TypedArrayCtor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

const attaching = Symbol("attaching");
type AttachMark = { [attaching]?: boolean };

/** Writes an empty heap's control block; returns the first block's offset. */
function formatControl(store: ByteStore): number {
  const pageMapWords = Math.ceil(store.reservedBytes / Layout.SLAB_PAGE_BYTES / 32);
  const heapStart = roundUp8(Gauge.PAGE_MAP_OFFSET + pageMapWords * 4);
  const minimum = heapStart + Layout.SLAB_PAGE_BYTES;
  if (!store.grow(minimum)) {
    throw new InvalidStoreError(`a heap needs at least ${minimum} bytes in its store; this one has ${store.committedBytes} and cannot grow there`);
  }
  store.u8.fill(0, 0, heapStart);
  const u32 = store.u32;
  u32[Word.MAGIC] = Layout.MAGIC;
  u32[Word.VERSION] = Layout.VERSION;
  u32[Word.SECRET] = (Math.random() * 2 ** 32) >>> 0;
  u32[Word.HEAP_START] = heapStart;
  u32[Word.TOP] = heapStart;
  u32[Word.PAGE_MAP_WORDS] = pageMapWords;
  store.f64[Gauge.PEAK_TOP] = heapStart;
  return heapStart;
}

/** Validates an existing heap's control block; returns its first block's offset. */
function openControl(store: ByteStore): number {
  const u32 = store.u32;
  if (store.committedBytes < Gauge.PAGE_MAP_OFFSET || u32[Word.MAGIC] !== Layout.MAGIC) {
    throw new InvalidStoreError("this buffer does not hold a heapkit heap (no heap magic at offset 0)");
  }
  if (u32[Word.VERSION] !== Layout.VERSION) {
    throw new InvalidStoreError(`heap format version ${u32[Word.VERSION]} is not supported (this heapkit reads version ${Layout.VERSION})`);
  }
  return u32[Word.HEAP_START]!;
}

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
import {
  F_FREE_COUNT, F_LIVE_BYTES, F_MALLOC_COUNT, F_PEAK_LIVE_BYTES, F_PEAK_TOP, F_ROUNDING_BYTES, F_SLAB_PAGES,
  FREE_BIT, GRANULE, HEADER_BYTES, MAGIC, MAX_ALIGN, MIN_BLOCK_BYTES, PAGE_MAP_OFFSET, PAGE_SHIFT, RECIP_SHIFT,
  S_BUMP, S_CAPACITY, S_CLASS, S_FIRST, S_FREE, S_LIVE, S_NEXT, S_PREV, S_RECIP, S_SLOT_BYTES, SIZE_MASK,
  SLAB_BLOCK_PAYLOAD, SLAB_CLASSES, SLAB_HEADER_BYTES, SLAB_PAGE_BYTES, SMALL_MAX_BYTES, VERSION, W_HEAP_START,
  W_MAGIC, W_PAGE_MAP_WORDS, W_SECRET, W_SLAB_HEADS, W_TOP, W_VERSION, blockSizeFor, maxSlackFor, roundUp8,
  smallClassOf,
} from "./layout.js";
import { TlsfBlocks } from "./tlsf.js";

export interface HeapOptions extends StoreOptions {
  /** An existing store to format as a new heap (its contents are overwritten). */
  store?: ByteStore;
}

const PAGE_MASK = SLAB_PAGE_BYTES - 1;
const PAGE_MAP_WORD = PAGE_MAP_OFFSET >>> 2;
const NIBBLE_WORD = SLAB_HEADER_BYTES >>> 2;

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
    this.firstPayload = this.heapStart + HEADER_BYTES;
    this.maxRequestBytes = Math.max(0, store.reservedBytes - this.heapStart - 2 * SLAB_PAGE_BYTES);
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
  malloc(size: number, align: number = GRANULE): number {
    if (size <= SMALL_MAX_BYTES && align === GRANULE && size >>> 0 === size) return this.mallocSmall(size);
    return this.mallocGeneric(size, align);
  }

  /** Like `malloc`, but throws `OutOfMemoryError` instead of returning 0. */
  mallocOrThrow(size: number, align: number = GRANULE): number {
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
    let s = this.words[W_SLAB_HEADS + c]!;
    if (s === 0 && (s = this.newSlab(c)) === 0) return 0;
    const words = this.words;
    const h = s >>> 2;
    const slotBytes = words[h + S_SLOT_BYTES]!;
    let slot = words[h + S_FREE]!;
    if (slot !== 0) {
      words[h + S_FREE] = words[slot >>> 2]!;
    } else {
      slot = words[h + S_BUMP]!;
      words[h + S_BUMP] = slot + slotBytes;
    }
    const live = words[h + S_LIVE]! + 1;
    words[h + S_LIVE] = live;
    if (live === words[h + S_CAPACITY]) this.unlinkSlab(s, c);
    const i = ((slot - words[h + S_FIRST]!) * words[h + S_RECIP]!) >>> RECIP_SHIFT;
    words[h + NIBBLE_WORD + (i >>> 3)]! |= (1 + slotBytes - size) << ((i & 7) << 2);
    this.countMalloc(size, slotBytes - size);
    return slot;
  }

  private mallocGeneric(size: number, align: number): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, MAX_ALIGN);
    if (size <= SMALL_MAX_BYTES && align <= GRANULE) return this.mallocSmall(size);
    const blockSize = blockSizeFor(size);
    const p = this.allocBlock(blockSize, size, align, 0);
    if (p === 0) return 0;
    this.countMalloc(size, this.sizeOf(p) - HEADER_BYTES - size);
    return p;
  }

  private countMalloc(size: number, rounding: number): void {
    const f64 = this.doubles;
    const liveBytes = f64[F_LIVE_BYTES]! + size;
    f64[F_LIVE_BYTES] = liveBytes;
    if (liveBytes > f64[F_PEAK_LIVE_BYTES]!) f64[F_PEAK_LIVE_BYTES] = liveBytes;
    f64[F_ROUNDING_BYTES]! += rounding;
    f64[F_MALLOC_COUNT]! += 1;
  }

  /** A resize in place is neither a malloc nor a free: takes back the counts it made. */
  private uncount(): void {
    this.doubles[F_MALLOC_COUNT]! -= 1;
    this.doubles[F_FREE_COUNT]! -= 1;
  }

  private countFree(size: number, rounding: number): void {
    const f64 = this.doubles;
    f64[F_LIVE_BYTES]! -= size;
    f64[F_ROUNDING_BYTES]! -= rounding;
    f64[F_FREE_COUNT]! += 1;
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block; `free(0)` does nothing, as in C. Anything else that is not a live block
   * throws `InvalidFreeError` or `DoubleFreeError` and leaves the heap unchanged.
   */
  free(ptr: number): void {
    const words = this.words;
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= words[W_TOP]!) {
      if (ptr === 0) return;
      this.checkPointerRange(ptr);
    }
    if (((words[PAGE_MAP_WORD + (ptr >>> (PAGE_SHIFT + 5))]! >>> ((ptr >>> PAGE_SHIFT) & 31)) & 1) === 0) {
      this.freeLarge(ptr);
      return;
    }
    const s = ptr - (ptr & PAGE_MASK) + HEADER_BYTES;
    const h = s >>> 2;
    const slotBytes = words[h + S_SLOT_BYTES]!;
    const i = this.slotIndex(ptr, s);
    const nibbleWord = h + NIBBLE_WORD + (i >>> 3);
    const shift = (i & 7) << 2;
    const nibble = (words[nibbleWord]! >>> shift) & 15;
    if (nibble === 0) throw new DoubleFreeError(ptr);
    words[nibbleWord]! &= ~(15 << shift);
    words[ptr >>> 2] = words[h + S_FREE]!;
    words[h + S_FREE] = ptr;
    const live = words[h + S_LIVE]! - 1;
    words[h + S_LIVE] = live;
    this.countFree(slotBytes + 1 - nibble, nibble - 1);
    if (live === words[h + S_CAPACITY]! - 1) this.linkSlab(s, words[h + S_CLASS]!);
    else if (live === 0 && (words[h + S_NEXT] !== 0 || words[h + S_PREV] !== 0)) this.releaseSlab(s);
  }

  private freeLarge(p: number): void {
    const size = this.usedBlockSize(p);
    const requested = this.requestedOf(p, size);
    this.countFree(requested, size - HEADER_BYTES - requested);
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
      this.countFree(oldRequested, oldSize - HEADER_BYTES - oldRequested);
      this.countMalloc(size, this.sizeOf(ptr) - HEADER_BYTES - size);
      this.uncount();
      return ptr;
    }
    return this.moveBlock(ptr, oldRequested, size);
  }

  private reallocSlot(p: number, size: number): number {
    const s = p - (p & PAGE_MASK) + HEADER_BYTES;
    const words = this.words;
    const slotBytes = words[(s >>> 2) + S_SLOT_BYTES]!;
    const i = this.slotIndex(p, s);
    const nibbleWord = (s >>> 2) + NIBBLE_WORD + (i >>> 3);
    const shift = (i & 7) << 2;
    const nibble = (words[nibbleWord]! >>> shift) & 15;
    if (nibble === 0) throw new InvalidFreeError(p, "realloc of a freed block");
    const oldRequested = slotBytes + 1 - nibble;
    if (size > slotBytes || size + GRANULE <= slotBytes) return this.moveBlock(p, oldRequested, size);
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
    if (!this.isSlab(ptr)) return this.usedBlockSize(ptr) - HEADER_BYTES;
    const s = ptr - (ptr & PAGE_MASK) + HEADER_BYTES;
    const i = this.slotIndex(ptr, s);
    const nibble = (this.words[(s >>> 2) + NIBBLE_WORD + (i >>> 3)]! >>> ((i & 7) << 2)) & 15;
    if (nibble === 0) throw new InvalidFreeError(ptr, "the block is free");
    return this.words[(s >>> 2) + S_SLOT_BYTES]!;
  }

  // ---- Pointer validation (never mutates) --------------------------------------------------

  private checkPointerRange(ptr: number): void {
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >= this.top) {
      throw new InvalidFreeError(ptr, typeof ptr === "number" && ptr >>> 0 === ptr && (ptr & 7) !== 0
        ? "not 8-byte aligned, so not a block this heap handed out"
        : `outside the heap's blocks [${this.heapStart + HEADER_BYTES}, ${this.top})`);
    }
  }

  private isSlab(ptr: number): boolean {
    return ((this.words[PAGE_MAP_WORD + (ptr >>> (PAGE_SHIFT + 5))]! >>> ((ptr >>> PAGE_SHIFT) & 31)) & 1) !== 0;
  }

  /** Index of the slot at p in slab s, or an `InvalidFreeError` if p is not a handed-out slot. */
  private slotIndex(p: number, s: number): number {
    const words = this.words;
    const h = s >>> 2;
    const offset = p - words[h + S_FIRST]!;
    const i = (offset * words[h + S_RECIP]!) >>> RECIP_SHIFT;
    if (i * words[h + S_SLOT_BYTES]! !== offset || p >= words[h + S_BUMP]!) {
      throw new InvalidFreeError(p, `not the start of a slot in the ${words[h + S_SLOT_BYTES]}-byte slab at ${s - HEADER_BYTES}`);
    }
    return i;
  }

  /** Size of the used TLSF block at p, after checking its header is genuine. */
  private usedBlockSize(p: number): number {
    const word = this.words[(p - 4) >>> 2]!;
    const size = word & SIZE_MASK;
    const inRange = size >= MIN_BLOCK_BYTES && p - HEADER_BYTES + size <= this.top;
    if (word & FREE_BIT) {
      if (inRange && this.isFreeTagged(p, size)) throw new DoubleFreeError(p);
      throw new InvalidFreeError(p);
    }
    const usable = size - HEADER_BYTES;
    const requested = inRange ? this.requestedOf(p, size) : -1;
    if (!inRange || requested > usable || usable - requested > maxSlackFor(usable)) throw new InvalidFreeError(p);
    return size;
  }

  // ---- Slabs (slow path) -------------------------------------------------------------------

  private newSlab(c: number): number {
    const p = this.allocBlock(SLAB_PAGE_BYTES, SLAB_BLOCK_PAYLOAD, SLAB_PAGE_BYTES, HEADER_BYTES);
    if (p === 0) return 0;
    const words = this.words;
    const h = p >>> 2;
    const { slotBytes, capacity, firstSlot, recip } = SLAB_CLASSES[c]!;
    words.fill(0, h, (p + firstSlot) >>> 2);
    words[h + S_SLOT_BYTES] = slotBytes;
    words[h + S_BUMP] = p + firstSlot;
    words[h + S_FIRST] = p + firstSlot;
    words[h + S_RECIP] = recip;
    words[h + S_CAPACITY] = capacity;
    words[h + S_CLASS] = c;
    this.setPageBit(p, true);
    this.linkSlab(p, c);
    this.doubles[F_SLAB_PAGES]! += 1;
    return p;
  }

  private releaseSlab(s: number): void {
    this.unlinkSlab(s, this.words[(s >>> 2) + S_CLASS]!);
    this.setPageBit(s, false);
    this.doubles[F_SLAB_PAGES]! -= 1;
    this.freeBlock(s, this.sizeOf(s));
  }

  /** Pushes s on the partial list of class c. */
  private linkSlab(s: number, c: number): void {
    const u32 = this.words;
    const head = u32[W_SLAB_HEADS + c]!;
    u32[(s >>> 2) + S_NEXT] = head;
    u32[(s >>> 2) + S_PREV] = 0;
    if (head !== 0) u32[(head >>> 2) + S_PREV] = s;
    u32[W_SLAB_HEADS + c] = s;
  }

  private unlinkSlab(s: number, c: number): void {
    const u32 = this.words;
    const next = u32[(s >>> 2) + S_NEXT]!;
    const prev = u32[(s >>> 2) + S_PREV]!;
    if (next !== 0) u32[(next >>> 2) + S_PREV] = prev;
    if (prev !== 0) u32[(prev >>> 2) + S_NEXT] = next;
    else u32[W_SLAB_HEADS + c] = next;
    u32[(s >>> 2) + S_NEXT] = 0;
    u32[(s >>> 2) + S_PREV] = 0;
  }

  private setPageBit(p: number, on: boolean): void {
    const word = PAGE_MAP_WORD + (p >>> (PAGE_SHIFT + 5));
    const bit = 1 << ((p >>> PAGE_SHIFT) & 31);
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
  const pageMapWords = Math.ceil(store.reservedBytes / SLAB_PAGE_BYTES / 32);
  const heapStart = roundUp8(PAGE_MAP_OFFSET + pageMapWords * 4);
  const minimum = heapStart + SLAB_PAGE_BYTES;
  if (!store.grow(minimum)) {
    throw new InvalidStoreError(`a heap needs at least ${minimum} bytes in its store; this one has ${store.committedBytes} and cannot grow there`);
  }
  store.u8.fill(0, 0, heapStart);
  const u32 = store.u32;
  u32[W_MAGIC] = MAGIC;
  u32[W_VERSION] = VERSION;
  u32[W_SECRET] = (Math.random() * 2 ** 32) >>> 0;
  u32[W_HEAP_START] = heapStart;
  u32[W_TOP] = heapStart;
  u32[W_PAGE_MAP_WORDS] = pageMapWords;
  store.f64[F_PEAK_TOP] = heapStart;
  return heapStart;
}

/** Validates an existing heap's control block; returns its first block's offset. */
function openControl(store: ByteStore): number {
  const u32 = store.u32;
  if (store.committedBytes < PAGE_MAP_OFFSET || u32[W_MAGIC] !== MAGIC) {
    throw new InvalidStoreError("this buffer does not hold a heapkit heap (no heap magic at offset 0)");
  }
  if (u32[W_VERSION] !== VERSION) {
    throw new InvalidStoreError(`heap format version ${u32[W_VERSION]} is not supported (this heapkit reads version ${VERSION})`);
  }
  return u32[W_HEAP_START]!;
}

/**
 * `Heap`: the general-purpose allocator. Small requests (0..256 bytes) are slots in one-page
 * slabs, one size class per 8 bytes, with no per-block header (the mimalloc/tcmalloc way);
 * requests of 257..4080 bytes are slots in 16 KiB mid slabs whose bookkeeping sits in dense
 * descriptors apart from the slabs (mid-slabs.ts, the jemalloc way); everything else is a TLSF
 * block (tlsf.ts), O(1) to allocate and free at any heap size, coalesced as soon as it is
 * freed; requests of 256 KiB or more are whole-page spans. The bytes are drawn in layout.ts.
 *
 * Slab invariants (checked by check.ts), for each slab s of class c:
 *   live(s) + |free list(s)| + slots at or above bump(s) == capacity(c)
 *   free(s) == 0  <=>  live(s) == capacity(c)  <=>  s is in no partial list
 *   nibble(i) != 0  <=>  slot i is live;    info(s) == info of c
 *   page bit(page of s) == 1  <=>  s is a slab
 * (the mid slabs' invariants are in mid-layout.ts).
 *
 * Fast path: `malloc` of a small size pops a slot from the head slab of its class, `free`
 * pushes one back; each updates the slab's live count, the slot's nibble and the live-bytes
 * headroom, and `malloc` the malloc count (layout.ts derives the other stats from these). A
 * mid size does the same on its mid slab's descriptor (mid-slabs.ts). Everything else
 * (refilling or unlinking a slab, a new slab, the TLSF lists, growth, bad input) is the slow
 * path.
 */
import type { Allocator, AllocatorStats, BlockInfo } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, InvalidFreeError, InvalidSizeError, OutOfMemoryError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";
import { checkHeap } from "./check.js";
import { formatControl, openControl } from "./control.js";
import { heapStats, walkHeap } from "./inspect.js";
import {
  blockSizeFor, Gauge, Layout, maxSlackFor, SLAB_CLASSES, SLAB_INFO, slabClassOf, SlabInfo, SlabState, SlabWord, slotNibbleIndex, Word,
} from "./layout.js";
import { Mid } from "./mid-layout.js";
import { MidSlabs } from "./mid-slabs.js";
import { pushSlab, setPageBit, unlinkSlab } from "./slab-lists.js";

export interface HeapOptions extends StoreOptions {
  /** An existing store to format as a new heap (its contents are overwritten). */
  store?: ByteStore;
}


export class Heap extends MidSlabs implements Allocator {
  readonly name = "heap";
  /** Largest request accepted; larger sizes are an `InvalidSizeError`. */
  readonly maxRequestBytes: number;
  /** The lowest offset a block can have. */
  private readonly firstPayload: number;
  /** Each class's slab info word: malloc reads it here, off the (slower) byte store. */
  private readonly slabInfo = SLAB_INFO;

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

  /**
   * The heap's root: one offset the heap keeps for its user (0 when unset), so that an agent
   * that attaches to the heap can find the program's top structure (PMDK's `pmemobj_root`).
   * Set it to a live block (or 0); freeing that block does not clear it.
   */
  get root(): number { return this.words[Word.ROOT]!; }
  set root(ptr: number) {
    if (ptr !== 0) this.usableSize(ptr);
    this.words[Word.ROOT] = ptr;
  }

  // ---- Allocation --------------------------------------------------------------------------

  /** Allocates `size` bytes aligned to `align` (8 by default). Returns 0 when out of memory. */
  malloc(size: number, align: number = Layout.GRANULE): number {
    if (size >>> 0 === size && align === Layout.GRANULE) {
      if (size <= Layout.SMALL_MAX_BYTES) return this.mallocSmall(size);
      if (size <= Mid.MAX_BYTES) return this.mallocMid(size);
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

  // The fast paths below write out smallClassOf and slotNibbleIndex (layout.ts): a call to an
  // imported function costs V8 a module-cell load and check, and inlining budget.

  /** A slot of the size's class (`malloc(0)` gets a unique 8-byte slot, as in C). */
  private mallocSmall(size: number): number {
    const c = size === 0 ? 0 : (size - 1) >>> Layout.GRANULE_LOG2;
    const words = this.words;
    const s = words[Word.SLAB_HEADS + c]!;
    if (s === 0) return this.newSlab(c) === 0 ? 0 : this.mallocSmall(size);
    const h = s >>> 2;
    const state = words[h + SlabWord.STATE]!;
    if (state >= SlabState.MALLOCS_FULL) return this.countSlabMallocs(s) && this.mallocSmall(size);
    const first = state & SlabState.FREE_MASK; // never 0: a listed slab is not full
    const slot = s - Layout.HEADER_BYTES + first;
    const next = words[slot >>> 2]!;
    words[h + SlabWord.STATE] = state - first + SlabState.MALLOC_STEP + next;
    if (next === 0) this.refillOrUnlink(s, c);
    const info = this.slabInfo[c]!;
    const j = ((((slot & (Layout.SLAB_PAGE_BYTES - 1)) >>> Layout.GRANULE_LOG2) * (info >>> SlabInfo.RECIP_SHIFT)) >>> Layout.RECIP_SHIFT) + (info & SlabInfo.BIAS_MASK);
    words[h + (j >>> 3)]! |= (1 + ((c + 1) << Layout.GRANULE_LOG2) - size) << ((j & 7) << 2);
    this.addLiveBytes(size);
    return slot;
  }

  /** Moves the mallocs counted in slab s's state word to the heap's count; returns s. */
  private countSlabMallocs(s: number): number {
    const state = this.words[(s >>> 2) + SlabWord.STATE]!;
    this.doubles[Gauge.MALLOC_COUNT]! += state >>> SlabState.MALLOCS_SHIFT;
    this.words[(s >>> 2) + SlabWord.STATE] = state & (SlabState.MALLOCS_ONE - 1);
    return s;
  }

  private mallocGeneric(size: number, align: number): number {
    checkSize(size, this.maxRequestBytes);
    checkAlign(align, Layout.MAX_ALIGN);
    if (size <= Layout.SMALL_MAX_BYTES && align <= Layout.GRANULE) return this.mallocSmall(size);
    if (size > Layout.SMALL_MAX_BYTES && size <= Mid.MAX_BYTES && align <= Mid.SLOT_ALIGN) return this.mallocMid(size);
    const blockSize = blockSizeFor(size);
    const p = this.allocBlock(blockSize, size, align, 0);
    if (p === 0) return 0;
    this.addLiveBytes(size);
    this.doubles[Gauge.MALLOC_COUNT]! += 1;
    this.words[Word.TLSF_LIVE_BLOCKS]! += 1;
    return p;
  }

  // ---- Free --------------------------------------------------------------------------------

  /**
   * Frees a live block; `free(0)` does nothing, as in C. Anything else that is not a live block
   * throws `InvalidFreeError` or `DoubleFreeError` and leaves the heap unchanged.
   */
  free(ptr: number): void {
    const words = this.words;
    // Below the committed end is enough here: page bits are set only for slabs, all below top.
    if (ptr >>> 0 !== ptr || (ptr & 7) !== 0 || ptr < this.firstPayload || ptr >>> 2 >= words.length) {
      if (ptr === 0) return;
      this.checkPointerRange(ptr);
    }
    if (((words[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0) this.freeSlot(ptr, words);
    else this.freeMidOrLarge(ptr, this.midDescriptor(ptr));
  }

  /** Frees the slot at ptr, in a slab page (ptr is an 8-aligned offset below the committed end). */
  private freeSlot(ptr: number, words: Uint32Array): void {
    const s = ptr - (ptr & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
    const h = s >>> 2;
    const info = words[h + SlabWord.INFO]!;
    const g = (ptr & (Layout.SLAB_PAGE_BYTES - 1)) >>> Layout.GRANULE_LOG2;
    const q = (g * (info >>> SlabInfo.RECIP_SHIFT)) >>> Layout.RECIP_SHIFT;
    const slotGranules = ((info >>> SlabInfo.CLASS_SHIFT) & SlabInfo.CLASS_MASK) + 1;
    const j = q + (info & SlabInfo.BIAS_MASK);
    if (j < SlabWord.FIRST_NIBBLE || g !== q * slotGranules + ((info >>> SlabInfo.PHASE_SHIFT) & SlabInfo.PHASE_MASK)) this.notASlot(ptr, s);
    const nibbleWord = h + (j >>> 3);
    const shift = (j & 7) << 2;
    const nibbles = words[nibbleWord]!;
    const nibble = (nibbles >>> shift) & 15;
    if (nibble === 0) this.notLive(ptr, s);
    words[nibbleWord] = nibbles & ~(15 << shift);
    const state = words[h + SlabWord.STATE]!;
    const oldFree = state & SlabState.FREE_MASK;
    words[ptr >>> 2] = oldFree;
    words[h + SlabWord.STATE] = state - oldFree - SlabState.LIVE_ONE + (ptr & (Layout.SLAB_PAGE_BYTES - 1));
    words[Word.LIVE_HEADROOM]! += (slotGranules << Layout.GRANULE_LOG2) + 1 - nibble;
    if (oldFree === 0) pushSlab(words, Word.SLAB_HEADS + slotGranules - 1, s, SlabWord.NEXT, SlabWord.PREV);
    // An empty slab is released, unless it heads its class's list (malloc takes from it next).
    else if ((state & (SlabState.LIVE_MASK << SlabState.LIVE_SHIFT)) === SlabState.LIVE_ONE && words[Word.SLAB_HEADS + slotGranules - 1] !== s) this.releaseSlab(s);
  }

  private freeMidOrLarge(p: number, d: number): void {
    if (d !== 0) this.freeMid(p, d);
    else this.freeLarge(p);
  }

  private freeLarge(p: number): void {
    const top = this.top; // free checked p against the committed end only
    const word = this.words[(p - 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    const requested = this.requestedOf(p, size);
    const slack = size - Layout.HEADER_BYTES - requested;
    if (p >= top || (word & Layout.FREE_BIT) !== 0 || size < Layout.MIN_BLOCK_BYTES || p - Layout.HEADER_BYTES + size > top || slack < 0 || slack > maxSlackFor(size - Layout.HEADER_BYTES)) {
      this.checkPointerRange(p);
      this.usedBlockSize(p); // throws the error that fits
    }
    this.subtractLiveBytes(requested);
    this.words[Word.TLSF_LIVE_BLOCKS]! -= 1;
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
    const d = this.midDescriptor(ptr);
    if (d !== 0) return this.reallocMid(ptr, size, d);
    const oldSize = this.usedBlockSize(ptr);
    const oldRequested = this.requestedOf(ptr, oldSize);
    const newSize = blockSizeFor(size);
    if (this.resizeInPlace(ptr, oldSize, newSize, size)) {
      this.subtractLiveBytes(oldRequested);
      this.addLiveBytes(size);
      return ptr;
    }
    return this.moveBlock(ptr, oldRequested, size);
  }

  private reallocSlot(p: number, size: number): number {
    const s = p - (p & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
    const words = this.words;
    const j = this.liveSlotNibble(p, s);
    const slotBytes = this.slotBytesOf(s);
    const nibbleWord = (s >>> 2) + (j >>> 3);
    const shift = (j & 7) << 2;
    const oldRequested = slotBytes + 1 - ((words[nibbleWord]! >>> shift) & 15);
    if (size > slotBytes || size + Layout.GRANULE <= slotBytes) return this.moveBlock(p, oldRequested, size);
    words[nibbleWord] = (words[nibbleWord]! & ~(15 << shift)) | ((1 + slotBytes - size) << shift);
    this.subtractLiveBytes(oldRequested);
    this.addLiveBytes(size);
    return p;
  }

  private reallocMid(p: number, size: number, d: number): number {
    const r = this.midRequestIndex(p, d);
    const oldRequested = this.words[r]!;
    if (!this.fitsMidSlot(d, size)) return this.moveBlock(p, oldRequested, size);
    this.words[r] = size;
    this.subtractLiveBytes(oldRequested);
    this.addLiveBytes(size);
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
    if (this.isSlab(ptr)) {
      const s = ptr - (ptr & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
      this.liveSlotNibble(ptr, s);
      return this.slotBytesOf(s);
    }
    const d = this.midDescriptor(ptr);
    if (d === 0) return this.usedBlockSize(ptr) - Layout.HEADER_BYTES;
    this.midRequestIndex(ptr, d);
    return this.midSlotBytesOf(d);
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

  private slotBytesOf(s: number): number {
    return (slabClassOf(this.words[(s >>> 2) + SlabWord.INFO]!) + 1) * Layout.GRANULE;
  }

  /** Nibble number (from s) of the live slot at p, or an `InvalidFreeError`. */
  private liveSlotNibble(p: number, s: number): number {
    const j = slotNibbleIndex(p, this.words[(s >>> 2) + SlabWord.INFO]!);
    if (j < 0) this.notASlot(p, s);
    if (((this.words[(s >>> 2) + (j >>> 3)]! >>> ((j & 7) << 2)) & 15) === 0) {
      if (p >= this.words[(s >>> 2) + SlabWord.BUMP]!) this.notASlot(p, s);
      throw new InvalidFreeError(p, "the block is free");
    }
    return j;
  }

  private notASlot(p: number, s: number): never {
    throw new InvalidFreeError(p, `not the start of a slot in the ${this.slotBytesOf(s)}-byte slab at ${s - Layout.HEADER_BYTES}`);
  }

  /** A slot start in slab s whose nibble is 0: freed already, or never handed out. */
  private notLive(p: number, s: number): never {
    if (p >= this.words[(s >>> 2) + SlabWord.BUMP]!) this.notASlot(p, s);
    throw new DoubleFreeError(p);
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
    const { firstSlot, info } = SLAB_CLASSES[c]!;
    words.fill(0, h, (p + firstSlot) >>> 2);
    words[h + SlabWord.INFO] = info;
    words[h + SlabWord.BUMP] = p + firstSlot;
    this.refill(p, c);
    setPageBit(words, Gauge.PAGE_MAP_WORD, p, true, Layout.PAGE_SHIFT);
    pushSlab(words, Word.SLAB_HEADS + c, p, SlabWord.NEXT, SlabWord.PREV);
    this.doubles[Gauge.SLAB_PAGES]! += 1;
    return p;
  }

  /** The free list of slab s just ran dry: thread more never-used slots, or unlink s (full). */
  private refillOrUnlink(s: number, c: number): void {
    const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[c]!;
    if (this.words[(s >>> 2) + SlabWord.BUMP]! < s + firstSlot + capacity * slotBytes) this.refill(s, c);
    else unlinkSlab(this.words, Word.SLAB_HEADS + c, s, SlabWord.NEXT, SlabWord.PREV);
  }

  /** Threads up to SLAB_REFILL_SLOTS slots from the bump onto the (empty) free list of s. */
  private refill(s: number, c: number): void {
    const words = this.words;
    const h = s >>> 2;
    const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[c]!;
    const page = s - Layout.HEADER_BYTES;
    const first = words[h + SlabWord.BUMP]!;
    const end = Math.min(first + Layout.SLAB_REFILL_SLOTS * slotBytes, s + firstSlot + capacity * slotBytes);
    for (let slot = first; slot < end; slot += slotBytes) words[slot >>> 2] = slot + slotBytes < end ? slot + slotBytes - page : 0;
    words[h + SlabWord.STATE] = (words[h + SlabWord.STATE]! & ~SlabState.FREE_MASK) | (first - page);
    words[h + SlabWord.BUMP] = end;
  }

  private releaseSlab(s: number): void {
    this.countSlabMallocs(s);
    unlinkSlab(this.words, Word.SLAB_HEADS + slabClassOf(this.words[(s >>> 2) + SlabWord.INFO]!), s, SlabWord.NEXT, SlabWord.PREV);
    setPageBit(this.words, Gauge.PAGE_MAP_WORD, s, false, Layout.PAGE_SHIFT);
    this.doubles[Gauge.SLAB_PAGES]! -= 1;
    this.freeBlock(s, this.sizeOf(s));
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
  /** Mid slabs (16 KiB each) serving requests of 257..4080 bytes. */
  midSlabs: number;
}

type TypedArrayCtor =
  | Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor
  | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor
  | BigInt64ArrayConstructor | BigUint64ArrayConstructor;

const attaching = Symbol("attaching");
type AttachMark = { [attaching]?: boolean };

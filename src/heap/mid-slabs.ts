/**
 * The mid-slab layer of `Heap`: requests of SMALL_MAX_BYTES+1 .. Mid.MAX_BYTES bytes are slots
 * of 16 KiB slabs, one class per slab, whose bookkeeping sits in the slab's header, apart from
 * the slots (mid-layout.ts draws the bytes). Slabs are page-aligned TLSF blocks (tlsf.ts): made
 * when a class has no free slot, and given back to the TLSF layer when another slab of their
 * class empties while they are still empty (each class keeps one spare).
 *
 * Fast path: `mallocMid` pops a slot number off the head slab's stack and writes its request;
 * `freeMid` checks the request word (a double free, or a slot never handed out, is refused
 * before anything changes), marks it FREED and pushes the number back. Neither touches the
 * slot's bytes. Also here: the live-byte accounting the heap's layers share.
 */
import { DoubleFreeError, InvalidFreeError } from "../errors.js";
import { Gauge, Layout, Word } from "./layout.js";
import { isLiveRequest, Mid, midSlabBase, MID_CAPACITY, MID_CLASS_OF, MID_CLASSES, MID_FIRST_SLOT, MID_RECIP, MID_REQUEST_WORD, MID_SLOT_BYTES, midSlotIndex } from "./mid-layout.js";
import { pushSlab, setPageBit, unlinkSlab } from "./slab-lists.js";
import { TlsfBlocks } from "./tlsf.js";

export class MidSlabs extends TlsfBlocks {
  /** Word index of the mid map in the store. */
  protected readonly midMap: number;
  // The class constants, as fields: read off the JS heap, not through module cells.
  private readonly midClassOf = MID_CLASS_OF;
  private readonly midSlotBytes = MID_SLOT_BYTES;
  private readonly midFirstSlot = MID_FIRST_SLOT;
  private readonly midRequestWord = MID_REQUEST_WORD;
  private readonly midRecip = MID_RECIP;
  private readonly midCapacity = MID_CAPACITY;

  constructor(store: TlsfBlocks["store"], heapStart: number) {
    super(store, heapStart);
    this.midMap = (Gauge.PAGE_MAP_OFFSET >>> 2) + store.u32[Word.PAGE_MAP_WORDS]!;
  }

  /** A slot for `size` (SMALL_MAX_BYTES < size <= Mid.MAX_BYTES, a u32), or 0 when out of memory. */
  protected mallocMid(size: number): number {
    const c = this.midClassOf[(size + 15) >>> 4]!;
    const words = this.words;
    const b = words[Word.MID_HEADS + c]!;
    if (b === 0) return this.newMidSlab(c) === 0 ? 0 : this.mallocMid(size);
    const h = b >>> 2;
    const state = words[h + Mid.STATE]!;
    if (state >= Mid.MALLOCS_FULL) return this.countMidMallocs(b) && this.mallocMid(size);
    const free = (state & Mid.FREE_MASK) - 1; // >= 0: a listed slab has a free slot
    const i = words[h + Mid.STACK + free]!;
    words[h + Mid.STATE] = state - 1 + Mid.MALLOC_ONE;
    words[h + this.midRequestWord[c]! + i] = size;
    if (free === 0) unlinkSlab(words, Word.MID_HEADS + c, b, Mid.NEXT, Mid.PREV);
    this.addLiveBytes(size);
    return b + this.midFirstSlot[c]! + i * this.midSlotBytes[c]!;
  }

  /** Frees the slot at ptr, in the mid slab at b (midSlabBase of ptr). */
  protected freeMid(ptr: number, b: number): void {
    const words = this.words;
    const h = b >>> 2;
    const c = words[h + Mid.CLASS]!;
    const offset = ptr - b - this.midFirstSlot[c]!;
    const i = ((offset >>> 4) * this.midRecip[c]!) >>> Mid.RECIP_SHIFT;
    const r = h + this.midRequestWord[c]! + i;
    const request = words[r]!;
    const live = (request - (Layout.SMALL_MAX_BYTES + 1)) >>> 0 < Mid.MAX_BYTES - Layout.SMALL_MAX_BYTES; // isLiveRequest, written out
    if (offset < 0 || i >= this.midCapacity[c]! || i * this.midSlotBytes[c]! !== offset || !live) this.notALiveSlot(ptr, b, c);
    words[r] = Mid.FREED;
    const state = words[h + Mid.STATE]!;
    const free = state & Mid.FREE_MASK;
    words[h + Mid.STACK + free] = i;
    words[h + Mid.STATE] = state + 1;
    words[Word.LIVE_HEADROOM]! += request;
    if (free === 0) pushSlab(words, Word.MID_HEADS + c, b, Mid.NEXT, Mid.PREV);
    else if (free + 1 === this.midCapacity[c]) this.keepAsSpare(b, c);
  }

  /** True when ptr lies in a mid slab. */
  protected isMidSlab(ptr: number): boolean {
    return midSlabBase(this.words, this.midMap, ptr) >= 0;
  }

  /** Word index of the request word of the live mid slot at ptr, or an error naming what ptr is. */
  protected midRequestIndex(ptr: number): number {
    const b = midSlabBase(this.words, this.midMap, ptr);
    const c = this.words[(b >>> 2) + Mid.CLASS]!;
    const i = midSlotIndex(ptr, b, c);
    if (i < 0 || !isLiveRequest(this.words[(b >>> 2) + MID_CLASSES[c]!.requestWord + i]!)) this.notALiveSlot(ptr, b, c);
    return (b >>> 2) + MID_CLASSES[c]!.requestWord + i;
  }

  /** Slot bytes of the mid slab holding ptr. */
  protected midSlotBytesAt(ptr: number): number {
    return MID_SLOT_BYTES[this.words[(midSlabBase(this.words, this.midMap, ptr) >>> 2) + Mid.CLASS]!]!;
  }

  /** True when a request of `size` bytes belongs to the class of the mid slot at ptr. */
  protected fitsMidSlot(ptr: number, size: number): boolean {
    const c = this.words[(midSlabBase(this.words, this.midMap, ptr) >>> 2) + Mid.CLASS]!;
    return size > Layout.SMALL_MAX_BYTES && size <= Mid.MAX_BYTES && MID_CLASS_OF[(size + 15) >>> 4] === c;
  }

  /** Moves the mallocs counted in the state word of the slab at b to the heap's count; returns b. */
  private countMidMallocs(b: number): number {
    const state = this.words[(b >>> 2) + Mid.STATE]!;
    this.doubles[Gauge.MALLOC_COUNT]! += state >>> Mid.MALLOCS_SHIFT;
    this.words[(b >>> 2) + Mid.STATE] = state & Mid.FREE_MASK;
    return b;
  }

  private notALiveSlot(ptr: number, b: number, c: number): never {
    const i = midSlotIndex(ptr, b, c);
    const slab = `the ${MID_SLOT_BYTES[c]}-byte mid slab at ${b}`;
    if (i < 0) throw new InvalidFreeError(ptr, `not the start of a slot in ${slab}`);
    if (this.words[(b >>> 2) + MID_CLASSES[c]!.requestWord + i] === Mid.FREED) throw new DoubleFreeError(ptr);
    throw new InvalidFreeError(ptr, `a slot of ${slab} that was never handed out`);
  }

  // ---- Slabs (slow path) -------------------------------------------------------------------

  /** A new slab for class c, at the head of its list; its base, or 0 when out of memory. */
  private newMidSlab(c: number): number {
    const p = this.allocBlock(Mid.SLAB_BYTES, Mid.SLAB_BYTES - Layout.HEADER_BYTES, Layout.SLAB_PAGE_BYTES, Layout.HEADER_BYTES);
    if (p === 0) return 0;
    const b = p - Layout.HEADER_BYTES;
    const { capacity, firstSlot } = MID_CLASSES[c]!;
    const words = this.words;
    const h = b >>> 2;
    words.fill(0, h + Mid.STATE, (b + firstSlot) >>> 2);
    words[h + Mid.CLASS] = c;
    // Slot 0 on top of the stack, so a fresh slab hands out its slots in address order.
    for (let k = 0; k < capacity; k++) words[h + Mid.STACK + k] = capacity - 1 - k;
    words[h + Mid.STATE] = capacity;
    setPageBit(words, this.midMap, b, true, Layout.PAGE_SHIFT);
    pushSlab(words, Word.MID_HEADS + c, b, Mid.NEXT, Mid.PREV);
    return b;
  }

  /**
   * The slab at b just emptied: it becomes its class's spare, and the spare before it is
   * released if it is still empty. So a class keeps at most one empty slab: a second free of a
   * block whose slab just emptied is still a DoubleFreeError, and malloc/free pairs do not make
   * and release a slab each, yet empty slabs do not pile up.
   */
  private keepAsSpare(b: number, c: number): void {
    const words = this.words;
    const old = words[Word.MID_SPARES + c]!;
    words[Word.MID_SPARES + c] = b;
    if (old !== 0 && old !== b && (words[(old >>> 2) + Mid.STATE]! & Mid.FREE_MASK) === this.midCapacity[c]) this.releaseMidSlab(old, c);
  }

  private releaseMidSlab(b: number, c: number): void {
    this.countMidMallocs(b);
    unlinkSlab(this.words, Word.MID_HEADS + c, b, Mid.NEXT, Mid.PREV);
    setPageBit(this.words, this.midMap, b, false, Layout.PAGE_SHIFT);
    this.freeBlock(b + Layout.HEADER_BYTES, this.sizeOf(b + Layout.HEADER_BYTES));
  }

  // ---- Live bytes (shared by the heap's layers) ----------------------------------------------

  /** Live bytes grow by `size`: out of the headroom below the peak, or by raising the peak. */
  protected addLiveBytes(size: number): void {
    const words = this.words;
    const headroom = words[Word.LIVE_HEADROOM]!;
    if (size <= headroom) words[Word.LIVE_HEADROOM] = headroom - size;
    else this.raisePeak(size - headroom);
  }

  private raisePeak(excess: number): void {
    this.words[Word.LIVE_HEADROOM] = 0;
    this.doubles[Gauge.PEAK_LIVE_BYTES]! += excess;
  }

  protected subtractLiveBytes(size: number): void {
    this.words[Word.LIVE_HEADROOM]! += size;
  }
}

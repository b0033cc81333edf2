/**
 * The mid-slab layer of `Heap`: requests of SMALL_MAX_BYTES+1 .. Mid.MAX_BYTES bytes are slots
 * of 16 KiB slabs (32 KiB for some classes, 64 KiB above 4080 bytes, up to 128 KiB for a power
 * of two), one class per slab, whose bookkeeping sits in descriptors packed apart from the slabs
 * (mid-layout.ts draws the bytes). Slabs are page-aligned TLSF blocks (tlsf.ts): made
 * when a class has no free slot and already holds a slab's worth of live blocks (until then its
 * requests are TLSF blocks of their own: a slab made for a few blocks would stay mostly empty, as
 * its slots cannot move), and given back to the TLSF layer when another slab empties while they
 * are still empty: the heap keeps one empty slab, of any class, as its spare (a class that needs
 * a slab takes the spare of another class with the same slab size and re-forms it). mimalloc's
 * `_mi_page_retire` (src/page.c) likewise frees a page that empties at once unless it is the only
 * page of its size class, which it keeps for a few collection cycles; glibc has no classes at
 * all, and a cold mid class here costs per block what a glibc chunk does (an 8-byte header).
 *
 * Fast path: `mallocMid` takes the lowest free bit of the head slab's descriptor and writes the
 * slot's request; `freeMid` finds the descriptor through the page table, checks the request
 * word (a double free, or a slot never handed out, is refused before anything changes), marks
 * it FREED and sets its free bit. Neither touches the slab.
 */
import { DoubleFreeError, InvalidFreeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import type { HeapCore } from "./core.js";
import { Gauge, Layout, Word } from "./layout.js";
import {
  isLiveRequest, lowBits, Mid, MID_CAPACITY, MID_CLASS_OF, MID_CLASSES, MID_RECIP, MID_SLAB_AFTER, MID_SLAB_BYTES, MID_SLOT_BYTES, midDescriptorOf, midRequestIndex, midRootWord, midSlotIndex,
} from "./mid-layout.js";
import { countTlsfMalloc, mallocTlsfBlock } from "./large-blocks.js";
import type { MidBlockCache } from "./mid-cache.js";
import { pushSlab, unlinkSlab } from "./slab-lists.js";
import type { TlsfBlocks } from "./tlsf.js";

/** What newMidSlab had before it began, to give back when it fails. */
interface MidUndo {
  peakTop: number;
  committed: number;
  freeDescriptors: number;
  descriptorPages: number;
  /** Root words of the leaves made for the slab. */
  leavesMade: number[];
}

export class MidSlabs {
  private readonly store: ByteStore;
  /** Word index of the mid page table's root in the store. */
  private readonly midRoot: number;
  // The class constants, as fields: read off the JS heap, not through module cells.
  private readonly midClassOf = MID_CLASS_OF;
  private readonly midSlotBytes = MID_SLOT_BYTES;
  private readonly midRecip = MID_RECIP;
  private readonly midCapacity = MID_CAPACITY;

  constructor(private readonly core: HeapCore, private readonly tlsf: TlsfBlocks, private readonly cache: MidBlockCache) {
    this.store = core.store;
    this.midRoot = midRootWord(core.store.u32);
  }

  /**
   * A block for `size` (SMALL_MAX_BYTES < size <= Mid.MAX_BYTES, a u32) at an `align`-aligned
   * offset (align <= Mid.SLOT_ALIGN: slots are 16-aligned), or 0 when out of memory.
   */
  malloc(size: number, align: number = Layout.GRANULE): number {
    const c = this.midClassOf[(size + 15) >>> 4]!;
    const words = this.core.freshWords(); // the head descriptor and its slab may lie beyond stale views
    const d = words[Word.MID_HEADS + c]!;
    if (d === 0) return this.mallocWithoutRoom(size, c, align);
    const h = d >>> 2;
    const state = words[h + Mid.STATE]!;
    if (state >= Mid.MALLOCS_FULL) return this.countMidMallocs(d) && this.malloc(size, align);
    // The lowest free slot (a listed slab has one), so a slab fills from its start.
    const low = words[h + Mid.FREE_BITS]!;
    const word = low !== 0 ? h + Mid.FREE_BITS : h + Mid.FREE_BITS + 1;
    const bits = low !== 0 ? low : words[word]!;
    const bit = bits & -bits;
    words[word] = bits ^ bit;
    const i = ((word - h - Mid.FREE_BITS) << 5) + 31 - Math.clz32(bit);
    words[h + Mid.STATE] = state - 1 + Mid.MALLOC_ONE;
    this.core.halves[(d >>> 1) + Mid.REQUEST_HALVES + i] = size;
    if ((state & Mid.FREE_MASK) === 1) unlinkSlab(words, Word.MID_HEADS + c, d, Mid.NEXT, Mid.PREV);
    this.core.addLiveBytes(words, size);
    return words[h + Mid.BASE]! + Mid.FIRST_SLOT + i * this.midSlotBytes[c]!;
  }

  /**
   * malloc's slow path when class c has no slab with a free slot. Once the class holds a slab's
   * worth of live blocks (two for a slab of 64 KiB or more: MID_SLAB_AFTER): the spare re-formed, or a slab from free space; else a free TLSF block
   * that fits the request (such as a hole that a page-aligned slab left beside another block,
   * which only requests of about this size could fill); else a slab from the top. Before that,
   * or when no slab can be had, a TLSF block of its own.
   * So a class asked for a few blocks at a time strands no mostly empty slab, and pays 8 bytes
   * of header and at most 7 of rounding per block instead (glibc's cost); a busy class fills
   * slabs, and uses the heap's free space before it grows the heap (glibc's top chunk, too, is
   * its last resort).
   */
  private mallocWithoutRoom(size: number, c: number, align: number): number {
    const cached = this.cache.take(c, size, align);
    if (cached !== 0) return countTlsfMalloc(this.core, cached, size);
    if (this.store.u32[Word.MID_TLSF_LIVE + c]! >= MID_SLAB_AFTER[c]!) {
      if (this.newMidSlab(c, false) !== 0) return this.malloc(size, align);
      const hole = mallocTlsfBlock(this.core, this.tlsf, size, align, false);
      if (hole !== 0) return hole;
      if (this.newMidSlab(c, true) !== 0) return this.malloc(size, align);
    }
    return mallocTlsfBlock(this.core, this.tlsf, size, align);
  }

  /** Frees the slot at ptr, in the mid slab of descriptor d (descriptorOf ptr). */
  free(ptr: number, d: number): void {
    const words = this.store.u32;
    const h = d >>> 2;
    const c = words[h + Mid.CLASS]!;
    const offset = ptr - words[h + Mid.BASE]! - Mid.FIRST_SLOT;
    const i = ((offset >>> 4) * this.midRecip[c]!) >>> Mid.RECIP_SHIFT;
    const halves = this.core.halves;
    const r = (d >>> 1) + Mid.REQUEST_HALVES + i;
    const request = halves[r]!;
    const live = (request - (Layout.SMALL_MAX_BYTES + 1)) >>> 0 < Mid.MAX_BYTES - Layout.SMALL_MAX_BYTES; // isLiveRequest, written out
    if (offset < 0 || i >= this.midCapacity[c]! || i * this.midSlotBytes[c]! !== offset || !live) this.notALiveSlot(ptr, d);
    halves[r] = Mid.FREED;
    words[h + Mid.FREE_BITS + (i >>> 5)]! |= 1 << (i & 31);
    const state = words[h + Mid.STATE]!;
    const free = state & Mid.FREE_MASK;
    words[h + Mid.STATE] = state + 1;
    this.core.subtractLiveBytes(words, request);
    if (free === 0) pushSlab(words, Word.MID_HEADS + c, d, Mid.NEXT, Mid.PREV);
    else if (free + 1 === this.midCapacity[c]) this.keepAsSpare(d);
  }

  /** The descriptor of the mid slab holding ptr (below the committed end), or 0. */
  descriptorOf(ptr: number): number {
    return midDescriptorOf(this.store.u32, this.midRoot, ptr);
  }

  /**
   * Resizes the live slot at ptr (in the slab of d) in place when `size` keeps its class;
   * returns the old request, or -1 (nothing changed) when the block must move.
   */
  resize(ptr: number, d: number, size: number): number {
    const r = this.requestIndex(ptr, d);
    const oldRequested = this.store.u16[r]!;
    if (!this.fitsSlot(d, size)) return -1;
    this.store.u16[r] = size;
    this.core.subtractLiveBytes(this.store.u32, oldRequested);
    this.core.addLiveBytes(this.store.u32, size);
    return oldRequested;
  }

  /** Requested bytes of the live slot at ptr in the slab of d, or an error naming what ptr is. */
  requestedAt(ptr: number, d: number): number {
    return this.store.u16[this.requestIndex(ptr, d)]!;
  }

  /** Usable bytes of the live slot at ptr in the slab of d, or an error naming what ptr is. */
  usableAt(ptr: number, d: number): number {
    this.requestIndex(ptr, d);
    return MID_SLOT_BYTES[this.store.u32[(d >>> 2) + Mid.CLASS]!]!;
  }

  /** u16 index of the request of the live mid slot at ptr in the slab of d, or an error naming what ptr is. */
  private requestIndex(ptr: number, d: number): number {
    const i = midSlotIndex(ptr, this.store.u32[(d >>> 2) + Mid.BASE]!, this.store.u32[(d >>> 2) + Mid.CLASS]!);
    if (i < 0 || !isLiveRequest(this.store.u16[midRequestIndex(d, i)]!)) this.notALiveSlot(ptr, d);
    return midRequestIndex(d, i);
  }

  /** True when a request of `size` bytes belongs to the class of the mid slab of d. */
  private fitsSlot(d: number, size: number): boolean {
    return size > Layout.SMALL_MAX_BYTES && size <= Mid.MAX_BYTES && MID_CLASS_OF[(size + 15) >>> 4] === this.store.u32[(d >>> 2) + Mid.CLASS];
  }

  /** Moves the mallocs counted in d's state word to the heap's count; returns d. */
  private countMidMallocs(d: number): number {
    const state = this.store.u32[(d >>> 2) + Mid.STATE]!;
    this.core.countMallocs(state >>> Mid.MALLOCS_SHIFT);
    this.store.u32[(d >>> 2) + Mid.STATE] = state & Mid.FREE_MASK;
    return d;
  }

  private notALiveSlot(ptr: number, d: number): never {
    const b = this.store.u32[(d >>> 2) + Mid.BASE]!;
    const c = this.store.u32[(d >>> 2) + Mid.CLASS]!;
    const i = midSlotIndex(ptr, b, c);
    const slab = `the ${MID_SLOT_BYTES[c]}-byte mid slab at ${b}`;
    if (i < 0) throw new InvalidFreeError(ptr, `not the start of a slot in ${slab}`);
    if (this.store.u16[midRequestIndex(d, i)] === Mid.FREED) throw new DoubleFreeError(ptr);
    throw new InvalidFreeError(ptr, `a slot of ${slab} that was never handed out`);
  }

  // ---- Slabs (slow path) -------------------------------------------------------------------

  /**
   * A new slab for class c (the spare re-formed, or a TLSF block of the class's slab bytes: from
   * free space only, unless `fromTop`), at the head of its list; its descriptor, or 0 when there
   * is none (out of memory, or no free block that fits when not `fromTop`). The slab comes
   * first, then a descriptor (maybe a new descriptor page) and the page table's leaves; when one
   * of those cannot be had, everything taken is given back, so a malloc that fails changes
   * nothing.
   */
  private newMidSlab(c: number, fromTop: boolean): number {
    const spare = this.takeSpare(c);
    const bytes = MID_SLAB_BYTES[c]!;
    if (spare !== 0 || !this.roomForSlab(bytes)) return spare;
    const before: MidUndo = {
      peakTop: this.store.f64[Gauge.PEAK_TOP]!,
      committed: this.store.committedBytes,
      freeDescriptors: this.store.u32[Word.MID_FREE_DESCRIPTORS]!,
      descriptorPages: this.store.u32[Word.MID_DESCRIPTOR_PAGES]!,
      leavesMade: [],
    };
    const p = this.tlsf.allocBlock(bytes, bytes - Layout.HEADER_BYTES, Layout.SLAB_PAGE_BYTES, Layout.HEADER_BYTES, fromTop);
    if (p === 0) return 0;
    const b = p - Layout.HEADER_BYTES;
    const d = this.takeDescriptor();
    if (d === 0 || !this.mapPages(b, bytes, d, before.leavesMade)) {
      this.undoNewMidSlab(b, bytes, before);
      return 0;
    }
    this.formSlab(d, b, c);
    return d;
  }

  /** Writes descriptor d for an empty slab of class c at b, and puts it at the head of c's list. */
  private formSlab(d: number, b: number, c: number): void {
    const { capacity } = MID_CLASSES[c]!;
    const words = this.store.u32;
    const h = d >>> 2;
    words.fill(0, h, h + Mid.DESCRIPTOR_BYTES / 4);
    words[h + Mid.BASE] = b;
    words[h + Mid.CLASS] = c;
    words[h + Mid.STATE] = capacity;
    words[h + Mid.FREE_BITS] = lowBits(capacity);
    words[h + Mid.FREE_BITS + 1] = lowBits(capacity - 32);
    pushSlab(words, Word.MID_HEADS + c, d, Mid.NEXT, Mid.PREV);
  }

  /**
   * True when the reservation above top holds a slab of `bytes`, a descriptor page and a leaf, aligned. A
   * heap this close to its limit serves its mid requests as TLSF blocks instead: a slab whose
   * metadata could not be had would be given back, but the headers written above top on the
   * way would stay (a failed malloc should change no byte).
   */
  private roomForSlab(bytes: number): boolean {
    return this.store.u32[Word.TOP]! + bytes + 2 * Mid.META_BLOCK_BYTES + 3 * Layout.SLAB_PAGE_BYTES <= this.store.reservedBytes;
  }

  /** Gives back what a failed newMidSlab took: the page table's entries and new leaves, a new descriptor page, the slab. */
  private undoNewMidSlab(b: number, bytes: number, before: MidUndo): void {
    this.unmapPages(b, bytes);
    for (const rootWord of before.leavesMade) {
      const leaf = this.store.u32[rootWord]!;
      this.store.u32[rootWord] = 0;
      this.tlsf.freeBlock(leaf, this.tlsf.sizeOf(leaf));
    }
    const page = this.store.u32[Word.MID_DESCRIPTOR_PAGES]!;
    if (page !== before.descriptorPages) {
      this.store.u32[Word.MID_DESCRIPTOR_PAGES] = before.descriptorPages;
      this.tlsf.freeBlock(page, this.tlsf.sizeOf(page));
    }
    this.store.u32[Word.MID_FREE_DESCRIPTORS] = before.freeDescriptors;
    this.tlsf.freeBlock(b + Layout.HEADER_BYTES, this.tlsf.sizeOf(b + Layout.HEADER_BYTES));
    this.store.f64[Gauge.PEAK_TOP] = before.peakTop;
    this.store.uncommit(before.committed);
    this.core.adoptViews();
  }

  /**
   * The slab of d just emptied: it becomes the heap's spare, and the spare before it is released
   * if it is still empty. So the heap keeps at most one empty mid slab (one per class, as before,
   * stranded up to 17 slabs): a second free of a block whose slab just emptied is still a
   * DoubleFreeError, and malloc/free pairs do not make and release a slab each.
   */
  private keepAsSpare(d: number): void {
    const words = this.store.u32;
    const old = words[Word.MID_SPARE]!;
    words[Word.MID_SPARE] = d;
    if (old !== 0 && old !== d && this.isEmpty(old)) this.releaseMidSlab(old, words[(old >>> 2) + Mid.CLASS]!);
  }

  /**
   * Releases the spare when it is empty and its slab ends at top, so that a large block about to
   * be carved from the top lands on its space rather than above it (glibc, too, gives back the
   * free memory at its top: systrim in malloc/malloc.c); true when it did.
   */
  releaseSpareAtTop(): boolean {
    const d = this.store.u32[Word.MID_SPARE]!;
    if (d === 0 || !this.isEmpty(d)) return false;
    const c = this.store.u32[(d >>> 2) + Mid.CLASS]!;
    if (this.store.u32[(d >>> 2) + Mid.BASE]! + MID_SLAB_BYTES[c]! !== this.core.top) return false;
    this.store.u32[Word.MID_SPARE] = 0;
    this.releaseMidSlab(d, c);
    return true;
  }

  private isEmpty(d: number): boolean {
    return (this.store.u32[(d >>> 2) + Mid.STATE]! & Mid.FREE_MASK) === this.midCapacity[this.store.u32[(d >>> 2) + Mid.CLASS]!];
  }

  /**
   * Class c has no free slot: the spare, when it is empty (then it belongs to another class, as
   * c's list is empty) and its slab has c's size, becomes a slab of class c in place; its
   * descriptor, or 0 when there is none.
   */
  private takeSpare(c: number): number {
    const d = this.store.u32[Word.MID_SPARE]!;
    if (d === 0 || !this.isEmpty(d) || MID_SLAB_BYTES[this.store.u32[(d >>> 2) + Mid.CLASS]!] !== MID_SLAB_BYTES[c]) return 0;
    this.countMidMallocs(d);
    unlinkSlab(this.store.u32, Word.MID_HEADS + this.store.u32[(d >>> 2) + Mid.CLASS]!, d, Mid.NEXT, Mid.PREV);
    this.store.u32[Word.MID_SPARE] = 0;
    this.formSlab(d, this.store.u32[(d >>> 2) + Mid.BASE]!, c);
    return d;
  }

  private releaseMidSlab(d: number, c: number): void {
    const b = this.store.u32[(d >>> 2) + Mid.BASE]!;
    this.countMidMallocs(d);
    unlinkSlab(this.store.u32, Word.MID_HEADS + c, d, Mid.NEXT, Mid.PREV);
    this.unmapPages(b, MID_SLAB_BYTES[c]!);
    this.giveDescriptor(d);
    this.tlsf.freeBlock(b + Layout.HEADER_BYTES, this.tlsf.sizeOf(b + Layout.HEADER_BYTES));
  }

  /**
   * Writes d into the page table for each page of the slab of `bytes` at b, making the leaves it
   * needs (their root words pushed on `leavesMade`); false when a leaf cannot be had.
   */
  private mapPages(b: number, bytes: number, d: number, leavesMade: number[]): boolean {
    for (let page = b; page < b + bytes; page += Layout.SLAB_PAGE_BYTES) {
      const rootWord = this.midRoot + (page >>> Mid.REGION_SHIFT);
      if (this.store.u32[rootWord] === 0) {
        const leaf = this.allocMetaBlock();
        if (leaf === 0) return false;
        this.store.u32[rootWord] = leaf;
        leavesMade.push(rootWord);
      }
      this.store.u32[(this.store.u32[rootWord]! >>> 2) + ((page >>> Layout.PAGE_SHIFT) & (Mid.LEAF_ENTRIES - 1))] = d;
    }
    return true;
  }

  /** Clears the page table's word of each page of the slab of `bytes` at b (where its leaf exists). */
  private unmapPages(b: number, bytes: number): void {
    for (let page = b; page < b + bytes; page += Layout.SLAB_PAGE_BYTES) {
      const leaf = this.store.u32[this.midRoot + (page >>> Mid.REGION_SHIFT)]!;
      if (leaf !== 0) this.store.u32[(leaf >>> 2) + ((page >>> Layout.PAGE_SHIFT) & (Mid.LEAF_ENTRIES - 1))] = 0;
    }
  }

  /** A free descriptor, from a new descriptor page if there is none; 0 when out of memory. */
  private takeDescriptor(): number {
    if (this.store.u32[Word.MID_FREE_DESCRIPTORS] === 0) {
      const page = this.allocMetaBlock();
      if (page === 0) return 0;
      this.store.u32[page >>> 2] = this.store.u32[Word.MID_DESCRIPTOR_PAGES]!;
      this.store.u32[Word.MID_DESCRIPTOR_PAGES] = page;
      for (let k = Mid.DESCRIPTORS_PER_PAGE; k >= 1; k--) this.giveDescriptor(page + k * Mid.DESCRIPTOR_BYTES);
    }
    const d = this.store.u32[Word.MID_FREE_DESCRIPTORS]!;
    this.store.u32[Word.MID_FREE_DESCRIPTORS] = this.store.u32[(d >>> 2) + Mid.NEXT]!;
    return d;
  }

  private giveDescriptor(d: number): void {
    this.store.u32[(d >>> 2) + Mid.BASE] = 0;
    this.store.u32[(d >>> 2) + Mid.NEXT] = this.store.u32[Word.MID_FREE_DESCRIPTORS]!;
    this.store.u32[Word.MID_FREE_DESCRIPTORS] = d;
  }

  /** A zeroed leaf or descriptor page: a TLSF block marked with a request of 0; 0 when out of memory. */
  private allocMetaBlock(): number {
    const p = this.tlsf.allocBlock(Mid.META_BLOCK_BYTES, 0, Layout.GRANULE, 0);
    if (p !== 0) this.store.u32.fill(0, p >>> 2, (p + Mid.META_PAYLOAD) >>> 2);
    return p;
  }
}

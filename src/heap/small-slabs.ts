/**
 * The small-slab layer of `Heap`: requests of 0..SMALL_MAX_BYTES bytes are slots in one-page
 * slabs, one size class per 8 bytes, with no per-block header (the mimalloc/tcmalloc way).
 * A slab is a page-aligned TLSF block (tlsf.ts); layout.ts draws its header and the packed
 * words the fast path reads.
 *
 * Invariants (checked by check.ts), for each slab s of class c:
 *   live(s) + |free list(s)| + slots at or above bump(s) == capacity(c)
 *   free(s) == 0  <=>  live(s) == capacity(c)  <=>  s is in no partial list
 *   nibble(i) != 0  <=>  slot i is live;    info(s) == info of c
 *   page bit(page of s) == 1  <=>  s is a slab
 *   live(s) == 0  =>  s heads the list of class c     (a class keeps at most one empty slab)
 *
 * Fast path: `malloc` pops a slot from the head slab of its class, `free` pushes one back; each
 * updates the slab's state word, the slot's nibble and the live-bytes headroom. Refilling or
 * unlinking a slab, a new slab and releasing an empty one are the slow path.
 */
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import type { HeapCore } from "./core.js";
import { Gauge, Layout, liveSlotsOf, SLAB_CLASSES, SLAB_INFO, slabClassOf, SlabInfo, SlabState, SlabWord, slotNibbleIndex, Word } from "./layout.js";
import { pushSlab, setPageBit, unlinkSlab } from "./slab-lists.js";
import type { TlsfBlocks } from "./tlsf.js";

export class SmallSlabs {
  private readonly store: ByteStore;
  /** Each class's slab info word: malloc reads it here, off the (slower) byte store. */
  private readonly slabInfo = SLAB_INFO;

  constructor(private readonly core: HeapCore, private readonly tlsf: TlsfBlocks) {
    this.store = core.store;
  }

  // The fast paths below write out smallClassOf and slotNibbleIndex (layout.ts): a call to an
  // imported function costs V8 a module-cell load and check, and inlining budget. For the same
  // reason they read a slab's state as words[h], not words[h + SlabWord.STATE] (word 0: V8 does
  // not fold the `+ 0`), and keep every rare case to one call on a branch: V8 inlines a call
  // into a loop only while the bytecode it has inlined there stays under a budget (920 bytes on
  // Node 20, with 1.2x the candidate's size reserved), and a loop of malloc + free needs all
  // four of Heap.malloc, Heap.free and these two inlined to run at its best.

  /**
   * A slot of the size's class (`malloc(0)` gets a unique 8-byte slot, as in C); 0 when out of
   * memory. `words` is the store's u32 view (passed in: one load fewer on the fast path).
   */
  malloc(size: number, words: Uint32Array): number {
    const c = size === 0 ? 0 : (size - 1) >>> Layout.GRANULE_LOG2;
    const s = words[Word.SLAB_HEADS + c]!;
    const h = s >>> 2;
    const state = words[h]!;
    // No slab (s is 0: state is a word of the control block, unused), or a state not below
    // MALLOCS_FULL: the slab's mallocs must be counted, or (undefined) another agent made slab s
    // beyond the views.
    if (s === 0 || !(state < SlabState.MALLOCS_FULL)) return this.mallocSlow(size, c);
    const first = state & SlabState.FREE_MASK; // never 0: a listed slab is not full
    const slot = s - Layout.HEADER_BYTES + first; // so first is also slot's offset in its page
    const next = words[slot >>> 2]!;
    words[h] = state - first + SlabState.MALLOC_STEP + next;
    if (next === 0) this.refillOrUnlink(s, c);
    const info = this.slabInfo[c]!;
    const j = (((first >>> Layout.GRANULE_LOG2) * (info >>> SlabInfo.RECIP_SHIFT)) >>> Layout.RECIP_SHIFT) + (info & SlabInfo.BIAS_MASK);
    words[h + (j >>> 3)]! |= ((c << Layout.GRANULE_LOG2) + Layout.GRANULE + 1 - size) << ((j & 7) << 2);
    // core.addLiveBytes, written out (a call would spend the inlining budget of the caller's loop)
    const headroom = words[Word.LIVE_HEADROOM]!;
    if (size <= headroom) words[Word.LIVE_HEADROOM] = headroom - size;
    else this.core.raisePeak(size - headroom);
    return slot;
  }

  /** malloc's slow path: class c has no slab with a free slot, or its head's mallocs must be counted. */
  private mallocSlow(size: number, c: number): number {
    const s = this.core.words[Word.SLAB_HEADS + c]!;
    return s === 0 ? this.mallocInNewSlab(size, c) : this.mallocAfterCounting(size, s);
  }

  /** malloc's slow path when class c has no slab with a free slot. */
  private mallocInNewSlab(size: number, c: number): number {
    this.core.refreshIfStale(); // the empty head newSlab takes may be a slab another agent made beyond the views
    return this.newSlab(c) === 0 ? 0 : this.malloc(size, this.core.words);
  }

  /** malloc's slow path when the head slab s cannot take one more malloc as it is. */
  private mallocAfterCounting(size: number, s: number): number {
    const seen = this.core.words;
    this.core.refreshIfStale();
    // s was read through views another agent left short, or detached (s undefined): read it again.
    if (this.core.words !== seen) return this.malloc(size, this.core.words);
    this.countSlabMallocs(s);
    const words = this.core.words;
    // Counted, a slab's state is below MALLOCS_FULL; anything else is not a slab (damage, or two
    // agents in the heap at once), and malloc would retry forever.
    if (!(words[(s >>> 2) + SlabWord.STATE]! < SlabState.MALLOCS_FULL)) throw new HeapCorruptionError(`the head slab ${s} of a small class has no slab state`, s);
    return this.malloc(size, words);
  }

  /**
   * Frees the slot at ptr, in a slab page (ptr is an 8-aligned offset below the views' end).
   * Everything rare (a refused free, a slab to relist or release) is one call on a branch, so
   * that this stays small enough for V8 to inline into a caller's loop with `malloc`.
   */
  free(ptr: number, words: Uint32Array): void {
    const offset = ptr & (Layout.SLAB_PAGE_BYTES - 1);
    const s = ptr - offset + Layout.HEADER_BYTES;
    const h = s >>> 2;
    const info = words[h + SlabWord.INFO]!;
    const g = offset >>> Layout.GRANULE_LOG2;
    const q = (g * (info >>> SlabInfo.RECIP_SHIFT)) >>> Layout.RECIP_SHIFT;
    const slotGranules = ((info >>> SlabInfo.CLASS_SHIFT) & SlabInfo.CLASS_MASK) + 1;
    const j = q + (info & SlabInfo.BIAS_MASK);
    // j < 512 + 64, so the word read lies in the page even when ptr is no slot (refuseFree says why).
    const nibbleWord = h + (j >>> 3);
    const shift = (j & 7) << 2;
    const nibbles = words[nibbleWord]!;
    const nibble = (nibbles >>> shift) & 15;
    if (nibble === 0 || j < SlabWord.FIRST_NIBBLE || g !== q * slotGranules + ((info >>> SlabInfo.PHASE_SHIFT) & SlabInfo.PHASE_MASK)) this.refuseFree(ptr, s);
    words[nibbleWord] = nibbles & ~(15 << shift);
    const state = words[h]!;
    const oldFree = state & SlabState.FREE_MASK;
    words[ptr >>> 2] = oldFree;
    words[h] = state - oldFree - SlabState.LIVE_ONE + offset;
    words[Word.LIVE_HEADROOM]! += (slotGranules << Layout.GRANULE_LOG2) + 1 - nibble; // core.subtractLiveBytes, written out
    if (oldFree === 0) this.relist(s);
    // The slab emptied: released, unless it heads its class's list (malloc takes from it next).
    // A slab with a free slot is listed, so a PREV link of 0 means it heads its class's list.
    else if (((state >>> SlabState.LIVE_SHIFT) & SlabState.LIVE_MASK) === 1 && words[h + SlabWord.PREV] !== 0) this.releaseSlab(s);
  }

  /**
   * Slab s was full and has a free slot again: back on the front of its class's list. The head
   * it displaces is released if it is empty (it was kept only while malloc took from it next),
   * so a class keeps at most one empty slab, at its head (mimalloc's _mi_page_retire, in
   * src/page.c, keeps an empty page only when it is its class's only page, for the same reason).
   */
  private relist(s: number): void {
    const words = this.core.freshWords();
    const c = slabClassOf(words[(s >>> 2) + SlabWord.INFO]!);
    const head = words[Word.SLAB_HEADS + c]!;
    if (head !== 0 && liveSlotsOf(words[(head >>> 2) + SlabWord.STATE]!) === 0) this.releaseSlab(head);
    pushSlab(this.core.freshWords(), Word.SLAB_HEADS + c, s, SlabWord.NEXT, SlabWord.PREV);
  }

  /** True when the page holding ptr (below the views' end) is a slab page. */
  holds(ptr: number): boolean {
    return ((this.store.u32[Gauge.PAGE_MAP_WORD + (ptr >>> (Layout.PAGE_SHIFT + 5))]! >>> ((ptr >>> Layout.PAGE_SHIFT) & 31)) & 1) !== 0;
  }

  /** Bytes of each slot of the slab holding ptr. */
  slotBytesAt(ptr: number): number {
    return this.slotBytesOf(slabOf(ptr));
  }

  /** Requested bytes of the live slot at ptr, or an `InvalidFreeError`. */
  requestedAt(ptr: number): number {
    const nibble = this.liveNibble(ptr);
    return this.slotBytesAt(ptr) + 1 - ((this.store.u32[Math.floor(nibble / 8)]! >>> ((nibble & 7) << 2)) & 15);
  }

  /**
   * Resizes the live slot at ptr in place to `size` bytes when the size keeps its class;
   * returns the old request, or -1 (nothing changed) when the block must move.
   */
  resize(ptr: number, size: number): number {
    const nibble = this.liveNibble(ptr);
    const nibbleWord = Math.floor(nibble / 8);
    const shift = (nibble & 7) << 2;
    const slotBytes = this.slotBytesAt(ptr);
    const words = this.store.u32;
    const oldRequested = slotBytes + 1 - ((words[nibbleWord]! >>> shift) & 15);
    if (size > slotBytes || size + Layout.GRANULE <= slotBytes) return -1;
    words[nibbleWord] = (words[nibbleWord]! & ~(15 << shift)) | ((1 + slotBytes - size) << shift);
    this.core.subtractLiveBytes(words, oldRequested);
    this.core.addLiveBytes(words, size);
    return oldRequested;
  }

  /**
   * Where the nibble of the live slot at ptr is, as its word index times 8 plus its place in the
   * word (a number, not an object: realloc calls this on every small block it resizes), or an
   * `InvalidFreeError`.
   */
  private liveNibble(ptr: number): number {
    const s = slabOf(ptr);
    const words = this.store.u32;
    const j = slotNibbleIndex(ptr, words[(s >>> 2) + SlabWord.INFO]!);
    if (j < 0) this.notASlot(ptr, s);
    const nibbleWord = (s >>> 2) + (j >>> 3);
    if (((words[nibbleWord]! >>> ((j & 7) << 2)) & 15) === 0) {
      if (ptr >= words[(s >>> 2) + SlabWord.BUMP]!) this.notASlot(ptr, s);
      throw new InvalidFreeError(ptr, "the block is free");
    }
    return nibbleWord * 8 + (j & 7);
  }

  private slotBytesOf(s: number): number {
    return (slabClassOf(this.store.u32[(s >>> 2) + SlabWord.INFO]!) + 1) * Layout.GRANULE;
  }

  private notASlot(p: number, s: number): never {
    throw new InvalidFreeError(p, `not the start of a slot in the ${this.slotBytesOf(s)}-byte slab at ${s - Layout.HEADER_BYTES}`);
  }

  /** A slot start in slab s whose nibble is 0: freed already, or never handed out. */
  private notLive(p: number, s: number): never {
    if (p >= this.store.u32[(s >>> 2) + SlabWord.BUMP]!) this.notASlot(p, s);
    throw new DoubleFreeError(p);
  }

  /** free's slow path: p, in slab s, is not a slot start, or its slot is not live. */
  private refuseFree(p: number, s: number): never {
    if (slotNibbleIndex(p, this.store.u32[(s >>> 2) + SlabWord.INFO]!) < 0) this.notASlot(p, s);
    this.notLive(p, s);
  }

  /** Moves the mallocs counted in slab s's state word to the heap's count; returns s. */
  private countSlabMallocs(s: number): number {
    const words = this.store.u32;
    const state = words[(s >>> 2) + SlabWord.STATE]!;
    this.store.f64[Gauge.MALLOC_COUNT]! += state >>> SlabState.MALLOCS_SHIFT;
    words[(s >>> 2) + SlabWord.STATE] = state & (SlabState.MALLOCS_ONE - 1);
    return s;
  }

  // ---- Slabs (slow path) -------------------------------------------------------------------

  /**
   * A slab for class c, which has none with a free slot: the empty slab heading another class's
   * list, re-formed (all slabs are one page, so the empty slabs the classes keep serve any class
   * before the heap grows), else a new page.
   */
  private newSlab(c: number): number {
    const empty = this.emptyHead();
    if (empty !== 0) {
      this.countSlabMallocs(empty);
      unlinkSlab(this.store.u32, Word.SLAB_HEADS + slabClassOf(this.store.u32[(empty >>> 2) + SlabWord.INFO]!), empty, SlabWord.NEXT, SlabWord.PREV);
      this.formSlab(empty, c);
      return empty;
    }
    const p = this.tlsf.allocBlock(Layout.SLAB_PAGE_BYTES, Layout.SLAB_BLOCK_PAYLOAD, Layout.SLAB_PAGE_BYTES, Layout.HEADER_BYTES);
    if (p === 0) return 0;
    this.formSlab(p, c);
    setPageBit(this.store.u32, Gauge.PAGE_MAP_WORD, p, true, Layout.PAGE_SHIFT);
    this.store.f64[Gauge.SLAB_PAGES]! += 1;
    return p;
  }

  /** An empty slab that heads its class's list (every empty slab does), or 0: one pass over the heads. */
  private emptyHead(): number {
    const words = this.store.u32;
    for (let k = 0; k < Layout.SMALL_CLASS_COUNT; k++) {
      const s = words[Word.SLAB_HEADS + k]!;
      if (s !== 0 && liveSlotsOf(words[(s >>> 2) + SlabWord.STATE]!) === 0) return s;
    }
    return 0;
  }

  /** Writes the header of an empty slab of class c at s (all its nibbles 0) and puts it at the head of c's list. */
  private formSlab(s: number, c: number): void {
    const words = this.store.u32;
    const h = s >>> 2;
    const { firstSlot, info } = SLAB_CLASSES[c]!;
    words.fill(0, h, (s + firstSlot) >>> 2);
    words[h + SlabWord.INFO] = info;
    words[h + SlabWord.BUMP] = s + firstSlot;
    this.refill(s, c);
    pushSlab(words, Word.SLAB_HEADS + c, s, SlabWord.NEXT, SlabWord.PREV);
  }

  /** The free list of slab s just ran dry: thread more never-used slots, or unlink s (full). */
  private refillOrUnlink(s: number, c: number): void {
    const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[c]!;
    if (this.store.u32[(s >>> 2) + SlabWord.BUMP]! < s + firstSlot + capacity * slotBytes) this.refill(s, c);
    else unlinkSlab(this.core.freshWords(), Word.SLAB_HEADS + c, s, SlabWord.NEXT, SlabWord.PREV);
  }

  /** Threads up to SLAB_REFILL_SLOTS slots from the bump onto the (empty) free list of s. */
  private refill(s: number, c: number): void {
    const words = this.store.u32;
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
    const words = this.core.freshWords();
    unlinkSlab(words, Word.SLAB_HEADS + slabClassOf(words[(s >>> 2) + SlabWord.INFO]!), s, SlabWord.NEXT, SlabWord.PREV);
    setPageBit(words, Gauge.PAGE_MAP_WORD, s, false, Layout.PAGE_SHIFT);
    this.store.f64[Gauge.SLAB_PAGES]! -= 1;
    this.tlsf.freeBlock(s, this.tlsf.sizeOf(s));
  }
}

/** s of the slab holding ptr: the page's start plus the TLSF header. */
function slabOf(ptr: number): number {
  return ptr - (ptr & (Layout.SLAB_PAGE_BYTES - 1)) + Layout.HEADER_BYTES;
}

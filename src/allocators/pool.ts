/**
 * Pool: a slab allocator of fixed-size objects. malloc pops the first slot of the current slab's
 * free list (or carves the next never-used slot) and free pushes it back: O(1) both ways.
 * Everything, lists and counters included, lives in the byte store.
 *
 * The bytes and the invariants are drawn in pool-layout.ts; `check()` is pool-check.ts.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, InvalidFreeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { type AllocatorStoreOptions, openStore } from "./common.js";
import { assembleStats, holeStats } from "./stats.js";
import { checkPool } from "./pool-check.js";
import { Ctrl, Fold, type ListHead, POOL_MAGIC, POOL_MAX_ALIGN, poolGeometry, Slab, SlabState, Slot } from "./pool-layout.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { checkAlign, checkPointerType, checkSize } from "./validate.js";

export interface PoolOptions extends AllocatorStoreOptions {
  /** Bytes per object. @defaultValue 64 (DEFAULT_OBJECT_BYTES, pool-layout.ts) */
  objectBytes?: number;
  /** Bytes per slab, a power of two. @defaultValue 16384, or more to hold 8 objects */
  slabBytes?: number;
}

/**
 * A pool of fixed-size objects in slabs: O(1) malloc and free, slabs released when they empty.
 * Every request must fit in `objectBytes`.
 *
 * @example
 * ```ts
 * const pool = new Pool({ objectBytes: 48 });
 * const p = pool.malloc(48);
 * pool.store.u32[p >>> 2] = 7;        // through the store's views
 * pool.free(p);
 * ```
 */
export class Pool implements Allocator {
  readonly name = "pool";
  readonly store: ByteStore;
  /** Bytes every object may use. */
  readonly objectBytes: number;
  readonly slabBytes: number;
  /** Distance between objects: the slot header plus objectBytes rounded up to 8. */
  readonly stride: number;
  readonly objectsPerSlab: number;
  /** The first object's offset from its slab's start. */
  readonly firstObject = Slab.FIRST_OBJECT;
  /** One past the last object's offset from its slab's start. */
  private readonly objectsEnd: number;
  /** slabBytes - 1: an offset's bits within its slab (past the control block). */
  private readonly slabMask: number;
  /** stride = odd · 2^strideZeros; strideInverse = odd⁻¹ mod 2^32 (as an int32). */
  private readonly strideZeros: number;
  private readonly strideInverse: number;

  constructor(options: PoolOptions = {}) {
    const g = poolGeometry(options.objectBytes, options.slabBytes);
    this.objectBytes = g.objectBytes;
    this.slabBytes = g.slabBytes;
    this.stride = g.stride;
    this.objectsPerSlab = g.objectsPerSlab;
    this.objectsEnd = g.objectsEnd;
    this.strideZeros = g.strideZeros;
    this.strideInverse = g.strideInverse;
    this.slabMask = g.slabBytes - 1;
    this.store = openStore(options, Ctrl.BYTES, this.name);
    const u32 = this.store.u32;
    this.store.u8.fill(0, 0, this.store.committedBytes); // a store passed in may hold old bytes that look like slab headers
    u32[Ctrl.MAGIC >>> 2] = POOL_MAGIC;
    u32[Ctrl.OBJECT_BYTES >>> 2] = g.objectBytes;
    u32[Ctrl.SLAB_BYTES >>> 2] = g.slabBytes;
    this.store.f64[Ctrl.PEAK_EXTENT_BYTES >>> 3] = Ctrl.BYTES;
  }

  // ---- Fast path ----------------------------------------------------------------------------

  malloc(size: number, align = 8): number {
    if (!(typeof size === "number" && (size >>> 0) === size && size <= this.objectBytes)) checkSize(size, this.objectBytes);
    if (align !== 8) checkAlign(align, POOL_MAX_ALIGN);
    const u32 = this.store.u32;
    const slab = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    let ptr = u32[(slab + Slab.FREE_HEAD) >>> 2]!;
    if (slab === 0) return this.mallocFromAnotherSlab(size);
    if (ptr !== 0) {
      u32[(slab + Slab.FREE_HEAD) >>> 2] = u32[(ptr + Slot.NEXT_FREE) >>> 2]!;
      u32[(slab + Slab.FREED) >>> 2]! -= this.stride;
      const pops = u32[(slab + Slab.POPS) >>> 2]! + 1;
      if (pops === Fold.POPS) this.foldPops(slab);
      else u32[(slab + Slab.POPS) >>> 2] = pops;
    } else {
      ptr = u32[(slab + Slab.BUMP) >>> 2]!;
      if (ptr - slab >= this.objectsEnd) return this.mallocFromAnotherSlab(size);
      u32[(slab + Slab.BUMP) >>> 2] = ptr + this.stride;
    }
    u32[(ptr + Slot.REQUESTED) >>> 2] = size + 1;
    this.addLiveBytes(size);
    return ptr;
  }

  /** Live bytes grow by `bytes` (negative: shrink): out of the headroom, then raising the peak. */
  private addLiveBytes(bytes: number): void {
    const u32 = this.store.u32;
    const headroom = u32[Ctrl.LIVE_HEADROOM >>> 2]! - bytes;
    if (headroom >= 0) {
      u32[Ctrl.LIVE_HEADROOM >>> 2] = headroom;
    } else {
      u32[Ctrl.LIVE_HEADROOM >>> 2] = 0;
      u32[Ctrl.PEAK_LIVE_BYTES >>> 2]! -= headroom;
    }
  }

  free(ptr: number): void {
    const u32 = this.store.u32;
    const slab = this.slabOf(ptr);
    const bump = u32[(slab + Slab.BUMP) >>> 2]!;
    if (!this.isCarved(ptr, slab, bump)) throw this.invalidFree(ptr);
    const requested = u32[(ptr + Slot.REQUESTED) >>> 2]! - 1;
    if (requested < 0) throw new DoubleFreeError(ptr);
    const nextFree = u32[(slab + Slab.FREE_HEAD) >>> 2]!;
    u32[(ptr + Slot.REQUESTED) >>> 2] = Slot.FREE;
    u32[(ptr + Slot.NEXT_FREE) >>> 2] = nextFree;
    u32[(slab + Slab.FREE_HEAD) >>> 2] = ptr;
    const freed = u32[(slab + Slab.FREED) >>> 2]! + this.stride;
    u32[(slab + Slab.FREED) >>> 2] = freed;
    u32[Ctrl.LIVE_HEADROOM >>> 2]! += requested;
    // Only a slab that had no free object can be FULL (off every list) or newly empty.
    const empty = freed === bump - slab - Slab.FIRST_OBJECT;
    if (empty || nextFree === 0) this.afterFreeSlow(slab, empty);
  }

  /** Index of the object's first element in `store.f64` (objects are 8-aligned). */
  f64Index(ptr: number): number {
    return ptr >>> 3;
  }

  /** Index of the object's first element in `store.u32` / `store.i32`. */
  u32Index(ptr: number): number {
    return ptr >>> 2;
  }

  // ---- Slow paths ---------------------------------------------------------------------------

  /**
   * The head slab is full (or there is none): retire full heads, then reuse or add a slab. A slab
   * with room is found (or added) before anything is retired, so a malloc that returns 0 changes
   * no byte of the store.
   */
  private mallocFromAnotherSlab(size: number): number {
    const before = this.store.u32;
    let roomy = before[Ctrl.AVAILABLE_HEAD >>> 2]!;
    while (roomy !== 0 && this.isFull(roomy)) roomy = before[(roomy + Slab.NEXT) >>> 2]!;
    const needSlab = roomy === 0 && before[Ctrl.EMPTY_HEAD >>> 2] === 0;
    const added = needSlab ? this.addSlabAtTop() : 0;
    if (needSlab && added === 0) return 0;
    const u32 = this.store.u32; // addSlabAtTop may have grown the store
    let slab = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    while (slab !== 0 && this.isFull(slab)) {
      this.unlink(Ctrl.AVAILABLE_HEAD, slab);
      u32[(slab + Slab.STATE) >>> 2] = SlabState.FULL;
      slab = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    }
    if (slab === 0) {
      slab = added;
      if (slab === 0) {
        slab = u32[Ctrl.EMPTY_HEAD >>> 2]!;
        this.unlink(Ctrl.EMPTY_HEAD, slab);
      }
      this.linkAfterHead(slab);
    }
    return this.malloc(size);
  }

  private isFull(slab: number): boolean {
    const u32 = this.store.u32;
    return u32[(slab + Slab.FREE_HEAD) >>> 2] === 0 && u32[(slab + Slab.BUMP) >>> 2]! - slab >= this.objectsEnd;
  }

  /** A slab's POPS word reached Fold.POPS: it goes into MALLOC_COUNT. */
  private foldPops(slab: number): void {
    this.store.f64[Ctrl.MALLOC_COUNT >>> 3]! += Fold.POPS;
    this.store.u32[(slab + Slab.POPS) >>> 2] = 0;
  }

  /**
   * After a free into a slab that was full or is now empty: a slab that was full gets in line
   * behind the head; one that emptied starts afresh (its mallocs folded into MALLOC_COUNT) and,
   * unless it is the head, goes to the empty list.
   */
  private afterFreeSlow(slab: number, empty: boolean): void {
    const u32 = this.store.u32;
    if (u32[(slab + Slab.STATE) >>> 2] === SlabState.FULL) this.linkAfterHead(slab);
    if (!empty) return;
    const bump = u32[(slab + Slab.BUMP) >>> 2]!;
    this.store.f64[Ctrl.MALLOC_COUNT >>> 3]! += this.mallocsOf(slab);
    if (bump > u32[(slab + Slab.HIGH) >>> 2]!) u32[(slab + Slab.HIGH) >>> 2] = bump;
    u32[(slab + Slab.BUMP) >>> 2] = slab + Slab.FIRST_OBJECT;
    u32[(slab + Slab.FREE_HEAD) >>> 2] = 0;
    u32[(slab + Slab.FREED) >>> 2] = 0;
    u32[(slab + Slab.POPS) >>> 2] = 0;
    if (slab !== u32[Ctrl.AVAILABLE_HEAD >>> 2]) {
      this.unlink(Ctrl.AVAILABLE_HEAD, slab);
      this.linkFront(Ctrl.EMPTY_HEAD, slab);
      u32[(slab + Slab.STATE) >>> 2] = SlabState.EMPTY;
      this.releaseEmptySlabsAtTop();
    }
  }

  /** A new slab above the others, O(1): its objects are carved from `bump` as needed. */
  private addSlabAtTop(): number {
    const count = this.store.u32[Ctrl.SLAB_COUNT >>> 2]!;
    const slab = this.slabAt(count);
    if (!this.store.grow(slab + this.slabBytes)) return 0;
    const u32 = this.store.u32;
    u32.fill(0, slab >>> 2, (slab + Slab.HEADER_BYTES) >>> 2);
    u32[(slab + Slab.BUMP) >>> 2] = slab + Slab.FIRST_OBJECT;
    u32[(slab + Slab.HIGH) >>> 2] = slab + Slab.FIRST_OBJECT;
    u32[Ctrl.SLAB_COUNT >>> 2] = count + 1;
    const f64 = this.store.f64;
    f64[Ctrl.PEAK_EXTENT_BYTES >>> 3] = Math.max(f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!, slab + this.slabBytes);
    return slab;
  }

  /** Drops empty slabs off the top, lowering the extent, and gives the bytes back if it can. */
  private releaseEmptySlabsAtTop(): void {
    const u32 = this.store.u32;
    let count = u32[Ctrl.SLAB_COUNT >>> 2]!;
    while (count > 0 && u32[(this.slabAt(count - 1) + Slab.STATE) >>> 2] === SlabState.EMPTY) {
      const slab = this.slabAt(count - 1);
      this.unlink(Ctrl.EMPTY_HEAD, slab);
      u32[(slab + Slab.BUMP) >>> 2] = 0;
      count--;
    }
    u32[Ctrl.SLAB_COUNT >>> 2] = count;
    this.store.shrink(this.slabAt(count));
  }

  private linkAfterHead(slab: number): void {
    const u32 = this.store.u32;
    const head = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    u32[(slab + Slab.STATE) >>> 2] = SlabState.AVAILABLE;
    if (head === 0) return this.linkFront(Ctrl.AVAILABLE_HEAD, slab);
    const next = u32[(head + Slab.NEXT) >>> 2]!;
    u32[(slab + Slab.PREV) >>> 2] = head;
    u32[(slab + Slab.NEXT) >>> 2] = next;
    u32[(head + Slab.NEXT) >>> 2] = slab;
    if (next !== 0) u32[(next + Slab.PREV) >>> 2] = slab;
  }

  private linkFront(list: ListHead, slab: number): void {
    const u32 = this.store.u32;
    const head = u32[list >>> 2]!;
    u32[(slab + Slab.PREV) >>> 2] = 0;
    u32[(slab + Slab.NEXT) >>> 2] = head;
    if (head !== 0) u32[(head + Slab.PREV) >>> 2] = slab;
    u32[list >>> 2] = slab;
  }

  private unlink(list: ListHead, slab: number): void {
    const u32 = this.store.u32;
    const prev = u32[(slab + Slab.PREV) >>> 2]!;
    const next = u32[(slab + Slab.NEXT) >>> 2]!;
    if (prev === 0) u32[list >>> 2] = next;
    else u32[(prev + Slab.NEXT) >>> 2] = next;
    if (next !== 0) u32[(next + Slab.PREV) >>> 2] = prev;
    u32[(slab + Slab.PREV) >>> 2] = 0;
    u32[(slab + Slab.NEXT) >>> 2] = 0;
  }

  // ---- Addressing and validation ------------------------------------------------------------

  private slabAt(index: number): number {
    return Ctrl.BYTES + index * this.slabBytes;
  }

  /** The start of the slab-sized stretch holding integer offset `ptr` (garbage for other numbers). */
  private slabOf(ptr: number): number {
    checkPointerType(ptr);
    return ptr - ((ptr - Ctrl.BYTES) & this.slabMask);
  }

  /**
   * `ptr` is a carved object of `slab` (live, or on the free list): an integer on a slot
   * boundary below the slab's `bump`. O(1) and division-free (see the top of the file).
   */
  private isCarved(ptr: number, slab: number, bump: number): boolean {
    // `| 0` lets V8 read the field as a small integer (Math.imul alone converts it through a double).
    const q = Math.imul(ptr - slab - Slab.FIRST_OBJECT, this.strideInverse | 0);
    const index = (q >>> this.strideZeros) | (q << (32 - this.strideZeros));
    return ptr >>> 0 === ptr && index >>> 0 < this.objectsPerSlab && ptr < bump;
  }

  /** Why `ptr`, not a carved object, cannot be freed: the slow half of free's check. */
  private invalidFree(ptr: number): InvalidFreeError {
    if (this.freedBeforeEmptied(ptr)) return new DoubleFreeError(ptr);
    if (this.isObjectOffset(ptr)) return new InvalidFreeError(ptr, "this object was never allocated");
    return new InvalidFreeError(ptr, "not the start of an object of this pool");
  }

  /** `ptr` is an object of a slab in use, carved and freed before the slab last emptied. */
  private freedBeforeEmptied(ptr: number): boolean {
    return this.isObjectOffset(ptr) && ptr < this.store.u32[(this.slabOf(ptr) + Slab.HIGH) >>> 2]!;
  }

  /** `ptr` is where an object of a slab in use would be, carved or not. */
  private isObjectOffset(ptr: number): boolean {
    const slab = this.slabOf(ptr);
    const inSlabs = Number.isInteger(ptr) && slab >= Ctrl.BYTES && slab < this.slabAt(this.store.u32[Ctrl.SLAB_COUNT >>> 2]!);
    return inSlabs && ptr - slab >= Slab.FIRST_OBJECT && (ptr - slab - Slab.FIRST_OBJECT) % this.stride === 0 && ptr - slab < this.objectsEnd;
  }

  /** The request recorded for live object `ptr` (checked like free), and where it is kept. */
  private requestWordOf(ptr: number): number {
    const u32 = this.store.u32;
    const slab = this.slabOf(ptr);
    const carved = this.isCarved(ptr, slab, u32[(slab + Slab.BUMP) >>> 2]!);
    if (carved ? u32[(ptr + Slot.REQUESTED) >>> 2] === Slot.FREE : this.freedBeforeEmptied(ptr)) {
      throw new InvalidFreeError(ptr, "the object was freed");
    }
    if (!carved) throw this.invalidFree(ptr);
    return (ptr + Slot.REQUESTED) >>> 2;
  }

  // ---- The rest of the Allocator contract ---------------------------------------------------

  /** Objects never move: a new size up to objectBytes is recorded in place. */
  realloc(ptr: number, size: number): number {
    const word = this.requestWordOf(ptr);
    checkSize(size, this.objectBytes);
    const u32 = this.store.u32;
    const grown = size - (u32[word]! - 1);
    u32[word] = size + 1;
    this.addLiveBytes(grown);
    return ptr;
  }

  usableSize(ptr: number): number {
    this.requestWordOf(ptr);
    return this.objectBytes;
  }

  /** Frees every object and releases every slab (the store shrinks where it can). */
  reset(): void {
    const u32 = this.store.u32;
    let mallocs = 0;
    for (let k = 0; k < u32[Ctrl.SLAB_COUNT >>> 2]!; k++) {
      mallocs += this.mallocsOf(this.slabAt(k));
      u32[(this.slabAt(k) + Slab.BUMP) >>> 2] = 0;
    }
    this.store.f64[Ctrl.MALLOC_COUNT >>> 3]! += mallocs;
    u32[Ctrl.LIVE_HEADROOM >>> 2] = u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!;
    u32[Ctrl.SLAB_COUNT >>> 2] = 0;
    u32[Ctrl.AVAILABLE_HEAD >>> 2] = 0;
    u32[Ctrl.EMPTY_HEAD >>> 2] = 0;
    this.store.shrink(Ctrl.BYTES);
  }

  stats(): AllocatorStats {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const { blocks, bytes } = this.countLive();
    let mallocCount = f64[Ctrl.MALLOC_COUNT >>> 3]!;
    for (let k = 0; k < u32[Ctrl.SLAB_COUNT >>> 2]!; k++) mallocCount += this.mallocsOf(this.slabAt(k));
    return assembleStats(this.store, {
      liveBlocks: blocks,
      liveBytes: bytes,
      peakLiveBytes: u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!,
      extentBytes: this.slabAt(u32[Ctrl.SLAB_COUNT >>> 2]!),
      peakExtentBytes: f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!,
      ...holeStats(this),
      internalFragmentationBytes: blocks * this.objectBytes - bytes,
      mallocCount,
      freeCount: mallocCount - blocks,
    });
  }

  /** Mallocs from a slab in use not yet in MALLOC_COUNT: its carved objects and its pops. */
  private mallocsOf(slab: number): number {
    const u32 = this.store.u32;
    return (u32[(slab + Slab.BUMP) >>> 2]! - slab - Slab.FIRST_OBJECT) / this.stride + u32[(slab + Slab.POPS) >>> 2]!;
  }

  /** Live objects and the bytes they asked for, from the slot headers. */
  private countLive(): { blocks: number; bytes: number } {
    let blocks = 0;
    let bytes = 0;
    for (const ptr of this.carvedObjects()) {
      const recorded = this.store.u32[(ptr + Slot.REQUESTED) >>> 2]!;
      if (recorded !== Slot.FREE) {
        blocks++;
        bytes += recorded - 1;
      }
    }
    return { blocks, bytes };
  }

  /** Every object ever handed out from the slabs in use, in address order. */
  private *carvedObjects(): IterableIterator<number> {
    const u32 = this.store.u32;
    for (let k = 0; k < u32[Ctrl.SLAB_COUNT >>> 2]!; k++) {
      const slab = this.slabAt(k);
      for (let ptr = slab + Slab.FIRST_OBJECT; ptr < u32[(slab + Slab.BUMP) >>> 2]!; ptr += this.stride) yield ptr;
    }
  }

  /**
   * Control block, then per slab (a group): its header (meta), every slot with its slot header
   * (used, or free whether carved or not), and the tail no slot fits in (pad). With a range, from
   * the slot holding `start` (one division).
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    if (!sink.span(0, Ctrl.BYTES, Span.META, 0, 0, Held.NONE, "control block")) return;
    const count = this.store.u32[Ctrl.SLAB_COUNT >>> 2]!;
    const firstSlab = Math.max(0, Math.floor((sink.from - Ctrl.BYTES) / this.slabBytes));
    for (let k = firstSlab; k < count; k++) {
      const slab = this.slabAt(k);
      sink.enterGroup(slab, this.slabBytes, "slab", this.objectBytes);
      if (!sink.span(slab, Slab.HEADER_BYTES, Span.META, 0, 0, Held.NONE, "slab header")) return;
      const slots = slab + Slab.HEADER_BYTES;
      const bump = this.store.u32[(slab + Slab.BUMP) >>> 2]!;
      const firstSlot = Math.max(0, Math.floor((sink.from - slots) / this.stride));
      for (let i = firstSlot; i < this.objectsPerSlab; i++) {
        const slot = slots + i * this.stride;
        const ptr = slot + Slot.HEADER_BYTES;
        const recorded = ptr < bump ? this.store.u32[(ptr + Slot.REQUESTED) >>> 2]! : Slot.FREE;
        const going = recorded !== Slot.FREE
          ? sink.span(slot, this.stride, Span.USED, ptr, recorded - 1, Held.NONE, "")
          : sink.span(slot, this.stride, Span.FREE, 0, 0, Held.NONE, "");
        if (!going) return;
      }
      const tail = slots + this.objectsPerSlab * this.stride;
      if (tail < slab + this.slabBytes && !sink.span(tail, slab + this.slabBytes - tail, Span.PAD, 0, 0, Held.NONE, "slab tail")) return;
      sink.leaveGroup();
    }
  }

  check(): void {
    checkPool(this.store, this);
  }
}

/**
 * Pool: a slab allocator of fixed-size objects. malloc pops the first slot of the current slab's
 * free list (or carves the next never-used slot) and free pushes it back: O(1) both ways.
 * Everything, lists and counters included, lives in the byte store.
 *
 * Store
 *   0                CONTROL_BYTES     + slabBytes         + 2·slabBytes            extent
 *   ┌────────────────┬─────────────────┬───────────────────┬─── ... ───┬─────────────┐
 *   │ control block  │ slab 0          │ slab 1            │           │ slab n-1    │ (committed)
 *   └────────────────┴─────────────────┴───────────────────┴─── ... ───┴─────────────┘
 *   slab k starts at CONTROL_BYTES + k·slabBytes; slabBytes is a power of two, so the slab of an
 *   offset is one shift.
 *
 * Control block (u32 words, then f64 gauges and counters)
 *   0 MAGIC │ 4 OBJECT_BYTES │ 8 SLAB_BYTES │ 12 SLAB_COUNT │ 16 AVAILABLE_HEAD │ 20 EMPTY_HEAD
 *   24 LIVE_HEADROOM (u32) │ 28 PEAK_LIVE_BYTES (u32) │ 32 PEAK_EXTENT_BYTES │ 40 MALLOC_COUNT │ 48 (unused)
 *   Live bytes are not stored: they are PEAK_LIVE_BYTES - LIVE_HEADROOM, so malloc updates one
 *   word for both (both fit a u32: they are bytes of the store). The f64s are exact to 2^53.
 *   MALLOC_COUNT holds the mallocs folded out of the slabs; mallocCount = MALLOC_COUNT + Σ
 *   (carved + pops) over the slabs in use, and freeCount = mallocCount - live objects (reset()
 *   counts as freeing them). So a malloc that carves counts nothing.
 *
 * Slab
 *   slab      +4     +8     +12    +16     +20    +24    +28     +32
 *   ┌─────────┬──────┬──────┬──────┬───────┬──────┬──────┬───────┬────────────┬────────┬─────┬─────┐
 *   │free head│ freed│ next │ prev │ state │ bump │ high │ pops  │ slot header│ object │ ... │ pad │
 *   └─────────┴──────┴──────┴──────┴───────┴──────┴──────┴───────┴────────────┴────────┴─────┴─────┘
 *   Slot i: an 8-byte header at slab + SLAB_HEADER_BYTES + i·stride, the object right after it
 *   (8-aligned). stride = 8 + objectBytes rounded up to 8.
 *
 *   slot header   ptr-8                      ptr-4
 *                 ┌──────────────────────────┬──────────────────────────┐
 *                 │ 1 + requested (live)     │ next free object         │
 *                 │ 0 (free)                 │ (0 ends the list)        │
 *                 └──────────────────────────┴──────────────────────────┘
 *   bump: the first object not handed out since the slab was last empty. A slab that empties
 *   starts afresh (bump back to the first object, free list dropped), so malloc carves by bump,
 *   with no dependent load, until objects are freed into a slab that still has live ones.
 *   high: the highest bump before the slab last emptied; the objects in [bump, high) are free,
 *   so free() of one is a double free, and objects at or above max(bump, high) were never allocated.
 *   freed: stride × the objects on the free list, so live = (bump - first object - freed) / stride
 *   and free sees the slab empty when freed reaches bump - first object.
 *   pops: mallocs from the free list since the slab was last empty (folded into MALLOC_COUNT when
 *   it empties, and at 2^30 so it stays a small integer).
 *   The header costs 8 bytes per object and buys exact double-free detection and the request
 *   sizes, without touching a second cache line (a side table measured twice as slow).
 *
 * Slab lists (doubly linked through next/prev, heads in the control block)
 *   AVAILABLE: the head is the slab malloc takes from; the others have free slots and live objects.
 *   EMPTY:     no live objects, reused before the store grows. FULL slabs are in no list.
 *   A slab that empties at the top of the store is released (the extent drops, and the store
 *   shrinks where it can); the head is kept even when empty so alloc/free pairs do not thrash.
 *
 * Invariants (checked by `check()`), with carved = (bump - first object) / stride
 *   CONTROL_BYTES + SLAB_COUNT·slabBytes <= committedBytes
 *   per slab: live = #{carved slots with a live header};  |free list| = carved - live = freed / stride
 *   per slab: high is a slot boundary;  slots in [bump, high) have a free header;  pops < 2^30
 *   EMPTY slab: carved = pops = 0 (it started afresh when it emptied, so a release loses no count)
 *   state FULL ⇒ live = objectsPerSlab;  EMPTY ⇒ live = 0;  AVAILABLE, not head ⇒ 0 < live < objectsPerSlab
 *   state = AVAILABLE ⇔ slab is on the available list; state = EMPTY ⇔ on the empty list
 *   the top slab is not EMPTY;  PEAK_LIVE_BYTES - LIVE_HEADROOM = Σ (live header - 1) >= 0
 *   bump = 0 in every slab-sized stretch of committed bytes above the slabs in use, so free's
 *   O(1) check (offset on a slot boundary, below its slab's bump) needs no slab count
 *
 * Sizes: malloc(size) with size > objectBytes throws InvalidSizeError (like any invalid size),
 * so a trace meant for a general allocator fails loudly instead of looking out of memory.
 *
 * free's O(1) check that an offset is an object's uses no division: with stride = odd·2^k and
 * delta = offset - the slab's first object (as a u32), rotr(delta · odd⁻¹ mod 2^32, k) is
 * delta / stride when stride divides delta and above 2^32 / stride otherwise (Granlund and
 * Montgomery, "Division by invariant integers using multiplication", §9), so it is below
 * objectsPerSlab exactly for the slab's object offsets.
 */
import type { Allocator, AllocatorStats, BlockInfo } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidSizeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { type AllocatorStoreOptions, holeStats, openStore } from "./common.js";
import { checkAlign, checkSize } from "./validate.js";

// ---- May be tuned ---------------------------------------------------------------------------
/** Object size when none is given: a cache line. */
export const DEFAULT_OBJECT_BYTES = 64;
/** Smallest slab; larger objects get the smallest power of two holding MIN_OBJECTS_PER_SLAB. */
export const DEFAULT_SLAB_BYTES = 16384;
export const MIN_OBJECTS_PER_SLAB = 8;
/** Largest object size a pool accepts. */
export const MAX_OBJECT_BYTES = 1 << 24;

// ---- Layout: do not modify ------------------------------------------------------------------
/** Every object is 8-aligned: the largest alignment malloc accepts. */
export const POOL_MAX_ALIGN = 8;
const POOL_MAGIC = 0x4c4f4f50; // "POOL"

// Byte offsets as const enums: tsc inlines them as literals, so the fast path does not load
// module-level constants (each such load also checks the binding is initialized).
const enum Ctrl {
  MAGIC = 0,
  OBJECT_BYTES = 4,
  SLAB_BYTES = 8,
  SLAB_COUNT = 12,
  AVAILABLE_HEAD = 16,
  EMPTY_HEAD = 20,
  LIVE_HEADROOM = 24,
  PEAK_LIVE_BYTES = 28,
  PEAK_EXTENT_BYTES = 32,
  MALLOC_COUNT = 40,
  BYTES = 64,
}
export const POOL_CONTROL_BYTES = Ctrl.BYTES;

const enum Slab {
  FREE_HEAD = 0,
  FREED = 4,
  NEXT = 8,
  PREV = 12,
  STATE = 16,
  BUMP = 20,
  HIGH = 24,
  POPS = 28,
  HEADER_BYTES = 32,
  /** The first object: after the slab header and its slot header. */
  FIRST_OBJECT = 40,
}
export const SLAB_HEADER_BYTES = Slab.HEADER_BYTES;

/** Slot header words, from the object's offset. */
const enum Slot {
  HEADER_BYTES = 8,
  REQUESTED = -8,
  NEXT_FREE = -4,
  /** The REQUESTED word of a free object. */
  FREE = 0,
}
export const SLOT_HEADER_BYTES = Slot.HEADER_BYTES;

const enum SlabState {
  AVAILABLE = 1,
  FULL = 2,
  EMPTY = 3,
}
type ListHead = Ctrl.AVAILABLE_HEAD | Ctrl.EMPTY_HEAD;

/** A slab's POPS word is folded into MALLOC_COUNT when it reaches this (it stays a small integer). */
const enum Fold {
  POPS = 0x40000000,
}

export interface PoolOptions extends AllocatorStoreOptions {
  /** Bytes per object. @defaultValue 64 (DEFAULT_OBJECT_BYTES) */
  objectBytes?: number;
  /** Bytes per slab, a power of two. @defaultValue 16384, or more to hold 8 objects */
  slabBytes?: number;
}

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
    const objectBytes = options.objectBytes ?? DEFAULT_OBJECT_BYTES;
    if (!(Number.isSafeInteger(objectBytes) && objectBytes >= 1 && objectBytes <= MAX_OBJECT_BYTES)) {
      throw new InvalidSizeError(objectBytes, `objectBytes must be an integer from 1 to ${MAX_OBJECT_BYTES}`);
    }
    this.objectBytes = objectBytes;
    this.stride = Slot.HEADER_BYTES + Math.ceil(objectBytes / 8) * 8;
    const smallest = Slab.HEADER_BYTES + MIN_OBJECTS_PER_SLAB * this.stride;
    const slabBytes = options.slabBytes ?? Math.max(DEFAULT_SLAB_BYTES, 2 ** Math.ceil(Math.log2(smallest)));
    if (!(Number.isSafeInteger(slabBytes) && slabBytes >= 64 && (slabBytes & (slabBytes - 1)) === 0)) {
      throw new InvalidSizeError(slabBytes, "slabBytes must be a power of two, at least 64");
    }
    this.slabBytes = slabBytes;
    this.slabMask = slabBytes - 1;
    this.objectsPerSlab = Math.floor((slabBytes - Slab.HEADER_BYTES) / this.stride);
    if (this.objectsPerSlab < 1) throw new InvalidSizeError(slabBytes, `slabBytes cannot hold one ${objectBytes}-byte object`);
    this.objectsEnd = Slab.FIRST_OBJECT + this.objectsPerSlab * this.stride;
    this.strideZeros = 31 - Math.clz32(this.stride & -this.stride);
    const odd = this.stride >>> this.strideZeros;
    let inverse = odd; // Newton's iteration doubles the correct low bits: 3, 6, 12, 24, 48
    for (let i = 0; i < 4; i++) inverse = Math.imul(inverse, 2 - Math.imul(odd, inverse));
    this.strideInverse = inverse;
    this.store = openStore(options, Ctrl.BYTES, this.name);
    const u32 = this.store.u32;
    this.store.u8.fill(0); // a store passed in may hold old bytes that look like slab headers
    u32[Ctrl.MAGIC >>> 2] = POOL_MAGIC;
    u32[Ctrl.OBJECT_BYTES >>> 2] = objectBytes;
    u32[Ctrl.SLAB_BYTES >>> 2] = slabBytes;
    this.store.f64[Ctrl.PEAK_EXTENT_BYTES >>> 3] = Ctrl.BYTES;
  }

  // ---- Fast path ----------------------------------------------------------------------------

  malloc(size: number, align = 8): number {
    if (!((size >>> 0) === size && size <= this.objectBytes)) checkSize(size, this.objectBytes);
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

  /** The head slab is full (or there is none): retire full heads, then reuse or add a slab. */
  private mallocFromAnotherSlab(size: number): number {
    const u32 = this.store.u32;
    let slab = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    while (slab !== 0 && this.isFull(slab)) {
      this.unlink(Ctrl.AVAILABLE_HEAD, slab);
      u32[(slab + Slab.STATE) >>> 2] = SlabState.FULL;
      slab = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    }
    if (slab === 0) {
      slab = u32[Ctrl.EMPTY_HEAD >>> 2]!;
      if (slab !== 0) this.unlink(Ctrl.EMPTY_HEAD, slab);
      else slab = this.addSlabAtTop();
      if (slab === 0) return 0;
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
    return {
      liveBlocks: blocks,
      liveBytes: bytes,
      peakLiveBytes: u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!,
      extentBytes: this.slabAt(u32[Ctrl.SLAB_COUNT >>> 2]!),
      peakExtentBytes: f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!,
      committedBytes: this.store.committedBytes,
      reservedBytes: this.store.reservedBytes,
      ...holeStats(this.walk()),
      internalFragmentationBytes: blocks * this.objectBytes - bytes,
      mallocCount,
      freeCount: mallocCount - blocks,
    };
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
   * Control block, then per slab: its header (meta), every slot (used at its object, spanning
   * its slot header; free otherwise, carved or not), and the tail no slot fits in (meta).
   */
  *walk(): IterableIterator<BlockInfo> {
    yield { offset: 0, sizeBytes: Ctrl.BYTES, state: "meta" };
    for (let k = 0; k < this.store.u32[Ctrl.SLAB_COUNT >>> 2]!; k++) {
      const slab = this.slabAt(k);
      yield { offset: slab, sizeBytes: Slab.HEADER_BYTES, state: "meta" };
      for (let ptr = slab + Slab.FIRST_OBJECT; ptr - slab < this.objectsEnd; ptr += this.stride) {
        const u32 = this.store.u32;
        const live = ptr < u32[(slab + Slab.BUMP) >>> 2]! && u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE;
        yield live ? { offset: ptr, sizeBytes: this.stride, state: "used" } : { offset: ptr - Slot.HEADER_BYTES, sizeBytes: this.stride, state: "free" };
      }
      const tail = this.slabBytes - this.objectsEnd + Slot.HEADER_BYTES;
      if (tail > 0) yield { offset: slab + this.slabBytes - tail, sizeBytes: tail, state: "meta" };
    }
  }

  check(): void {
    const u32 = this.store.u32;
    const fail = (message: string, offset?: number): never => {
      throw new HeapCorruptionError(`pool: ${message}`, offset);
    };
    if (u32[Ctrl.MAGIC >>> 2] !== POOL_MAGIC) fail("bad magic in the control block", Ctrl.MAGIC);
    if (u32[Ctrl.OBJECT_BYTES >>> 2] !== this.objectBytes || u32[Ctrl.SLAB_BYTES >>> 2] !== this.slabBytes) fail("control block geometry changed");
    const count = u32[Ctrl.SLAB_COUNT >>> 2]!;
    if (this.slabAt(count) > this.store.committedBytes) fail(`${count} slabs do not fit in ${this.store.committedBytes} committed bytes`);
    const head = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
    const listed = new Map<number, number>();
    for (const list of [Ctrl.AVAILABLE_HEAD, Ctrl.EMPTY_HEAD] as const) {
      let prev = 0;
      for (let slab = u32[list >>> 2]!, n = 0; slab !== 0; prev = slab, slab = u32[(slab + Slab.NEXT) >>> 2]!, n++) {
        if (n >= count || (slab - Ctrl.BYTES) % this.slabBytes !== 0 || slab >= this.slabAt(count)) fail("slab list runs outside the slabs or loops", slab);
        if (u32[(slab + Slab.PREV) >>> 2] !== prev) fail("slab list prev link disagrees with next", slab);
        if (listed.has(slab)) fail("slab on two lists", slab);
        listed.set(slab, list === Ctrl.AVAILABLE_HEAD ? SlabState.AVAILABLE : SlabState.EMPTY);
      }
    }
    let liveBytes = 0;
    for (let k = 0; k < count; k++) {
      const slab = this.slabAt(k);
      const state = u32[(slab + Slab.STATE) >>> 2]!;
      if ((listed.get(slab) ?? SlabState.FULL) !== state) fail(`slab state ${state} disagrees with its list`, slab);
      const bump = u32[(slab + Slab.BUMP) >>> 2]!;
      const carved = (bump - slab - Slab.FIRST_OBJECT) / this.stride;
      if (!(Number.isInteger(carved) && carved >= 0 && carved <= this.objectsPerSlab)) fail(`bump ${bump} is not a slot boundary`, slab);
      let live = 0;
      for (let ptr = slab + Slab.FIRST_OBJECT; ptr < bump; ptr += this.stride) {
        const recorded = u32[(ptr + Slot.REQUESTED) >>> 2]!;
        if (recorded === Slot.FREE) continue;
        if (recorded - 1 > this.objectBytes) fail(`object records ${recorded - 1} bytes, more than objectBytes`, ptr);
        live++;
        liveBytes += recorded - 1;
      }
      const high = u32[(slab + Slab.HIGH) >>> 2]!;
      const highSlots = (high - slab - Slab.FIRST_OBJECT) / this.stride;
      if (!(Number.isInteger(highSlots) && highSlots >= 0 && highSlots <= this.objectsPerSlab)) fail(`high ${high} is not a slot boundary`, slab);
      for (let ptr = bump; ptr < high; ptr += this.stride) {
        if (u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE) fail("an object between bump and high is not free", ptr);
      }
      const pops = u32[(slab + Slab.POPS) >>> 2]!;
      if (pops >= Fold.POPS || (state === SlabState.EMPTY && (carved !== 0 || pops !== 0))) fail(`${carved} carved, ${pops} pops: not folded`, slab);
      let free = 0;
      for (let ptr = u32[(slab + Slab.FREE_HEAD) >>> 2]!; ptr !== 0; ptr = u32[(ptr + Slot.NEXT_FREE) >>> 2]!, free++) {
        if (free >= carved || ptr <= slab || ptr >= bump || (ptr - slab - Slab.FIRST_OBJECT) % this.stride !== 0) fail("free list leaves its slab's carved objects or loops", ptr);
        if (u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE) fail("a live object is on the free list", ptr);
      }
      if (free !== carved - live) fail(`${free} objects on the free list, expected ${carved - live}`, slab);
      if (u32[(slab + Slab.FREED) >>> 2] !== free * this.stride) fail(`freed ${u32[(slab + Slab.FREED) >>> 2]} but ${free} objects on the free list`, slab);
      if (state === SlabState.FULL && live !== this.objectsPerSlab) fail("full slab has free slots", slab);
      if (state === SlabState.EMPTY && live !== 0) fail("empty slab has live objects", slab);
      if (state === SlabState.AVAILABLE && slab !== head && (live === 0 || live === this.objectsPerSlab)) fail("available slab behind the head is empty or full", slab);
    }
    if (count > 0 && u32[(this.slabAt(count - 1) + Slab.STATE) >>> 2] === SlabState.EMPTY) fail("an empty slab was left at the top");
    for (let slab = this.slabAt(count); slab + Slab.HEADER_BYTES <= this.store.committedBytes; slab += this.slabBytes) {
      if (u32[(slab + Slab.BUMP) >>> 2] !== 0) fail("a released slab still has a bump", slab);
    }
    const peak = u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!;
    const headroom = u32[Ctrl.LIVE_HEADROOM >>> 2]!;
    if (headroom > peak || peak - headroom !== liveBytes) fail(`PEAK_LIVE_BYTES ${peak} - LIVE_HEADROOM ${headroom} but objects hold ${liveBytes}`);
  }
}

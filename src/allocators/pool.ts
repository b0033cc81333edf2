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
 *   24 LIVE_BYTES (u32) │ 32 PEAK_LIVE_BYTES (u32) │ 40 PEAK_EXTENT_BYTES │ 48 MALLOC_COUNT │ 56 (unused)
 *   Live bytes fit a u32 (they are bytes of the store); the counters are f64 (exact to 2^53).
 *   freeCount is not stored: it is MALLOC_COUNT - live objects (reset() counts as freeing them).
 *
 * Slab
 *   slab      +4     +8     +12    +16     +20    +24
 *   ┌─────────┬──────┬──────┬──────┬───────┬──────┬──────┬────────┬──────┬────────┬─────┬─────┐
 *   │free head│ live │ next │ prev │ state │ bump │ slot header│ object │ slot header│ ... │ pad │
 *   └─────────┴──────┴──────┴──────┴───────┴──────┴──────┴────────┴──────┴────────┴─────┴─────┘
 *   Slot i: an 8-byte header at slab + SLAB_HEADER_BYTES + i·stride, the object right after it
 *   (8-aligned). stride = 8 + objectBytes rounded up to 8.
 *
 *   slot header   ptr-8                      ptr-4
 *                 ┌──────────────────────────┬──────────────────────────┐
 *                 │ 1 + requested (live)     │ next free object         │
 *                 │ 0 (free)                 │ (0 ends the list)        │
 *                 └──────────────────────────┴──────────────────────────┘
 *   bump: the first object never handed out; objects at or above it were never allocated.
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
 *   per slab: live = #{carved slots with a live header};  |free list| = carved - live
 *   state FULL ⇒ live = objectsPerSlab;  EMPTY ⇒ live = 0;  AVAILABLE, not head ⇒ 0 < live < objectsPerSlab
 *   state = AVAILABLE ⇔ slab is on the available list; state = EMPTY ⇔ on the empty list
 *   the top slab is not EMPTY;  LIVE_BYTES = Σ (live header - 1);  PEAK_LIVE_BYTES >= LIVE_BYTES
 *   bump = 0 in every slab-sized stretch of committed bytes above the slabs in use, so free's
 *   O(1) check (offset on a slot boundary, below its slab's bump) needs no slab count
 *
 * Sizes: malloc(size) with size > objectBytes throws InvalidSizeError (like any invalid size),
 * so a trace meant for a general allocator fails loudly instead of looking out of memory.
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
  LIVE_BYTES = 24,
  PEAK_LIVE_BYTES = 32,
  PEAK_EXTENT_BYTES = 40,
  MALLOC_COUNT = 48,
  BYTES = 64,
}
export const POOL_CONTROL_BYTES = Ctrl.BYTES;

const enum Slab {
  FREE_HEAD = 0,
  LIVE = 4,
  NEXT = 8,
  PREV = 12,
  STATE = 16,
  BUMP = 20,
  HEADER_BYTES = 24,
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
  readonly firstObject = Slab.HEADER_BYTES + Slot.HEADER_BYTES;
  /** One past the last object's offset from its slab's start. */
  private readonly objectsEnd: number;
  private readonly slabShift: number;

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
    this.slabShift = Math.log2(slabBytes);
    this.objectsPerSlab = Math.floor((slabBytes - Slab.HEADER_BYTES) / this.stride);
    if (this.objectsPerSlab < 1) throw new InvalidSizeError(slabBytes, `slabBytes cannot hold one ${objectBytes}-byte object`);
    this.objectsEnd = this.firstObject + this.objectsPerSlab * this.stride;
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
    } else {
      ptr = u32[(slab + Slab.BUMP) >>> 2]!;
      if (ptr - slab >= this.objectsEnd) return this.mallocFromAnotherSlab(size);
      u32[(slab + Slab.BUMP) >>> 2] = ptr + this.stride;
    }
    u32[(ptr + Slot.REQUESTED) >>> 2] = size + 1;
    u32[(slab + Slab.LIVE) >>> 2]!++;
    const f64 = this.store.f64;
    const live = u32[Ctrl.LIVE_BYTES >>> 2]! + size;
    u32[Ctrl.LIVE_BYTES >>> 2] = live;
    if (live > u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!) u32[Ctrl.PEAK_LIVE_BYTES >>> 2] = live;
    f64[Ctrl.MALLOC_COUNT >>> 3]!++;
    return ptr;
  }

  free(ptr: number): void {
    const slab = this.carvedSlabOf(ptr);
    const u32 = this.store.u32;
    const requested = u32[(ptr + Slot.REQUESTED) >>> 2]! - 1;
    if (requested < 0) throw new DoubleFreeError(ptr);
    const nextFree = u32[(slab + Slab.FREE_HEAD) >>> 2]!;
    u32[(ptr + Slot.REQUESTED) >>> 2] = Slot.FREE;
    u32[(ptr + Slot.NEXT_FREE) >>> 2] = nextFree;
    u32[(slab + Slab.FREE_HEAD) >>> 2] = ptr;
    const live = --u32[(slab + Slab.LIVE) >>> 2]!;
    u32[Ctrl.LIVE_BYTES >>> 2]! -= requested;
    // Only a slab that had no free object can be FULL (off every list) or newly empty.
    if (live === 0 || nextFree === 0) this.relistAfterFree(slab, live);
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

  /** A slab that was full gets in line behind the head; one that emptied goes to the empty list. */
  private relistAfterFree(slab: number, live: number): void {
    const u32 = this.store.u32;
    if (u32[(slab + Slab.STATE) >>> 2] === SlabState.FULL) this.linkAfterHead(slab);
    if (live === 0 && slab !== u32[Ctrl.AVAILABLE_HEAD >>> 2]) {
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
    u32[(slab + Slab.BUMP) >>> 2] = slab + this.firstObject;
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
      this.unlink(Ctrl.EMPTY_HEAD, this.slabAt(count - 1));
      u32[(this.slabAt(count - 1) + Slab.BUMP) >>> 2] = 0;
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

  /**
   * The slab of `ptr` if it is a carved object (on a slot boundary below its slab's bump: live,
   * or on the free list); else throws an InvalidFreeError saying why not. O(1): free's check.
   */
  private carvedSlabOf(ptr: number): number {
    const slab = Ctrl.BYTES + ((ptr - Ctrl.BYTES) >>> this.slabShift) * this.slabBytes;
    if (!((ptr - slab - this.firstObject) % this.stride === 0 && ptr < this.store.u32[(slab + Slab.BUMP) >>> 2]!)) {
      throw this.invalidPointer(ptr);
    }
    return slab;
  }

  /** Why `ptr` is not a carved object: the slow half of free's check. */
  private invalidPointer(ptr: number): InvalidFreeError {
    const u32 = this.store.u32;
    const slab = this.slabAt(Math.floor((ptr - Ctrl.BYTES) / this.slabBytes));
    const inSlabs = Number.isInteger(ptr) && ptr > slab && slab >= Ctrl.BYTES && slab < this.slabAt(u32[Ctrl.SLAB_COUNT >>> 2]!);
    if (!inSlabs || (ptr - slab - this.firstObject) % this.stride !== 0 || ptr - slab >= this.objectsEnd) {
      return new InvalidFreeError(ptr, "not the start of an object of this pool");
    }
    return new InvalidFreeError(ptr, "this object was never allocated");
  }

  /** The request recorded for live object `ptr` (checked like free), and where it is kept. */
  private requestWordOf(ptr: number): number {
    this.carvedSlabOf(ptr);
    if (this.store.u32[(ptr + Slot.REQUESTED) >>> 2] === Slot.FREE) throw new InvalidFreeError(ptr, "the object was freed");
    return (ptr + Slot.REQUESTED) >>> 2;
  }

  // ---- The rest of the Allocator contract ---------------------------------------------------

  /** Objects never move: a new size up to objectBytes is recorded in place. */
  realloc(ptr: number, size: number): number {
    const word = this.requestWordOf(ptr);
    checkSize(size, this.objectBytes);
    const u32 = this.store.u32;
    const live = u32[Ctrl.LIVE_BYTES >>> 2]! + size - (u32[word]! - 1);
    u32[word] = size + 1;
    u32[Ctrl.LIVE_BYTES >>> 2] = live;
    if (live > u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!) u32[Ctrl.PEAK_LIVE_BYTES >>> 2] = live;
    return ptr;
  }

  usableSize(ptr: number): number {
    this.requestWordOf(ptr);
    return this.objectBytes;
  }

  /** Frees every object and releases every slab (the store shrinks where it can). */
  reset(): void {
    const u32 = this.store.u32;
    for (let k = 0; k < u32[Ctrl.SLAB_COUNT >>> 2]!; k++) u32[(this.slabAt(k) + Slab.BUMP) >>> 2] = 0;
    u32[Ctrl.LIVE_BYTES >>> 2] = 0;
    u32[Ctrl.SLAB_COUNT >>> 2] = 0;
    u32[Ctrl.AVAILABLE_HEAD >>> 2] = 0;
    u32[Ctrl.EMPTY_HEAD >>> 2] = 0;
    this.store.shrink(Ctrl.BYTES);
  }

  stats(): AllocatorStats {
    const f64 = this.store.f64;
    const { blocks, bytes } = this.countLive();
    return {
      liveBlocks: blocks,
      liveBytes: bytes,
      peakLiveBytes: this.store.u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!,
      extentBytes: this.slabAt(this.store.u32[Ctrl.SLAB_COUNT >>> 2]!),
      peakExtentBytes: f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!,
      committedBytes: this.store.committedBytes,
      reservedBytes: this.store.reservedBytes,
      ...holeStats(this.walk()),
      internalFragmentationBytes: blocks * this.objectBytes - bytes,
      mallocCount: f64[Ctrl.MALLOC_COUNT >>> 3]!,
      freeCount: f64[Ctrl.MALLOC_COUNT >>> 3]! - blocks,
    };
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
      for (let ptr = slab + this.firstObject; ptr < u32[(slab + Slab.BUMP) >>> 2]!; ptr += this.stride) yield ptr;
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
      for (let ptr = slab + this.firstObject; ptr - slab < this.objectsEnd; ptr += this.stride) {
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
      const carved = (bump - slab - this.firstObject) / this.stride;
      if (!(Number.isInteger(carved) && carved >= 0 && carved <= this.objectsPerSlab)) fail(`bump ${bump} is not a slot boundary`, slab);
      let live = 0;
      for (let ptr = slab + this.firstObject; ptr < bump; ptr += this.stride) {
        const recorded = u32[(ptr + Slot.REQUESTED) >>> 2]!;
        if (recorded === Slot.FREE) continue;
        if (recorded - 1 > this.objectBytes) fail(`object records ${recorded - 1} bytes, more than objectBytes`, ptr);
        live++;
        liveBytes += recorded - 1;
      }
      if (u32[(slab + Slab.LIVE) >>> 2] !== live) fail(`live count ${u32[(slab + Slab.LIVE) >>> 2]} but ${live} live objects`, slab);
      let free = 0;
      for (let ptr = u32[(slab + Slab.FREE_HEAD) >>> 2]!; ptr !== 0; ptr = u32[(ptr + Slot.NEXT_FREE) >>> 2]!, free++) {
        if (free >= carved || ptr <= slab || ptr >= bump || (ptr - slab - this.firstObject) % this.stride !== 0) fail("free list leaves its slab's carved objects or loops", ptr);
        if (u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE) fail("a live object is on the free list", ptr);
      }
      if (free !== carved - live) fail(`${free} objects on the free list, expected ${carved - live}`, slab);
      if (state === SlabState.FULL && live !== this.objectsPerSlab) fail("full slab has free slots", slab);
      if (state === SlabState.EMPTY && live !== 0) fail("empty slab has live objects", slab);
      if (state === SlabState.AVAILABLE && slab !== head && (live === 0 || live === this.objectsPerSlab)) fail("available slab behind the head is empty or full", slab);
    }
    if (count > 0 && u32[(this.slabAt(count - 1) + Slab.STATE) >>> 2] === SlabState.EMPTY) fail("an empty slab was left at the top");
    for (let slab = this.slabAt(count); slab + Slab.HEADER_BYTES <= this.store.committedBytes; slab += this.slabBytes) {
      if (u32[(slab + Slab.BUMP) >>> 2] !== 0) fail("a released slab still has a bump", slab);
    }
    if (u32[Ctrl.LIVE_BYTES >>> 2] !== liveBytes) fail(`LIVE_BYTES ${u32[Ctrl.LIVE_BYTES >>> 2]} but objects hold ${liveBytes}`);
    if (u32[Ctrl.PEAK_LIVE_BYTES >>> 2]! < liveBytes) fail("peak live bytes below live bytes");
  }
}

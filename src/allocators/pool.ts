/**
 * Pool: a slab allocator of fixed-size objects. malloc pops the first slot of the current slab's
 * free list and free pushes it back: O(1) both ways, no header per object. Everything, lists and
 * counters included, lives in the byte store.
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
 *   24 LIVE_BYTES │ 32 PEAK_LIVE_BYTES │ 40 PEAK_EXTENT_BYTES │ 48 MALLOC_COUNT │ 56 FREE_COUNT
 *
 * Slab
 *   slab      +4     +8     +12    +16     +24                       objectsOffset
 *   ┌─────────┬──────┬──────┬──────┬───────┬─────────────────────────┬──────┬──────┬─────┬─────┐
 *   │free head│ live │ next │ prev │ state │ slot words: u32 per slot│ slot │ slot │ ... │ pad │
 *   └─────────┴──────┴──────┴──────┴───────┴─────────────────────────┴──────┴──────┴─────┴─────┘
 *   slot word = 0: never allocated; FREED_SLOT: free; otherwise 1 + requested bytes (live).
 *   A free slot's first u32 is the next free slot of the same slab (0 ends the list).
 *   Slots are `stride` = objectBytes rounded up to 8 bytes apart, so every object is 8-aligned.
 *
 * Slab lists (doubly linked through next/prev, heads in the control block)
 *   AVAILABLE: the head is the slab malloc takes from; the others have free slots and live objects.
 *   EMPTY:     no live objects, reused before the store grows. FULL slabs are in no list.
 *   A slab that empties at the top of the store is released (the extent drops, and the store
 *   shrinks where it can); the head is kept even when empty so alloc/free pairs do not thrash.
 *
 * Invariants (checked by `check()`)
 *   CONTROL_BYTES + SLAB_COUNT·slabBytes <= committedBytes
 *   per slab: live = #{live slot words};  |free list| = objectsPerSlab - live
 *   state FULL ⇒ live = objectsPerSlab;  EMPTY ⇒ live = 0;  AVAILABLE, not head ⇒ 0 < live < objectsPerSlab
 *   state = AVAILABLE ⇔ slab is on the available list; state = EMPTY ⇔ on the empty list
 *   the top slab is not EMPTY;  LIVE_BYTES = Σ (live slot word - 1);  PEAK_LIVE_BYTES >= LIVE_BYTES
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
/** Every slot is 8-aligned: the largest alignment malloc accepts. */
export const POOL_MAX_ALIGN = 8;
const POOL_MAGIC = 0x4c4f4f50; // "POOL"
const FREED_SLOT = 0xffffffff;

const CTRL_MAGIC = 0;
const CTRL_OBJECT_BYTES = 4;
const CTRL_SLAB_BYTES = 8;
const CTRL_SLAB_COUNT = 12;
const CTRL_AVAILABLE_HEAD = 16;
const CTRL_EMPTY_HEAD = 20;
const CTRL_LIVE_BYTES = 24;
const CTRL_PEAK_LIVE_BYTES = 32;
const CTRL_PEAK_EXTENT_BYTES = 40;
const CTRL_MALLOC_COUNT = 48;
const CTRL_FREE_COUNT = 56;
export const POOL_CONTROL_BYTES = 64;

const SLAB_FREE_HEAD = 0;
const SLAB_LIVE = 4;
const SLAB_NEXT = 8;
const SLAB_PREV = 12;
const SLAB_STATE = 16;
const SLAB_SLOT_WORDS = 24;

const STATE_AVAILABLE = 1;
const STATE_FULL = 2;
const STATE_EMPTY = 3;
type ListHead = typeof CTRL_AVAILABLE_HEAD | typeof CTRL_EMPTY_HEAD;

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
  /** Distance between objects: objectBytes rounded up to 8. */
  readonly stride: number;
  readonly objectsPerSlab: number;
  /** Where the first slot starts, from the slab's start. */
  readonly objectsOffset: number;
  private readonly slabShift: number;

  constructor(options: PoolOptions = {}) {
    const objectBytes = options.objectBytes ?? DEFAULT_OBJECT_BYTES;
    if (!(Number.isSafeInteger(objectBytes) && objectBytes >= 1 && objectBytes <= MAX_OBJECT_BYTES)) {
      throw new InvalidSizeError(objectBytes, `objectBytes must be an integer from 1 to ${MAX_OBJECT_BYTES}`);
    }
    this.objectBytes = objectBytes;
    this.stride = Math.ceil(objectBytes / 8) * 8;
    const smallest = SLAB_SLOT_WORDS + MIN_OBJECTS_PER_SLAB * (4 + this.stride) + 8;
    const slabBytes = options.slabBytes ?? Math.max(DEFAULT_SLAB_BYTES, 2 ** Math.ceil(Math.log2(smallest)));
    if (!(Number.isSafeInteger(slabBytes) && slabBytes >= 64 && (slabBytes & (slabBytes - 1)) === 0)) {
      throw new InvalidSizeError(slabBytes, "slabBytes must be a power of two, at least 64");
    }
    this.slabBytes = slabBytes;
    this.slabShift = Math.log2(slabBytes);
    let n = Math.floor((slabBytes - SLAB_SLOT_WORDS) / (4 + this.stride));
    while (n > 0 && slotsOffset(n) + n * this.stride > slabBytes) n--;
    if (n < 1) throw new InvalidSizeError(slabBytes, `slabBytes cannot hold one ${objectBytes}-byte object`);
    this.objectsPerSlab = n;
    this.objectsOffset = slotsOffset(n);
    this.store = openStore(options, POOL_CONTROL_BYTES, this.name);
    const u32 = this.store.u32;
    u32.fill(0, 0, POOL_CONTROL_BYTES >>> 2);
    u32[CTRL_MAGIC >>> 2] = POOL_MAGIC;
    u32[CTRL_OBJECT_BYTES >>> 2] = objectBytes;
    u32[CTRL_SLAB_BYTES >>> 2] = slabBytes;
    this.store.f64[CTRL_PEAK_EXTENT_BYTES >>> 3] = POOL_CONTROL_BYTES;
  }

  // ---- Fast path ----------------------------------------------------------------------------

  malloc(size: number, align = 8): number {
    if (!(size >= 0 && size <= this.objectBytes && Math.floor(size) === size)) checkSize(size, this.objectBytes);
    if (align !== 8) checkAlign(align, POOL_MAX_ALIGN);
    const u32 = this.store.u32;
    const slab = u32[CTRL_AVAILABLE_HEAD >>> 2]!;
    const ptr = u32[(slab + SLAB_FREE_HEAD) >>> 2]!;
    if (slab === 0 || ptr === 0) return this.mallocFromAnotherSlab(size);
    u32[(slab + SLAB_FREE_HEAD) >>> 2] = u32[ptr >>> 2]!;
    u32[(slab + SLAB_LIVE) >>> 2]!++;
    u32[((slab + SLAB_SLOT_WORDS) >>> 2) + (ptr - slab - this.objectsOffset) / this.stride] = size + 1;
    const f64 = this.store.f64;
    const live = f64[CTRL_LIVE_BYTES >>> 3]! + size;
    f64[CTRL_LIVE_BYTES >>> 3] = live;
    if (live > f64[CTRL_PEAK_LIVE_BYTES >>> 3]!) f64[CTRL_PEAK_LIVE_BYTES >>> 3] = live;
    f64[CTRL_MALLOC_COUNT >>> 3]!++;
    return ptr;
  }

  free(ptr: number): void {
    const word = this.liveSlotWord(ptr);
    const u32 = this.store.u32;
    const slab = this.slabOf(ptr);
    const requested = u32[word]! - 1;
    u32[word] = FREED_SLOT;
    u32[ptr >>> 2] = u32[(slab + SLAB_FREE_HEAD) >>> 2]!;
    u32[(slab + SLAB_FREE_HEAD) >>> 2] = ptr;
    const live = --u32[(slab + SLAB_LIVE) >>> 2]!;
    const f64 = this.store.f64;
    f64[CTRL_LIVE_BYTES >>> 3]! -= requested;
    f64[CTRL_FREE_COUNT >>> 3]!++;
    if (live === 0 || u32[(slab + SLAB_STATE) >>> 2] === STATE_FULL) this.relistAfterFree(slab, live);
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
    let slab = u32[CTRL_AVAILABLE_HEAD >>> 2]!;
    while (slab !== 0 && u32[(slab + SLAB_FREE_HEAD) >>> 2] === 0) {
      this.unlink(CTRL_AVAILABLE_HEAD, slab);
      u32[(slab + SLAB_STATE) >>> 2] = STATE_FULL;
      slab = u32[CTRL_AVAILABLE_HEAD >>> 2]!;
    }
    if (slab === 0) {
      slab = u32[CTRL_EMPTY_HEAD >>> 2]!;
      if (slab !== 0) this.unlink(CTRL_EMPTY_HEAD, slab);
      else slab = this.addSlabAtTop();
      if (slab === 0) return 0;
      this.linkAfterHead(slab);
    }
    return this.malloc(size);
  }

  /** A slab that was full gets in line behind the head; one that emptied goes to the empty list. */
  private relistAfterFree(slab: number, live: number): void {
    const u32 = this.store.u32;
    if (u32[(slab + SLAB_STATE) >>> 2] === STATE_FULL) this.linkAfterHead(slab);
    if (live === 0 && slab !== u32[CTRL_AVAILABLE_HEAD >>> 2]) {
      this.unlink(CTRL_AVAILABLE_HEAD, slab);
      this.linkFront(CTRL_EMPTY_HEAD, slab);
      u32[(slab + SLAB_STATE) >>> 2] = STATE_EMPTY;
      this.releaseEmptySlabsAtTop();
    }
  }

  /** Carves a new slab above the others, all its slots on its free list. 0 if the store is full. */
  private addSlabAtTop(): number {
    const count = this.store.u32[CTRL_SLAB_COUNT >>> 2]!;
    const slab = this.slabAt(count);
    if (!this.store.grow(slab + this.slabBytes)) return 0;
    const u32 = this.store.u32;
    const first = slab + this.objectsOffset;
    u32.fill(0, slab >>> 2, (slab + this.objectsOffset) >>> 2);
    u32[(slab + SLAB_FREE_HEAD) >>> 2] = first;
    for (let i = 0, obj = first; i < this.objectsPerSlab; i++, obj += this.stride) {
      u32[obj >>> 2] = i + 1 < this.objectsPerSlab ? obj + this.stride : 0;
    }
    u32[CTRL_SLAB_COUNT >>> 2] = count + 1;
    const f64 = this.store.f64;
    f64[CTRL_PEAK_EXTENT_BYTES >>> 3] = Math.max(f64[CTRL_PEAK_EXTENT_BYTES >>> 3]!, slab + this.slabBytes);
    return slab;
  }

  /** Drops empty slabs off the top, lowering the extent, and gives the bytes back if it can. */
  private releaseEmptySlabsAtTop(): void {
    const u32 = this.store.u32;
    let count = u32[CTRL_SLAB_COUNT >>> 2]!;
    while (count > 0 && u32[(this.slabAt(count - 1) + SLAB_STATE) >>> 2] === STATE_EMPTY) {
      this.unlink(CTRL_EMPTY_HEAD, this.slabAt(count - 1));
      count--;
    }
    u32[CTRL_SLAB_COUNT >>> 2] = count;
    this.store.shrink(this.slabAt(count));
  }

  private linkAfterHead(slab: number): void {
    const u32 = this.store.u32;
    const head = u32[CTRL_AVAILABLE_HEAD >>> 2]!;
    u32[(slab + SLAB_STATE) >>> 2] = STATE_AVAILABLE;
    if (head === 0) return this.linkFront(CTRL_AVAILABLE_HEAD, slab);
    const next = u32[(head + SLAB_NEXT) >>> 2]!;
    u32[(slab + SLAB_PREV) >>> 2] = head;
    u32[(slab + SLAB_NEXT) >>> 2] = next;
    u32[(head + SLAB_NEXT) >>> 2] = slab;
    if (next !== 0) u32[(next + SLAB_PREV) >>> 2] = slab;
  }

  private linkFront(list: ListHead, slab: number): void {
    const u32 = this.store.u32;
    const head = u32[list >>> 2]!;
    u32[(slab + SLAB_PREV) >>> 2] = 0;
    u32[(slab + SLAB_NEXT) >>> 2] = head;
    if (head !== 0) u32[(head + SLAB_PREV) >>> 2] = slab;
    u32[list >>> 2] = slab;
  }

  private unlink(list: ListHead, slab: number): void {
    const u32 = this.store.u32;
    const prev = u32[(slab + SLAB_PREV) >>> 2]!;
    const next = u32[(slab + SLAB_NEXT) >>> 2]!;
    if (prev === 0) u32[list >>> 2] = next;
    else u32[(prev + SLAB_NEXT) >>> 2] = next;
    if (next !== 0) u32[(next + SLAB_PREV) >>> 2] = prev;
    u32[(slab + SLAB_PREV) >>> 2] = 0;
    u32[(slab + SLAB_NEXT) >>> 2] = 0;
  }

  // ---- Addressing and validation ------------------------------------------------------------

  private slabAt(index: number): number {
    return POOL_CONTROL_BYTES + index * this.slabBytes;
  }

  private slabOf(ptr: number): number {
    return this.slabAt((ptr - POOL_CONTROL_BYTES) >>> this.slabShift);
  }

  /**
   * The u32 index of the slot word of live object `ptr`, or a typed error: InvalidFreeError for
   * an offset that is not a slot start of a slab in use or was never allocated, DoubleFreeError
   * for a free slot. O(1): one shift, one division, one load.
   */
  private liveSlotWord(ptr: number): number {
    const u32 = this.store.u32;
    const index = (ptr - POOL_CONTROL_BYTES) >>> this.slabShift;
    const slab = this.slabAt(index);
    const slot = (ptr - slab - this.objectsOffset) / this.stride;
    if (!(ptr >= POOL_CONTROL_BYTES && index < u32[CTRL_SLAB_COUNT >>> 2]! && slot >= 0 && slot < this.objectsPerSlab && Math.floor(slot) === slot)) {
      throw new InvalidFreeError(ptr, "not the start of an object of this pool");
    }
    const word = ((slab + SLAB_SLOT_WORDS) >>> 2) + slot;
    const recorded = u32[word]!;
    if (recorded === FREED_SLOT) throw new DoubleFreeError(ptr);
    if (recorded === 0) throw new InvalidFreeError(ptr, "this object was never allocated");
    return word;
  }

  // ---- The rest of the Allocator contract ---------------------------------------------------

  /** Objects never move: a new size up to objectBytes is recorded in place. */
  realloc(ptr: number, size: number): number {
    const word = this.liveSlotWord(ptr);
    checkSize(size, this.objectBytes);
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const live = f64[CTRL_LIVE_BYTES >>> 3]! + size - (u32[word]! - 1);
    u32[word] = size + 1;
    f64[CTRL_LIVE_BYTES >>> 3] = live;
    if (live > f64[CTRL_PEAK_LIVE_BYTES >>> 3]!) f64[CTRL_PEAK_LIVE_BYTES >>> 3] = live;
    return ptr;
  }

  usableSize(ptr: number): number {
    this.liveSlotWord(ptr);
    return this.objectBytes;
  }

  /** Frees every object and releases every slab (the store shrinks where it can). */
  reset(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    f64[CTRL_FREE_COUNT >>> 3]! += this.countLive().blocks;
    f64[CTRL_LIVE_BYTES >>> 3] = 0;
    u32[CTRL_SLAB_COUNT >>> 2] = 0;
    u32[CTRL_AVAILABLE_HEAD >>> 2] = 0;
    u32[CTRL_EMPTY_HEAD >>> 2] = 0;
    this.store.shrink(POOL_CONTROL_BYTES);
  }

  stats(): AllocatorStats {
    const f64 = this.store.f64;
    const { blocks, bytes } = this.countLive();
    const extentBytes = this.slabAt(this.store.u32[CTRL_SLAB_COUNT >>> 2]!);
    return {
      liveBlocks: blocks,
      liveBytes: bytes,
      peakLiveBytes: f64[CTRL_PEAK_LIVE_BYTES >>> 3]!,
      extentBytes,
      peakExtentBytes: f64[CTRL_PEAK_EXTENT_BYTES >>> 3]!,
      committedBytes: this.store.committedBytes,
      reservedBytes: this.store.reservedBytes,
      ...holeStats(this.walk()),
      internalFragmentationBytes: blocks * this.objectBytes - bytes,
      mallocCount: f64[CTRL_MALLOC_COUNT >>> 3]!,
      freeCount: f64[CTRL_FREE_COUNT >>> 3]!,
    };
  }

  private countLive(): { blocks: number; bytes: number } {
    const u32 = this.store.u32;
    let blocks = 0;
    let bytes = 0;
    for (let k = 0; k < u32[CTRL_SLAB_COUNT >>> 2]!; k++) {
      const words = (this.slabAt(k) + SLAB_SLOT_WORDS) >>> 2;
      for (let i = 0; i < this.objectsPerSlab; i++) {
        const recorded = u32[words + i]!;
        if (recorded !== 0 && recorded !== FREED_SLOT) {
          blocks++;
          bytes += recorded - 1;
        }
      }
    }
    return { blocks, bytes };
  }

  /** Control block, then per slab: its header (meta), every slot, and the tail it cannot use. */
  *walk(): IterableIterator<BlockInfo> {
    yield { offset: 0, sizeBytes: POOL_CONTROL_BYTES, state: "meta" };
    for (let k = 0; k < this.store.u32[CTRL_SLAB_COUNT >>> 2]!; k++) {
      const slab = this.slabAt(k);
      yield { offset: slab, sizeBytes: this.objectsOffset, state: "meta" };
      for (let i = 0; i < this.objectsPerSlab; i++) {
        const recorded = this.store.u32[((slab + SLAB_SLOT_WORDS) >>> 2) + i]!;
        const live = recorded !== 0 && recorded !== FREED_SLOT;
        yield { offset: slab + this.objectsOffset + i * this.stride, sizeBytes: this.stride, state: live ? "used" : "free" };
      }
      const tail = this.slabBytes - this.objectsOffset - this.objectsPerSlab * this.stride;
      if (tail > 0) yield { offset: slab + this.slabBytes - tail, sizeBytes: tail, state: "meta" };
    }
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, offset?: number): never => {
      throw new HeapCorruptionError(`pool: ${message}`, offset);
    };
    if (u32[CTRL_MAGIC >>> 2] !== POOL_MAGIC) fail("bad magic in the control block", CTRL_MAGIC);
    if (u32[CTRL_OBJECT_BYTES >>> 2] !== this.objectBytes || u32[CTRL_SLAB_BYTES >>> 2] !== this.slabBytes) fail("control block geometry changed");
    const count = u32[CTRL_SLAB_COUNT >>> 2]!;
    if (this.slabAt(count) > this.store.committedBytes) fail(`${count} slabs do not fit in ${this.store.committedBytes} committed bytes`);
    const head = u32[CTRL_AVAILABLE_HEAD >>> 2]!;
    const onList = new Map<number, number>();
    for (const list of [CTRL_AVAILABLE_HEAD, CTRL_EMPTY_HEAD] as const) {
      let prev = 0;
      for (let slab = u32[list >>> 2]!, n = 0; slab !== 0; prev = slab, slab = u32[(slab + SLAB_NEXT) >>> 2]!, n++) {
        if (n >= count || (slab - POOL_CONTROL_BYTES) % this.slabBytes !== 0 || slab >= this.slabAt(count)) fail("slab list runs outside the slabs or loops", slab);
        if (u32[(slab + SLAB_PREV) >>> 2] !== prev) fail("slab list prev link disagrees with next", slab);
        if (onList.has(slab)) fail("slab on two lists", slab);
        onList.set(slab, list === CTRL_AVAILABLE_HEAD ? STATE_AVAILABLE : STATE_EMPTY);
      }
    }
    let liveBytes = 0;
    for (let k = 0; k < count; k++) {
      const slab = this.slabAt(k);
      const state = u32[(slab + SLAB_STATE) >>> 2]!;
      if ((onList.get(slab) ?? STATE_FULL) !== state) fail(`slab state ${state} disagrees with its list`, slab);
      let live = 0;
      for (let i = 0; i < this.objectsPerSlab; i++) {
        const recorded = u32[((slab + SLAB_SLOT_WORDS) >>> 2) + i]!;
        if (recorded === 0 || recorded === FREED_SLOT) continue;
        if (recorded - 1 > this.objectBytes) fail(`slot ${i} records ${recorded - 1} bytes, more than an object`, slab);
        live++;
        liveBytes += recorded - 1;
      }
      if (u32[(slab + SLAB_LIVE) >>> 2] !== live) fail(`live count ${u32[(slab + SLAB_LIVE) >>> 2]} but ${live} live slots`, slab);
      let free = 0;
      for (let ptr = u32[(slab + SLAB_FREE_HEAD) >>> 2]!; ptr !== 0; ptr = u32[ptr >>> 2]!, free++) {
        const slot = (ptr - slab - this.objectsOffset) / this.stride;
        if (free >= this.objectsPerSlab || !(slot >= 0 && slot < this.objectsPerSlab && Math.floor(slot) === slot)) fail("free list leaves its slab or loops", ptr);
        const recorded = u32[((slab + SLAB_SLOT_WORDS) >>> 2) + slot]!;
        if (recorded !== 0 && recorded !== FREED_SLOT) fail("a live object is on the free list", ptr);
      }
      if (free !== this.objectsPerSlab - live) fail(`${free} slots on the free list, expected ${this.objectsPerSlab - live}`, slab);
      if (state === STATE_FULL && live !== this.objectsPerSlab) fail("full slab has free slots", slab);
      if (state === STATE_EMPTY && live !== 0) fail("empty slab has live objects", slab);
      if (state === STATE_AVAILABLE && slab !== head && (live === 0 || live === this.objectsPerSlab)) fail("available slab behind the head is empty or full", slab);
    }
    if (count > 0 && u32[(this.slabAt(count - 1) + SLAB_STATE) >>> 2] === STATE_EMPTY) fail("an empty slab was left at the top");
    if (f64[CTRL_LIVE_BYTES >>> 3] !== liveBytes) fail(`LIVE_BYTES ${f64[CTRL_LIVE_BYTES >>> 3]} but slots hold ${liveBytes}`);
    if (f64[CTRL_PEAK_LIVE_BYTES >>> 3]! < liveBytes) fail("peak live bytes below live bytes");
  }
}

/** Where slots start in a slab of n slots: after the header and n slot words, 8-aligned. */
function slotsOffset(n: number): number {
  return Math.ceil((SLAB_SLOT_WORDS + 4 * n) / 8) * 8;
}

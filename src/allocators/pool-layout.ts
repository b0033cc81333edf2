/**
 * The bytes of a `Pool` (pool.ts), drawn; `check()` (pool-check.ts) verifies the invariants.
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
import { InvalidSizeError } from "../errors.js";

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
export const POOL_MAGIC = 0x4c4f4f50; // "POOL"

// Byte offsets as const enums: tsc inlines them as literals, so the fast path does not load
// module-level constants (each such load also checks the binding is initialized).
export const enum Ctrl {
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

export const enum Slab {
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

/** Slot header words, from the object's offset. */
export const enum Slot {
  HEADER_BYTES = 8,
  REQUESTED = -8,
  NEXT_FREE = -4,
  /** The REQUESTED word of a free object. */
  FREE = 0,
}

export const enum SlabState {
  AVAILABLE = 1,
  FULL = 2,
  EMPTY = 3,
}
export type ListHead = Ctrl.AVAILABLE_HEAD | Ctrl.EMPTY_HEAD;

/** A slab's POPS word is folded into MALLOC_COUNT when it reaches this (it stays a small integer). */
export const enum Fold {
  POPS = 0x40000000,
}

/** A pool's sizes, derived from its object and slab sizes (and checked against the control block). */
export interface PoolGeometry {
  /** Bytes every object may use. */
  objectBytes: number;
  /** Bytes per slab, a power of two. */
  slabBytes: number;
  /** Distance between objects: the slot header plus objectBytes rounded up to 8. */
  stride: number;
  objectsPerSlab: number;
  /** One past the last object's offset from its slab's start. */
  objectsEnd: number;
  /** stride = odd · 2^strideZeros; strideInverse = odd⁻¹ mod 2^32 (as an int32). */
  strideZeros: number;
  strideInverse: number;
}

/** The geometry for these options, or an InvalidSizeError naming the bad value. */
export function poolGeometry(objectBytesOption: number | undefined, slabBytesOption: number | undefined): PoolGeometry {
  const objectBytes = objectBytesOption ?? DEFAULT_OBJECT_BYTES;
  if (!(Number.isSafeInteger(objectBytes) && objectBytes >= 1 && objectBytes <= MAX_OBJECT_BYTES)) {
    throw new InvalidSizeError(objectBytes, `objectBytes must be an integer from 1 to ${MAX_OBJECT_BYTES}`);
  }
  const stride = Slot.HEADER_BYTES + Math.ceil(objectBytes / 8) * 8;
  const smallest = Slab.HEADER_BYTES + MIN_OBJECTS_PER_SLAB * stride;
  const slabBytes = slabBytesOption ?? Math.max(DEFAULT_SLAB_BYTES, 2 ** Math.ceil(Math.log2(smallest)));
  if (!(Number.isSafeInteger(slabBytes) && slabBytes >= 64 && (slabBytes & (slabBytes - 1)) === 0)) {
    throw new InvalidSizeError(slabBytes, "slabBytes must be a power of two, at least 64");
  }
  const objectsPerSlab = Math.floor((slabBytes - Slab.HEADER_BYTES) / stride);
  if (objectsPerSlab < 1) throw new InvalidSizeError(slabBytes, `slabBytes cannot hold one ${objectBytes}-byte object`);
  const strideZeros = 31 - Math.clz32(stride & -stride);
  const odd = stride >>> strideZeros;
  let strideInverse = odd; // Newton's iteration doubles the correct low bits: 3, 6, 12, 24, 48
  for (let i = 0; i < 4; i++) strideInverse = Math.imul(strideInverse, 2 - Math.imul(odd, strideInverse));
  return { objectBytes, slabBytes, stride, objectsPerSlab, objectsEnd: Slab.FIRST_OBJECT + objectsPerSlab * stride, strideZeros, strideInverse };
}

/**
 * `Pool.check()`: walks the control block, both slab lists, every slab's slots and free list, and
 * the committed bytes above the slabs, and throws `HeapCorruptionError` at the first invariant
 * (pool-layout.ts) that fails.
 */
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Ctrl, Fold, POOL_MAGIC, type PoolGeometry, Slab, SlabState, Slot } from "./pool-layout.js";

/** The sizes check() needs: a Pool's own (public) ones. */
export type CheckedSizes = Pick<PoolGeometry, "objectBytes" | "slabBytes" | "stride" | "objectsPerSlab">;

export function checkPool(store: ByteStore, g: CheckedSizes): void {
  const slabAt = (index: number) => Ctrl.BYTES + index * g.slabBytes;
  const u32 = store.u32;
  const fail = (message: string, offset?: number): never => {
    throw new HeapCorruptionError(`pool: ${message}`, offset);
  };
  if (u32[Ctrl.MAGIC >>> 2] !== POOL_MAGIC) fail("bad magic in the control block", Ctrl.MAGIC);
  if (u32[Ctrl.OBJECT_BYTES >>> 2] !== g.objectBytes || u32[Ctrl.SLAB_BYTES >>> 2] !== g.slabBytes) fail("control block geometry changed");
  const count = u32[Ctrl.SLAB_COUNT >>> 2]!;
  if (slabAt(count) > store.committedBytes) fail(`${count} slabs do not fit in ${store.committedBytes} committed bytes`);
  const head = u32[Ctrl.AVAILABLE_HEAD >>> 2]!;
  const listed = new Map<number, number>();
  for (const list of [Ctrl.AVAILABLE_HEAD, Ctrl.EMPTY_HEAD] as const) {
    let prev = 0;
    for (let slab = u32[list >>> 2]!, n = 0; slab !== 0; prev = slab, slab = u32[(slab + Slab.NEXT) >>> 2]!, n++) {
      if (n >= count || (slab - Ctrl.BYTES) % g.slabBytes !== 0 || slab >= slabAt(count)) fail("slab list runs outside the slabs or loops", slab);
      if (u32[(slab + Slab.PREV) >>> 2] !== prev) fail("slab list prev link disagrees with next", slab);
      if (listed.has(slab)) fail("slab on two lists", slab);
      listed.set(slab, list === Ctrl.AVAILABLE_HEAD ? SlabState.AVAILABLE : SlabState.EMPTY);
    }
  }
  let liveBytes = 0;
  for (let k = 0; k < count; k++) {
    const slab = slabAt(k);
    const state = u32[(slab + Slab.STATE) >>> 2]!;
    if ((listed.get(slab) ?? SlabState.FULL) !== state) fail(`slab state ${state} disagrees with its list`, slab);
    const bump = u32[(slab + Slab.BUMP) >>> 2]!;
    const carved = (bump - slab - Slab.FIRST_OBJECT) / g.stride;
    if (!(Number.isInteger(carved) && carved >= 0 && carved <= g.objectsPerSlab)) fail(`bump ${bump} is not a slot boundary`, slab);
    let live = 0;
    for (let ptr = slab + Slab.FIRST_OBJECT; ptr < bump; ptr += g.stride) {
      const recorded = u32[(ptr + Slot.REQUESTED) >>> 2]!;
      if (recorded === Slot.FREE) continue;
      if (recorded - 1 > g.objectBytes) fail(`object records ${recorded - 1} bytes, more than objectBytes`, ptr);
      live++;
      liveBytes += recorded - 1;
    }
    const high = u32[(slab + Slab.HIGH) >>> 2]!;
    const highSlots = (high - slab - Slab.FIRST_OBJECT) / g.stride;
    if (!(Number.isInteger(highSlots) && highSlots >= 0 && highSlots <= g.objectsPerSlab)) fail(`high ${high} is not a slot boundary`, slab);
    for (let ptr = bump; ptr < high; ptr += g.stride) {
      if (u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE) fail("an object between bump and high is not free", ptr);
    }
    const pops = u32[(slab + Slab.POPS) >>> 2]!;
    if (pops >= Fold.POPS || (state === SlabState.EMPTY && (carved !== 0 || pops !== 0))) fail(`${carved} carved, ${pops} pops: not folded`, slab);
    let free = 0;
    for (let ptr = u32[(slab + Slab.FREE_HEAD) >>> 2]!; ptr !== 0; ptr = u32[(ptr + Slot.NEXT_FREE) >>> 2]!, free++) {
      if (free >= carved || ptr <= slab || ptr >= bump || (ptr - slab - Slab.FIRST_OBJECT) % g.stride !== 0) fail("free list leaves its slab's carved objects or loops", ptr);
      if (u32[(ptr + Slot.REQUESTED) >>> 2] !== Slot.FREE) fail("a live object is on the free list", ptr);
    }
    if (free !== carved - live) fail(`${free} objects on the free list, expected ${carved - live}`, slab);
    if (u32[(slab + Slab.FREED) >>> 2] !== free * g.stride) fail(`freed ${u32[(slab + Slab.FREED) >>> 2]} but ${free} objects on the free list`, slab);
    if (state === SlabState.FULL && live !== g.objectsPerSlab) fail("full slab has free slots", slab);
    if (state === SlabState.EMPTY && live !== 0) fail("empty slab has live objects", slab);
    if (state === SlabState.AVAILABLE && slab !== head && (live === 0 || live === g.objectsPerSlab)) fail("available slab behind the head is empty or full", slab);
  }
  if (count > 0 && u32[(slabAt(count - 1) + Slab.STATE) >>> 2] === SlabState.EMPTY) fail("an empty slab was left at the top");
  for (let slab = slabAt(count); slab + Slab.HEADER_BYTES <= store.committedBytes; slab += g.slabBytes) {
    if (u32[(slab + Slab.BUMP) >>> 2] !== 0) fail("a released slab still has a bump", slab);
  }
  const peak = u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!;
  const headroom = u32[Ctrl.LIVE_HEADROOM >>> 2]!;
  if (headroom > peak || peak - headroom !== liveBytes) fail(`PEAK_LIVE_BYTES ${peak} - LIVE_HEADROOM ${headroom} but objects hold ${liveBytes}`);
}

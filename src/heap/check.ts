/**
 * `checkHeap` walks every block, slab and free list of a heap and throws `HeapCorruptionError`
 * at the first broken invariant (the equations in tlsf.ts and heap.ts). It reads the bytes only.
 */
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { assertControl } from "./control.js";
import { isCachedTagged, MidCache } from "./mid-cache.js";
import { blockLimit, boundStep, derivedGauges, holeBytes, isSlabPage, mallocCount, midDescriptors, midMetaBlocks, midSlabAt, slabTotals, slotNibble } from "./inspect.js";
import { isLiveRequest, Mid, MID_CLASSES, midClassOfRequest, midDescriptorOf, midRequestIndex, midRootWord, midSlabBytesOf } from "./mid-layout.js";
import { Gauge, keyOf, Layout, listIndexOf, liveSlotsOf, maxSlackFor, SLAB_CLASSES, slabClassOf, SlabState, SlabWord, Word } from "./layout.js";

interface Totals {
  liveBlocks: number;
  liveBytes: number;
  roundingBytes: number;
  holeBytes: number;
  freeBlocks: number;
  slabFreeBytes: number;
  slabs: Set<number>;
  /** Descriptors of the mid slabs the walk met. */
  midSlabs: Set<number>;
  /** Leaves and descriptor pages the walk met. */
  metaBlocks: Set<number>;
  /** Live TLSF blocks by the mid class of their request. */
  midTlsfLive: number[];
  /** The walk met the growth reserve, a free block right after the used grower. */
  reserveMet: boolean;
  /** The walk met the kept hole as a free block other than the reserve (so one in the lists). */
  keptMet: boolean;
  /** Used TLSF blocks tagged as held in the mid cache. */
  cached: Set<number>;
}

function fail(message: string, offset?: number): never {
  throw new HeapCorruptionError(message, offset);
}

export function checkHeap(store: ByteStore): void {
  const u32 = store.u32;
  if (u32[Word.MAGIC] !== Layout.MAGIC) fail("control block magic is gone", 0);
  assertControl(store);
  const top = u32[Word.TOP]!;
  const totals = walkBlocks(store, u32[Word.HEAP_START]!, top);
  const listed = checkFreeLists(u32, top) + (u32[Word.RESERVE] !== 0 ? 1 : 0);
  if (listed !== totals.freeBlocks) fail(`${totals.freeBlocks} free blocks in the heap but ${listed} in the free lists and the growth reserve`);
  if (u32[Word.RESERVE] !== 0 && !totals.reserveMet) fail(`the growth reserve ${u32[Word.RESERVE]} is not a free block after the grower ${u32[Word.GROWER]}`);
  if (u32[Word.KEPT] !== 0 && !totals.keptMet) fail(`the kept hole ${u32[Word.KEPT]} is not a free block in the free lists`);
  checkSlabLists(u32, totals.slabs);
  checkPageMap(u32, totals.slabs.size);
  checkMidLists(u32, totals.midSlabs);
  checkMidTables(u32, totals);
  checkMidCache(u32, totals.cached);
  const f64 = store.f64;
  const expect = (name: string, actual: number, stored: number) => {
    if (actual !== stored) fail(`${name} is ${stored} in the control block but ${actual} by walking the heap`);
  };
  const slabs = slabTotals(u32);
  const derived = derivedGauges(store, slabs);
  expect("live blocks", totals.liveBlocks, derived.liveBlocks);
  expect("live TLSF blocks", totals.liveBlocks - slabs.liveSlots, u32[Word.TLSF_LIVE_BLOCKS]!);
  expect("live bytes", totals.liveBytes, derived.liveBytes);
  if (derived.liveBytes > f64[Gauge.PEAK_LIVE_BYTES]!) fail("live bytes exceed their peak");
  if (top > f64[Gauge.PEAK_TOP]!) fail(`top ${top} exceeds its peak ${f64[Gauge.PEAK_TOP]}`);
  if (mallocCount(store, slabs) < derived.liveBlocks) fail("more live blocks than mallocs");
  expect("rounding bytes", totals.roundingBytes, derived.roundingBytes);
  expect("hole bytes in the free lists", totals.holeBytes, holeBytes(u32));
  expect("free slab bytes", totals.slabFreeBytes, slabs.freeBytes);
  expect("slab pages", totals.slabs.size, f64[Gauge.SLAB_PAGES]!);
  totals.midTlsfLive.forEach((count, c) => expect(`live TLSF blocks of mid class ${c}`, count, u32[Word.MID_TLSF_LIVE + c]!));
}

/** Blocks tile [heapStart, top); free blocks have footers, never touch another free block or top. */
function walkBlocks(store: ByteStore, heapStart: number, top: number): Totals {
  const u32 = store.u32;
  const secret = u32[Word.SECRET]!;
  const t: Totals = { liveBlocks: 0, liveBytes: 0, roundingBytes: 0, holeBytes: 0, freeBlocks: 0, slabFreeBytes: 0, slabs: new Set(), midSlabs: new Set(), metaBlocks: new Set(), midTlsfLive: new Array<number>(Mid.CLASS_COUNT).fill(0), reserveMet: false, keptMet: false, cached: new Set() };
  const meta = new Set(midMetaBlocks(u32));
  let prevFree = false;
  let b = heapStart;
  let lastFree = false;
  let before = 0;
  while (b < top) {
    const p = b + Layout.HEADER_BYTES;
    const word = u32[(p - 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    if (size < Layout.MIN_BLOCK_BYTES || b + size > top) fail(`block size ${size} is impossible`, p);
    if (((word & Layout.PREV_FREE_BIT) !== 0) !== prevFree) fail("P bit disagrees with the previous block", p);
    const free = (word & Layout.FREE_BIT) !== 0;
    const mid = free ? 0 : midSlabAt(u32, b);
    if (free) {
      if (prevFree) fail("two free blocks are adjacent (missed coalescing)", p);
      if (u32[(p + size - 12) >>> 2] !== size) fail("free block footer disagrees with its header", p);
      if (u32[(p - 8) >>> 2] !== ((Layout.FREE_TAG ^ keyOf(p, size, secret)) >>> 0)) fail("free block check word is wrong", p);
      t.holeBytes += size;
      t.freeBlocks++;
      if (p === u32[Word.RESERVE]) t.reserveMet = before === u32[Word.GROWER];
      else if (p === u32[Word.KEPT]) t.keptMet = true;
    } else if (isSlabPage(u32, p)) {
      if (b % Layout.SLAB_PAGE_BYTES !== 0 || size < Layout.SLAB_PAGE_BYTES || size >= Layout.SLAB_PAGE_BYTES + Layout.MIN_BLOCK_BYTES) {
        fail(`a slab is a page-aligned block of one page (plus a tail too small to split), not ${size} bytes`, p);
      }
      checkSlab(u32, p, t);
    } else if (meta.has(p)) {
      if (size < Mid.META_BLOCK_BYTES || size >= Mid.META_BLOCK_BYTES + Layout.MIN_BLOCK_BYTES) fail(`a mid leaf or descriptor page of ${size} bytes`, p);
      if (u32[(p - 8) >>> 2] !== keyOf(p, size, secret)) fail("a mid leaf or descriptor page is not marked with a request of 0", p);
      t.metaBlocks.add(p);
    } else if (mid !== 0) {
      const slabBytes = midSlabBytesOf(u32, mid);
      if (slabBytes === 0) fail(`mid slab class ${u32[(mid >>> 2) + Mid.CLASS]} does not exist`, b);
      if (b % Layout.SLAB_PAGE_BYTES !== 0 || size < slabBytes || size >= slabBytes + Layout.MIN_BLOCK_BYTES) {
        fail(`a mid slab is a page-aligned block of its class's ${slabBytes} bytes (plus a tail too small to split), not ${size} bytes`, p);
      }
      checkMidSlab(store, b, mid, t);
    } else if (isCachedTagged(u32, p, size, secret)) {
      t.cached.add(p);
      t.holeBytes += size;
    } else {
      const requested = (u32[(p - 8) >>> 2]! ^ keyOf(p, size, secret)) >>> 0;
      const usable = size - Layout.HEADER_BYTES;
      if (requested > usable || usable - requested > maxSlackFor(usable)) fail("used block check word is wrong", p);
      if (midClassOfRequest(requested) >= 0) t.midTlsfLive[midClassOfRequest(requested)]! += 1;
      t.liveBlocks++;
      t.liveBytes += requested;
      t.roundingBytes += usable - requested;
    }
    prevFree = lastFree = free;
    before = p;
    b += size;
  }
  if (b !== top) fail(`blocks end at ${b}, not at top ${top}`);
  if (lastFree) fail("the block below top is free (it should have joined the wilderness)", top);
  return t;
}

/** live + |free list| + never used == capacity; nibbles agree with the free list. */
function checkSlab(u32: Uint32Array, s: number, t: Totals): void {
  const h = s >>> 2;
  const c = slabClassOf(u32[h + SlabWord.INFO]!);
  const { slotBytes, capacity, firstSlot, info } = SLAB_CLASSES[c]!;
  if (u32[h + SlabWord.INFO] !== info) fail(`slab info word is ${u32[h + SlabWord.INFO]}, not ${info} as class ${c} says`, s);
  const bump = u32[h + SlabWord.BUMP]!;
  const used = (bump - s - firstSlot) / slotBytes;
  if (!Number.isInteger(used) || used < 0 || used > capacity) fail(`slab bump ${bump} is not a slot boundary`, s);
  let live = 0;
  for (let i = 0; i < capacity + 2; i++) {
    const nibble = slotNibble(u32, s, i);
    if (nibble === 0) continue;
    if (i >= used) fail(`slot ${i} is live beyond the bump`, s);
    if (nibble > 9) fail(`slot ${i} has slack nibble ${nibble}`, s);
    live++;
    t.liveBytes += slotBytes + 1 - nibble;
    t.roundingBytes += nibble - 1;
  }
  const state = u32[h + SlabWord.STATE]!;
  if (live !== liveSlotsOf(state)) fail(`slab counts ${liveSlotsOf(state)} live slots but ${live} are marked`, s);
  let freeListed = 0;
  const page = s - Layout.HEADER_BYTES;
  for (let offset = state & SlabState.FREE_MASK; offset !== 0; offset = u32[(page + offset) >>> 2]!) {
    const slot = page + offset;
    const i = (slot - s - firstSlot) / slotBytes;
    if (!Number.isInteger(i) || i < 0 || i >= used) fail(`free list holds ${slot}, not a used slot`, s);
    if (slotNibble(u32, s, i) !== 0) fail(`free list holds live slot ${slot}`, s);
    if (++freeListed > capacity) fail("slab free list has a cycle", s);
  }
  if (live + freeListed !== used) fail(`live ${live} + free ${freeListed} != slots handed out ${used}`, s);
  if (((state & SlabState.FREE_MASK) === 0) !== (live === capacity)) fail("the slab's free list is empty but it has free slots, or the reverse", s);
  if (live === 0 && u32[Word.SLAB_HEADS + c] !== s) fail(`an empty slab of class ${c} that does not head its class's list was kept`, s);
  t.liveBlocks += live;
  t.slabFreeBytes += (capacity - live) * slotBytes;
  t.slabs.add(s);
}

/** The free bits mark exactly the slots not live and count `free`; the requests are possible; every page maps to d. */
function checkMidSlab(store: ByteStore, b: number, d: number, t: Totals): void {
  const { u32, u16 } = store;
  const h = d >>> 2;
  const c = u32[h + Mid.CLASS]!;
  if (c >= Mid.CLASS_COUNT) fail(`mid slab class ${c} does not exist`, b);
  const { slotBytes, capacity } = MID_CLASSES[c]!;
  for (let page = b; page < b + midSlabBytesOf(u32, d); page += Layout.SLAB_PAGE_BYTES) {
    if (midDescriptorOf(u32, midRootWord(u32), page) !== d) fail(`page ${page} of the mid slab at ${b} does not map to its descriptor ${d}`, b);
  }
  const free = u32[h + Mid.STATE]! & Mid.FREE_MASK;
  const freeBit = (i: number) => ((u32[h + Mid.FREE_BITS + (i >>> 5)]! >>> (i & 31)) & 1) === 1;
  const bits = Mid.MAX_CAPACITY; // the two free-bit words
  let marked = 0;
  for (let i = 0; i < bits; i++) if (freeBit(i)) marked++;
  if (marked !== free) fail(`mid slab counts ${free} free slots but ${marked} free bits are set`, b);
  for (let i = capacity; i < bits; i++) if (freeBit(i)) fail(`mid slab marks slot ${i} of ${capacity} free`, b);
  for (let i = 0; i < capacity; i++) {
    const request = u16[midRequestIndex(d, i)]!;
    const live = isLiveRequest(request);
    if (!live && request !== Mid.FREED && request !== Mid.NEVER_USED) fail(`mid slot ${i} has request ${request}`, b);
    if (live && request > slotBytes) fail(`mid slot ${i} of ${slotBytes} bytes holds a request of ${request}`, b);
    if (live === freeBit(i)) fail(live ? `live mid slot ${i} is marked free` : `free mid slot ${i} is not marked free`, b);
    if (!live) continue;
    t.liveBlocks++;
    t.liveBytes += request;
    t.roundingBytes += slotBytes - request;
  }
  if (free === capacity && u32[Word.MID_SPARE] !== d) fail("an empty mid slab that is not the heap's spare was kept", b);
  t.slabFreeBytes += free * slotBytes;
  t.midSlabs.add(d);
}

/**
 * The page table maps only the pages of the slabs met, the descriptors in use are exactly
 * theirs, the free descriptors are free, and every leaf and descriptor page was met.
 */
function checkMidTables(u32: Uint32Array, t: Totals): void {
  const root = midRootWord(u32);
  for (let r = 0; r < u32[Word.MID_ROOT_WORDS]!; r++) {
    const leaf = u32[root + r]!;
    for (let k = 0; leaf !== 0 && k < Mid.LEAF_ENTRIES; k++) {
      const d = u32[(leaf >>> 2) + k]!;
      const page = (r * Mid.LEAF_ENTRIES + k) * Layout.SLAB_PAGE_BYTES;
      if (d !== 0 && !(t.midSlabs.has(d) && page >= u32[(d >>> 2) + Mid.BASE]! && page < u32[(d >>> 2) + Mid.BASE]! + midSlabBytesOf(u32, d))) {
        fail(`the mid page table maps page ${page} to ${d}, not the descriptor of a slab holding it`, page);
      }
    }
  }
  const inUse = [...midDescriptors(u32)];
  if (inUse.length !== t.midSlabs.size || inUse.some((d) => !t.midSlabs.has(d))) fail(`${inUse.length} mid descriptors are in use but ${t.midSlabs.size} slabs were met`);
  let pages = 0;
  for (let page = u32[Word.MID_DESCRIPTOR_PAGES]!; page !== 0 && pages <= t.metaBlocks.size; page = u32[page >>> 2]!) pages++;
  let free = 0;
  for (let d = u32[Word.MID_FREE_DESCRIPTORS]!; d !== 0; d = u32[(d >>> 2) + Mid.NEXT]!) {
    if (u32[(d >>> 2) + Mid.BASE] !== 0 || ++free > pages * Mid.DESCRIPTORS_PER_PAGE) fail("the free mid descriptors hold one in use, or loop", d);
  }
  if (free + inUse.length !== pages * Mid.DESCRIPTORS_PER_PAGE) fail(`${free} free and ${inUse.length} used mid descriptors, but ${pages} descriptor pages`);
  if (t.metaBlocks.size !== new Set(midMetaBlocks(u32)).size) fail("a mid leaf or descriptor page is not a block of the heap");
}

/** A mid slab is in its class's list exactly when it has a free slot (the lists and the spare name descriptors). */
function checkMidLists(u32: Uint32Array, descriptors: Set<number>): void {
  let listed = 0;
  for (let c = 0; c < Mid.CLASS_COUNT; c++) {
    let prev = 0;
    for (let d = u32[Word.MID_HEADS + c]!; d !== 0; prev = d, d = u32[(d >>> 2) + Mid.NEXT]!) {
      if (!descriptors.has(d)) fail(`mid list of class ${c} holds ${d}, not a mid slab's descriptor`, d);
      if (u32[(d >>> 2) + Mid.CLASS] !== c) fail(`mid slab of class ${u32[(d >>> 2) + Mid.CLASS]} is in the list of class ${c}`, d);
      if (u32[(d >>> 2) + Mid.PREV] !== prev) fail("mid slab list back link is wrong", d);
      if (++listed > descriptors.size) fail("mid slab list has a cycle", d);
    }
  }
  for (const d of descriptors) {
    const c = u32[(d >>> 2) + Mid.CLASS]!;
    const full = (u32[(d >>> 2) + Mid.STATE]! & Mid.FREE_MASK) === 0;
    const linked = u32[(d >>> 2) + Mid.PREV] !== 0 || u32[Word.MID_HEADS + c] === d;
    if (full === linked) fail(full ? "a full mid slab is linked" : "a mid slab with free slots is in no list", d);
  }
  const spare = u32[Word.MID_SPARE]!;
  if (spare !== 0 && !descriptors.has(spare)) fail(`the spare mid slab is ${spare}, not a mid slab's descriptor`, spare);
}

/** Bitmaps match non-empty lists; every listed block is free, in its list, doubly linked. */
/** Each mid class's cache list holds its count of blocks, at most LIMIT, each a block the walk met tagged as cached, once. */
function checkMidCache(u32: Uint32Array, cached: Set<number>): void {
  const seen = new Set<number>();
  for (let c = 0; c < Mid.CLASS_COUNT; c++) {
    let n = 0;
    for (let p = u32[Word.MID_CACHE + c]!; p !== 0; p = u32[p >>> 2]!) {
      if (!cached.has(p) || seen.has(p)) fail(`mid cache list ${c} holds ${p}, which is no cached block${seen.has(p) ? " (twice)" : ""}`, p);
      seen.add(p);
      n++;
    }
    if (n !== u32[Word.MID_CACHED + c] || n > MidCache.LIMIT) fail(`mid cache list ${c} holds ${n} blocks, its count says ${u32[Word.MID_CACHED + c]} (at most ${MidCache.LIMIT})`);
  }
  if (seen.size !== cached.size) fail(`${cached.size} blocks are tagged as cached but the mid cache lists hold ${seen.size}`);
  if (u32[Word.MID_CACHED_ALL] !== seen.size) fail(`the mid cache lists hold ${seen.size} blocks, its total says ${u32[Word.MID_CACHED_ALL]}`);
}

function checkFreeLists(u32: Uint32Array, top: number): number {
  let count = 0;
  const limit = blockLimit(u32);
  for (let fl = 0; fl < Layout.FL_COUNT; fl++) {
    const slMap = u32[Word.SL_BITMAPS + fl]!;
    if (((u32[Word.FL_BITMAP]! >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) fail(`first-level bit ${fl} disagrees with its lists`);
    for (let sl = 0; sl < Layout.SL_COUNT; sl++) {
      const list = fl * Layout.SL_COUNT + sl;
      let p = u32[Word.FREE_HEADS + list]!;
      if (((slMap >>> sl) & 1) !== (p !== 0 ? 1 : 0)) fail(`second-level bit (${fl}, ${sl}) disagrees with its list`);
      let prev = 0;
      for (; p !== 0; prev = p, p = u32[p >>> 2]!) {
        if (p >= top) fail(`free list (${fl}, ${sl}) points beyond top`, p);
        // Word reads floor p to its word: p + 1 would pass every test below as the block at p.
        if ((p & (Layout.GRANULE - 1)) !== 0) fail(`free list (${fl}, ${sl}) holds ${p}, not a block (blocks are ${Layout.GRANULE}-aligned)`, p);
        const word = u32[(p - 4) >>> 2]!;
        if (!(word & Layout.FREE_BIT)) fail("a used block is in a free list", p);
        if (listIndexOf(word & Layout.SIZE_MASK) !== list) fail(`a block of ${word & Layout.SIZE_MASK} bytes is in list (${fl}, ${sl})`, p);
        if (u32[(p + 4) >>> 2] !== prev) fail("free list back link is wrong", p);
        boundStep(++count, limit, `free list (${fl}, ${sl})`, p);
      }
    }
  }
  return count;
}

/** A slab is in its class's partial list exactly when it has a free slot. */
function checkSlabLists(u32: Uint32Array, slabs: Set<number>): void {
  let listed = 0;
  for (let c = 0; c < Layout.SMALL_CLASS_COUNT; c++) {
    let prev = 0;
    for (let s = u32[Word.SLAB_HEADS + c]!; s !== 0; prev = s, s = u32[(s >>> 2) + SlabWord.NEXT]!) {
      if (!slabs.has(s)) fail(`partial list of class ${c} holds ${s}, not a slab`, s);
      const own = slabClassOf(u32[(s >>> 2) + SlabWord.INFO]!);
      if (own !== c) fail(`slab of class ${own} is in the list of class ${c}`, s);
      if (u32[(s >>> 2) + SlabWord.PREV] !== prev) fail("slab list back link is wrong", s);
      if (liveSlotsOf(u32[(s >>> 2) + SlabWord.STATE]!) >= SLAB_CLASSES[c]!.capacity) fail("a full slab is in a partial list", s);
      if (++listed > slabs.size) fail("slab list has a cycle", s);
    }
  }
  for (const s of slabs) {
    const c = slabClassOf(u32[(s >>> 2) + SlabWord.INFO]!);
    const full = liveSlotsOf(u32[(s >>> 2) + SlabWord.STATE]!) === SLAB_CLASSES[c]!.capacity;
    const linked = u32[(s >>> 2) + SlabWord.PREV] !== 0 || u32[Word.SLAB_HEADS + c] === s;
    if (full === linked) fail(full ? "a full slab is linked" : "a slab with free slots is in no list", s);
  }
}

function checkPageMap(u32: Uint32Array, slabCount: number): void {
  let bits = 0;
  const first = Gauge.PAGE_MAP_OFFSET >>> 2;
  for (let w = 0; w < u32[Word.PAGE_MAP_WORDS]!; w++) {
    for (let x = u32[first + w]!; x !== 0; x &= x - 1) bits++;
  }
  if (bits !== slabCount) fail(`the page map marks ${bits} slab pages but ${slabCount} slabs exist`);
}

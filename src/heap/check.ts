/**
 * `checkHeap` walks every block, slab and free list of a heap and throws `HeapCorruptionError`
 * at the first broken invariant (the equations in tlsf.ts and heap.ts). It reads the bytes only.
 */
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { derivedGauges, holeBytes, isQuickTagged, isSlabPage, mallocCount, slabTotals, slotNibble } from "./inspect.js";
import { Gauge, keyOf, Layout, listIndexOf, liveSlotsOf, maxSlackFor, quickListOf, SLAB_CLASSES, slabClassOf, SlabState, SlabWord, Word } from "./layout.js";

interface Totals {
  liveBlocks: number;
  liveBytes: number;
  roundingBytes: number;
  holeBytes: number;
  freeBlocks: number;
  slabFreeBytes: number;
  slabs: Set<number>;
  /** Blocks whose check word says they are on a quick list. */
  cached: Set<number>;
}

function fail(message: string, offset?: number): never {
  throw new HeapCorruptionError(message, offset);
}

export function checkHeap(store: ByteStore): void {
  const u32 = store.u32;
  if (u32[Word.MAGIC] !== Layout.MAGIC) fail("control block magic is gone", 0);
  const top = u32[Word.TOP]!;
  if (top > store.committedBytes) fail(`top ${top} is beyond the committed ${store.committedBytes} bytes`);
  const totals = walkBlocks(store, u32[Word.HEAP_START]!, top);
  const listed = checkFreeLists(u32, top);
  if (listed !== totals.freeBlocks) fail(`${totals.freeBlocks} free blocks in the heap but ${listed} in the free lists`);
  checkQuickLists(u32, totals.cached);
  checkSlabLists(u32, totals.slabs);
  checkPageMap(u32, totals.slabs.size);
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
  if (mallocCount(store, slabs) < derived.liveBlocks) fail("more live blocks than mallocs");
  expect("rounding bytes", totals.roundingBytes, derived.roundingBytes);
  expect("hole bytes in the free lists", totals.holeBytes, holeBytes(u32));
  expect("free slab bytes", totals.slabFreeBytes, slabs.freeBytes);
  expect("slab pages", totals.slabs.size, f64[Gauge.SLAB_PAGES]!);
}

/** Blocks tile [heapStart, top); free blocks have footers, never touch another free block or top. */
function walkBlocks(store: ByteStore, heapStart: number, top: number): Totals {
  const u32 = store.u32;
  const secret = u32[Word.SECRET]!;
  const t: Totals = { liveBlocks: 0, liveBytes: 0, roundingBytes: 0, holeBytes: 0, freeBlocks: 0, slabFreeBytes: 0, slabs: new Set(), cached: new Set() };
  let prevFree = false;
  let b = heapStart;
  let lastFree = false;
  while (b < top) {
    const p = b + Layout.HEADER_BYTES;
    const word = u32[(p - 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    if (size < Layout.MIN_BLOCK_BYTES || b + size > top) fail(`block size ${size} is impossible`, p);
    if (((word & Layout.PREV_FREE_BIT) !== 0) !== prevFree) fail("P bit disagrees with the previous block", p);
    const free = (word & Layout.FREE_BIT) !== 0;
    if (free) {
      if (prevFree) fail("two free blocks are adjacent (missed coalescing)", p);
      if (u32[(p + size - 12) >>> 2] !== size) fail("free block footer disagrees with its header", p);
      if (u32[(p - 8) >>> 2] !== ((Layout.FREE_TAG ^ keyOf(p, size, secret)) >>> 0)) fail("free block check word is wrong", p);
      t.holeBytes += size;
      t.freeBlocks++;
    } else if (isSlabPage(u32, p)) {
      if (b % Layout.SLAB_PAGE_BYTES !== 0 || size < Layout.SLAB_PAGE_BYTES || size >= Layout.SLAB_PAGE_BYTES + Layout.MIN_BLOCK_BYTES) {
        fail(`a slab is a page-aligned block of one page (plus a tail too small to split), not ${size} bytes`, p);
      }
      checkSlab(u32, p, t);
    } else if (isQuickTagged(u32, p, size)) {
      t.holeBytes += size;
      t.cached.add(p);
    } else {
      const requested = (u32[(p - 8) >>> 2]! ^ keyOf(p, size, secret)) >>> 0;
      const usable = size - Layout.HEADER_BYTES;
      if (requested > usable || usable - requested > maxSlackFor(usable)) fail("used block check word is wrong", p);
      t.liveBlocks++;
      t.liveBytes += requested;
      t.roundingBytes += usable - requested;
    }
    prevFree = lastFree = free;
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
  t.liveBlocks += live;
  t.slabFreeBytes += (capacity - live) * slotBytes;
  t.slabs.add(s);
}

/** Bitmaps match non-empty lists; every listed block is free, in its list, doubly linked. */
function checkFreeLists(u32: Uint32Array, top: number): number {
  let count = 0;
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
        const word = u32[(p - 4) >>> 2]!;
        if (!(word & Layout.FREE_BIT)) fail("a used block is in a free list", p);
        if (listIndexOf(word & Layout.SIZE_MASK) !== list) fail(`a block of ${word & Layout.SIZE_MASK} bytes is in list (${fl}, ${sl})`, p);
        if (u32[(p + 4) >>> 2] !== prev) fail("free list back link is wrong", p);
        count++;
      }
    }
  }
  return count;
}

/** Each quick list holds cached blocks of its size, once each; the map and byte count agree. */
function checkQuickLists(u32: Uint32Array, cached: Set<number>): void {
  const seen = new Set<number>();
  let bytes = 0;
  for (let list = 0; list < Layout.QUICK_MAP_WORDS * 32; list++) {
    const head = list < Layout.QUICK_COUNT ? u32[Word.QUICK_HEADS + list]! : 0;
    if (((u32[Word.QUICK_MAP + (list >>> 5)]! >>> (list & 31)) & 1) !== (head !== 0 ? 1 : 0)) fail(`quick map bit ${list} disagrees with its list`);
    for (let p = head; p !== 0; p = u32[p >>> 2]!) {
      if (!cached.has(p)) fail(`quick list ${list} holds ${p}, not a block with the quick tag`, p);
      if (seen.has(p)) fail(`quick list ${list} reaches ${p} twice (a cycle, or two lists share it)`, p);
      const size = u32[(p - 4) >>> 2]! & Layout.SIZE_MASK;
      if (quickListOf(size) !== list) fail(`a block of ${size} bytes is on quick list ${list}`, p);
      seen.add(p);
      bytes += size;
    }
  }
  if (seen.size !== cached.size) fail(`${cached.size} blocks have the quick tag but ${seen.size} are on quick lists`);
  if (bytes !== u32[Word.QUICK_BYTES]) fail(`the quick lists hold ${bytes} bytes but the control block says ${u32[Word.QUICK_BYTES]}`);
  if (bytes > u32[Word.QUICK_LIMIT]!) fail(`the quick lists hold ${bytes} bytes, above their bound ${u32[Word.QUICK_LIMIT]}`);
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

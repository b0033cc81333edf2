/**
 * `checkHeap` walks every block, slab and free list of a heap and throws `HeapCorruptionError`
 * at the first broken invariant (the equations in tlsf.ts and heap.ts). It reads the bytes only.
 */
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { isSlabPage, slabFreeBytes, slotNibble } from "./inspect.js";
import {
  F_FREE_COUNT, F_HOLE_BYTES, F_LIVE_BYTES, F_MALLOC_COUNT, F_ROUNDING_BYTES, F_SLAB_PAGES, FL_COUNT, FREE_BIT,
  FREE_TAG, HEADER_BYTES, MAGIC, MIN_BLOCK_BYTES, PAGE_MAP_OFFSET, PREV_FREE_BIT, S_BUMP, S_CAPACITY, S_CLASS,
  S_FIRST, S_FREE, S_LIVE, S_NEXT, S_PREV, S_RECIP, S_SLOT_BYTES, SIZE_MASK, SL_COUNT, SLAB_CLASSES, SLAB_PAGE_BYTES,
  SMALL_CLASS_COUNT, W_FL_BITMAP, W_FREE_HEADS, W_HEAP_START, W_MAGIC, W_PAGE_MAP_WORDS, W_SECRET, W_SL_BITMAPS,
  W_SLAB_HEADS, W_TOP, keyOf, listIndexOf, maxSlackFor,
} from "./layout.js";

interface Totals {
  liveBlocks: number;
  liveBytes: number;
  roundingBytes: number;
  holeBytes: number;
  freeBlocks: number;
  slabFreeBytes: number;
  slabs: Set<number>;
}

function fail(message: string, offset?: number): never {
  throw new HeapCorruptionError(message, offset);
}

export function checkHeap(store: ByteStore): void {
  const u32 = store.u32;
  if (u32[W_MAGIC] !== MAGIC) fail("control block magic is gone", 0);
  const top = u32[W_TOP]!;
  if (top > store.committedBytes) fail(`top ${top} is beyond the committed ${store.committedBytes} bytes`);
  const totals = walkBlocks(store, u32[W_HEAP_START]!, top);
  const listed = checkFreeLists(u32, top);
  if (listed !== totals.freeBlocks) fail(`${totals.freeBlocks} free blocks in the heap but ${listed} in the free lists`);
  checkSlabLists(u32, totals.slabs);
  checkPageMap(u32, totals.slabs.size);
  const f64 = store.f64;
  const expect = (name: string, actual: number, stored: number) => {
    if (actual !== stored) fail(`${name} is ${stored} in the control block but ${actual} by walking the heap`);
  };
  expect("live blocks", totals.liveBlocks, f64[F_MALLOC_COUNT]! - f64[F_FREE_COUNT]!);
  expect("live bytes", totals.liveBytes, f64[F_LIVE_BYTES]!);
  expect("rounding bytes", totals.roundingBytes, f64[F_ROUNDING_BYTES]!);
  expect("hole bytes", totals.holeBytes, f64[F_HOLE_BYTES]!);
  expect("free slab bytes in the partial lists", totals.slabFreeBytes, slabFreeBytes(u32));
  expect("slab pages", totals.slabs.size, f64[F_SLAB_PAGES]!);
}

/** Blocks tile [heapStart, top); free blocks have footers, never touch another free block or top. */
function walkBlocks(store: ByteStore, heapStart: number, top: number): Totals {
  const u32 = store.u32;
  const secret = u32[W_SECRET]!;
  const t: Totals = { liveBlocks: 0, liveBytes: 0, roundingBytes: 0, holeBytes: 0, freeBlocks: 0, slabFreeBytes: 0, slabs: new Set() };
  let prevFree = false;
  let b = heapStart;
  let lastFree = false;
  while (b < top) {
    const p = b + HEADER_BYTES;
    const word = u32[(p - 4) >>> 2]!;
    const size = word & SIZE_MASK;
    if (size < MIN_BLOCK_BYTES || b + size > top) fail(`block size ${size} is impossible`, p);
    if (((word & PREV_FREE_BIT) !== 0) !== prevFree) fail("P bit disagrees with the previous block", p);
    const free = (word & FREE_BIT) !== 0;
    if (free) {
      if (prevFree) fail("two free blocks are adjacent (missed coalescing)", p);
      if (u32[(p + size - 12) >>> 2] !== size) fail("free block footer disagrees with its header", p);
      if (u32[(p - 8) >>> 2] !== ((FREE_TAG ^ keyOf(p, size, secret)) >>> 0)) fail("free block check word is wrong", p);
      t.holeBytes += size;
      t.freeBlocks++;
    } else if (isSlabPage(u32, p)) {
      if (b % SLAB_PAGE_BYTES !== 0 || size < SLAB_PAGE_BYTES || size >= SLAB_PAGE_BYTES + MIN_BLOCK_BYTES) {
        fail(`a slab is a page-aligned block of one page (plus a tail too small to split), not ${size} bytes`, p);
      }
      checkSlab(u32, p, t);
    } else {
      const requested = (u32[(p - 8) >>> 2]! ^ keyOf(p, size, secret)) >>> 0;
      const usable = size - HEADER_BYTES;
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
  const c = u32[h + S_CLASS]!;
  if (c >= SMALL_CLASS_COUNT) fail(`slab class ${c} does not exist`, s);
  const { slotBytes, capacity, firstSlot, recip } = SLAB_CLASSES[c]!;
  const copies: [string, number, number][] = [["slot bytes", S_SLOT_BYTES, slotBytes], ["first slot", S_FIRST, s + firstSlot],
    ["reciprocal", S_RECIP, recip], ["capacity", S_CAPACITY, capacity]];
  for (const [what, word, value] of copies) {
    if (u32[h + word] !== value) fail(`slab ${what} is ${u32[h + word]}, not ${value} as class ${c} says`, s);
  }
  const bump = u32[h + S_BUMP]!;
  const used = (bump - s - firstSlot) / slotBytes;
  if (!Number.isInteger(used) || used < 0 || used > capacity) fail(`slab bump ${bump} is not a slot boundary`, s);
  let live = 0;
  for (let i = 0; i < capacity; i++) {
    const nibble = slotNibble(u32, s, i);
    if (nibble === 0) continue;
    if (i >= used) fail(`slot ${i} is live beyond the bump`, s);
    if (nibble > 9) fail(`slot ${i} has slack nibble ${nibble}`, s);
    live++;
    t.liveBytes += slotBytes + 1 - nibble;
    t.roundingBytes += nibble - 1;
  }
  if (live !== u32[h + S_LIVE]) fail(`slab counts ${u32[h + S_LIVE]} live slots but ${live} are marked`, s);
  let freeListed = 0;
  for (let slot = u32[h + S_FREE]!; slot !== 0; slot = u32[slot >>> 2]!) {
    const i = (slot - s - firstSlot) / slotBytes;
    if (!Number.isInteger(i) || i < 0 || i >= used) fail(`free list holds ${slot}, not a used slot`, s);
    if (slotNibble(u32, s, i) !== 0) fail(`free list holds live slot ${slot}`, s);
    if (++freeListed > capacity) fail("slab free list has a cycle", s);
  }
  if (live + freeListed !== used) fail(`live ${live} + free ${freeListed} != slots handed out ${used}`, s);
  t.liveBlocks += live;
  t.slabFreeBytes += (capacity - live) * slotBytes;
  t.slabs.add(s);
}

/** Bitmaps match non-empty lists; every listed block is free, in its list, doubly linked. */
function checkFreeLists(u32: Uint32Array, top: number): number {
  let count = 0;
  for (let fl = 0; fl < FL_COUNT; fl++) {
    const slMap = u32[W_SL_BITMAPS + fl]!;
    if (((u32[W_FL_BITMAP]! >>> fl) & 1) !== (slMap !== 0 ? 1 : 0)) fail(`first-level bit ${fl} disagrees with its lists`);
    for (let sl = 0; sl < SL_COUNT; sl++) {
      const list = fl * SL_COUNT + sl;
      let p = u32[W_FREE_HEADS + list]!;
      if (((slMap >>> sl) & 1) !== (p !== 0 ? 1 : 0)) fail(`second-level bit (${fl}, ${sl}) disagrees with its list`);
      let prev = 0;
      for (; p !== 0; prev = p, p = u32[p >>> 2]!) {
        if (p >= top) fail(`free list (${fl}, ${sl}) points beyond top`, p);
        const word = u32[(p - 4) >>> 2]!;
        if (!(word & FREE_BIT)) fail("a used block is in a free list", p);
        if (listIndexOf(word & SIZE_MASK) !== list) fail(`a block of ${word & SIZE_MASK} bytes is in list (${fl}, ${sl})`, p);
        if (u32[(p + 4) >>> 2] !== prev) fail("free list back link is wrong", p);
        count++;
      }
    }
  }
  return count;
}

/** A slab is in its class's partial list exactly when it has a free slot. */
function checkSlabLists(u32: Uint32Array, slabs: Set<number>): void {
  let listed = 0;
  for (let c = 0; c < SMALL_CLASS_COUNT; c++) {
    let prev = 0;
    for (let s = u32[W_SLAB_HEADS + c]!; s !== 0; prev = s, s = u32[(s >>> 2) + S_NEXT]!) {
      if (!slabs.has(s)) fail(`partial list of class ${c} holds ${s}, not a slab`, s);
      if (u32[(s >>> 2) + S_CLASS] !== c) fail(`slab of class ${u32[(s >>> 2) + S_CLASS]} is in the list of class ${c}`, s);
      if (u32[(s >>> 2) + S_PREV] !== prev) fail("slab list back link is wrong", s);
      if (u32[(s >>> 2) + S_LIVE]! >= SLAB_CLASSES[c]!.capacity) fail("a full slab is in a partial list", s);
      if (++listed > slabs.size) fail("slab list has a cycle", s);
    }
  }
  for (const s of slabs) {
    const full = u32[(s >>> 2) + S_LIVE] === SLAB_CLASSES[u32[(s >>> 2) + S_CLASS]!]!.capacity;
    const linked = u32[(s >>> 2) + S_PREV] !== 0 || u32[W_SLAB_HEADS + u32[(s >>> 2) + S_CLASS]!] === s;
    if (full === linked) fail(full ? "a full slab is linked" : "a slab with free slots is in no list", s);
  }
}

function checkPageMap(u32: Uint32Array, slabCount: number): void {
  let bits = 0;
  const first = PAGE_MAP_OFFSET >>> 2;
  for (let w = 0; w < u32[W_PAGE_MAP_WORDS]!; w++) {
    for (let x = u32[first + w]!; x !== 0; x &= x - 1) bits++;
  }
  if (bits !== slabCount) fail(`the page map marks ${bits} slab pages but ${slabCount} slabs exist`);
}

/**
 * SharedHeap's stats and invariant checker (the invariants are drawn in layout.ts). Both scan
 * the pages' status arrays, so they are exact whenever the owners are quiet; the central heap's
 * own numbers come from its `stats()`, with the pages and the control block taken out.
 */
import type { AllocatorStats } from "../allocator.js";
import { HeapCorruptionError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import {
  CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, Ctl, PAGE_MAGIC, PageWord, SharedLayout, type SharedView, slotIndexAt, ThreadState,
  ThreadWord,
} from "./layout.js";

interface PageCounts {
  live: number;
  pending: number;
  liveBytes: number;
  roundingBytes: number;
  freeSlots: number;
}

function countPage(v: SharedView, page: number): PageCounts {
  const c = v.i32[(page >>> 2) + PageWord.CLASS]!;
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  const counts: PageCounts = { live: 0, pending: 0, liveBytes: 0, roundingBytes: 0, freeSlots: 0 };
  for (let j = 0; j < CLASS_CAPACITY[c]!; j++) {
    const s = Atomics.load(v.u16, status + j);
    if (s === 0) counts.freeSlots++;
    else if (s === SharedLayout.PENDING) counts.pending++;
    else {
      counts.live++;
      counts.liveBytes += s - 1;
      counts.roundingBytes += CLASS_SLOT_BYTES[c]! - (s - 1);
    }
  }
  return counts;
}

/** Frees by every thread, attached or gone (mallocs are derived: frees + live blocks). */
function freeCount(v: SharedView): number {
  let frees = v.f64[(v.ctl >>> 1) + Ctl.GLOBAL_FREES_F64]!;
  for (let t = 0; t < v.threadCount; t++) frees += v.f64[((v.ctl + Ctl.THREADS + t * ThreadWord.WORDS) >>> 1) + ThreadWord.FREES_F64]!;
  return frees;
}

/** The heap's gauges: slots from the page scan, large blocks from the central heap's stats. */
export function sharedStats(v: SharedView, central: AllocatorStats, store: ByteStore): AllocatorStats {
  let liveBlocks = 0, liveBytes = 0, roundingBytes = 0, freeSlotBytes = 0, largestFreeSlot = 0;
  for (const page of v.pages) {
    const counts = countPage(v, page);
    const slotBytes = CLASS_SLOT_BYTES[v.i32[(page >>> 2) + PageWord.CLASS]!]!;
    liveBlocks += counts.live;
    liveBytes += counts.liveBytes;
    roundingBytes += counts.roundingBytes;
    freeSlotBytes += (counts.freeSlots + counts.pending) * slotBytes;
    if (counts.freeSlots + counts.pending > 0) largestFreeSlot = Math.max(largestFreeSlot, slotBytes);
  }
  const pageBytes = v.pages.length * SharedLayout.PAGE_BYTES;
  liveBlocks += central.liveBlocks - v.pages.length - 1;
  liveBytes += central.liveBytes - pageBytes - v.controlBytes;
  const peak = Math.max(v.f64[(v.ctl >>> 1) + Ctl.PEAK_LIVE_BYTES_F64]!, liveBytes);
  v.f64[(v.ctl >>> 1) + Ctl.PEAK_LIVE_BYTES_F64] = peak;
  const freeBytes = central.freeBytes + freeSlotBytes;
  const largestFreeBytes = Math.max(central.largestFreeBytes, largestFreeSlot);
  const frees = freeCount(v);
  return {
    ...central,
    liveBlocks,
    liveBytes,
    peakLiveBytes: peak,
    committedBytes: store.committedBytes,
    reservedBytes: store.reservedBytes,
    freeBytes,
    largestFreeBytes,
    internalFragmentationBytes: central.internalFragmentationBytes + roundingBytes,
    externalFragmentation: freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes,
    mallocCount: frees + liveBlocks,
    freeCount: frees,
  };
}

function fail(message: string, offset?: number): never {
  throw new HeapCorruptionError(`shared heap: ${message}`, offset);
}

/** Walks one page's local list (bounded by its capacity) and remote bits, and checks its equations. */
function checkPage(v: SharedView, page: number): void {
  const w = page >>> 2;
  const i32 = v.i32;
  if (i32[w + PageWord.MAGIC] !== PAGE_MAGIC) fail(`page ${page} has no page magic`, page);
  const c = i32[w + PageWord.CLASS]!;
  if (!(c >= 0 && c < SharedLayout.CLASS_COUNT)) fail(`page ${page} has class ${c}, not 0..${SharedLayout.CLASS_COUNT - 1}`, page);
  const capacity = CLASS_CAPACITY[c]!;
  const bump = i32[w + PageWord.BUMP]!;
  if (!(bump >= 0 && bump <= capacity)) fail(`page ${page}: bump ${bump} is outside 0..${capacity}`, page);
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  const counts = countPage(v, page);
  for (let j = bump; j < capacity; j++) if (v.u16[status + j] !== 0) fail(`page ${page}: slot ${j} is in use above the bump ${bump}`, page);
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  const seen = new Uint8Array(capacity);
  const walkList = (first: number, want: number, name: string): number => {
    let n = 0;
    for (let s = first; s !== 0; s = i32[s >>> 2]!) {
      const j = slotIndexAt(c, s - slot0);
      if (j < 0 || j >= bump) fail(`page ${page}: its ${name} list holds ${s}, not a slot below the bump`, s);
      if (seen[j] !== 0 || ++n > capacity) fail(`page ${page}: its ${name} list holds slot ${j} twice (a cycle)`, s);
      seen[j] = 1;
      if (v.u16[status + j] !== want) fail(`page ${page}: slot ${j} is on the ${name} list but its status is ${v.u16[status + j]}`, s);
    }
    return n;
  };
  const local = walkList(i32[w + PageWord.LOCAL_FREE]!, 0, "local free");
  for (let j = 0; j < bump; j++) {
    const marked = (i32[w + PageWord.REMOTE_BITS + (j >>> 5)]! >>> (j & 31)) & 1;
    if (v.u16[status + j] === SharedLayout.PENDING && marked === 0) fail(`page ${page}: slot ${j} is pending but its remote bit is clear (it would never be collected)`, page);
  }
  if (i32[w + PageWord.USED] !== counts.live + counts.pending) fail(`page ${page}: used ${i32[w + PageWord.USED]} != live ${counts.live} + pending ${counts.pending}`, page);
  if (local + counts.live + counts.pending !== bump) fail(`page ${page}: local free ${local} + used ${counts.live + counts.pending} != bump ${bump}`, page);
}

/** Walks one page list (bounded by the page count) and returns the pages on it. */
function listPages(v: SharedView, head: number, owner: number, c: number, inFull: number, pages: Set<number>): number[] {
  const out: number[] = [];
  let prev = 0;
  for (let page = v.i32[head]!; page !== 0; page = v.i32[(page >>> 2) + PageWord.NEXT]!) {
    if (!pages.has(page)) fail(`a page list of class ${c} holds ${page}, which is not a page`, page);
    if (out.length > pages.size) fail(`a page list of class ${c} is longer than the ${pages.size} pages (a cycle)`, page);
    const w = page >>> 2;
    if (v.i32[w + PageWord.OWNER] !== owner) fail(`page ${page} is on thread ${owner - 1}'s list but its owner word is ${v.i32[w + PageWord.OWNER]}`, page);
    if (v.i32[w + PageWord.CLASS] !== c) fail(`page ${page} of class ${v.i32[w + PageWord.CLASS]} is on class ${c}'s list`, page);
    if (owner !== 0 && v.i32[w + PageWord.PREV] !== prev) fail(`page ${page}: its prev link is ${v.i32[w + PageWord.PREV]}, not ${prev}`, page);
    if (owner !== 0 && v.i32[w + PageWord.IN_FULL] !== inFull) fail(`page ${page}: its full flag says ${v.i32[w + PageWord.IN_FULL]} on the ${inFull ? "full" : "available"} list`, page);
    out.push(page);
    prev = page;
  }
  return out;
}

/** Checks the control block, every page and every list; `centralBytes(page)` asks the central heap. */
export function checkSharedHeap(v: SharedView, centralBytes: (page: number) => number): void {
  const i32 = v.i32;
  if (i32[v.ctl + Ctl.MAGIC] !== SharedLayout.MAGIC) fail("the control block has lost its magic", v.controlPtr);
  if (i32[v.ctl + Ctl.PAGES] !== v.pages.length) fail(`the control block counts ${i32[v.ctl + Ctl.PAGES]} pages, the page map ${v.pages.length}`, v.controlPtr);
  const pages = new Set(v.pages);
  for (const page of v.pages) {
    if (centralBytes(page) < SharedLayout.PAGE_BYTES) fail(`page ${page} is not a live ${SharedLayout.PAGE_BYTES}-byte block of the central heap`, page);
    checkPage(v, page);
  }
  const listed = new Set<number>();
  const take = (list: number[]): void => {
    for (const page of list) {
      if (listed.has(page)) fail(`page ${page} is on two lists`, page);
      listed.add(page);
    }
  };
  for (let c = 0; c < SharedLayout.CLASS_COUNT; c++) take(listPages(v, v.ctl + Ctl.ABANDONED_HEADS + c, 0, c, 0, pages));
  for (let t = 0; t < v.threadCount; t++) {
    const record = v.ctl + Ctl.THREADS + t * ThreadWord.WORDS;
    const state = i32[record + ThreadWord.STATE];
    if (state !== ThreadState.FREE && state !== ThreadState.ATTACHED) fail(`thread slot ${t} has state ${state}`, record * 4);
    for (let c = 0; c < SharedLayout.CLASS_COUNT; c++) {
      take(listPages(v, record + ThreadWord.AVAIL_HEADS + c, t + 1, c, 0, pages));
      take(listPages(v, record + ThreadWord.FULL_HEADS + c, t + 1, c, 1, pages));
    }
  }
  if (listed.size !== pages.size) {
    const lost = v.pages.find((p) => !listed.has(p))!;
    fail(`page ${lost} is on no list (owner word ${i32[(lost >>> 2) + PageWord.OWNER]})`, lost);
  }
}

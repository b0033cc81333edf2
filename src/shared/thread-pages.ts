/**
 * A thread's own pages (its cache, in tcmalloc's words): per size class c, an AVAIL list of pages
 * that may have room and a FULL list of pages that had none, both doubly linked through the
 * pages' NEXT/PREV words from the heads in the thread's record (layout.ts). Only the owner walks
 * or relinks them, with plain reads and writes; other threads read IN_FULL and OWNER (Atomics).
 * This is malloc's slow path: take a slot from the head page, collect the head's remote frees,
 * move full pages aside, revive hinted full pages, adopt an abandoned page or make a new one.
 *
 *   thread record:  AVAIL_HEADS[c] -> page <-> page <-> ...     (IN_FULL 0)
 *                   FULL_HEADS[c]  -> page <-> page <-> ...     (IN_FULL 1)
 *   control block:  ABANDONED_HEADS[c] -> page -> page ...      (OWNER 0, under LOCK, singly linked)
 *
 * Invariants (checked by inspect.ts): a page of the thread is on exactly one of its lists, of its
 * class, with IN_FULL saying which; the head of AVAIL is the page the fast path takes from. A full
 * page that a remote free reaches sets the owner's REMOTE_HINT bit c (see freeRemote), so FULL is
 * walked only when one of its pages may have room.
 */
import type { SharedCore } from "./core.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, Ctl, PageWord, SharedLayout, ThreadWord } from "./layout.js";
import { collectThreadFree, formatPage, hasRemoteFrees } from "./pages.js";

/** A slot from the page's local list or above its bump (0 if full); the status is not set yet. */
export function takeSlot(core: SharedCore, page: number, c: number): number {
  const i32 = core.words;
  const w = page >>> 2;
  let slot = i32[w + PageWord.LOCAL_FREE]!;
  if (slot !== 0) {
    i32[w + PageWord.LOCAL_FREE] = i32[slot >>> 2]!;
  } else {
    const bump = i32[w + PageWord.BUMP]!;
    if (bump >= CLASS_CAPACITY[c]!) return 0;
    i32[w + PageWord.BUMP] = bump + 1; // before the status is set: see rebuildPage
    slot = page + CLASS_FIRST_SLOT[c]! + bump * CLASS_SLOT_BYTES[c]!;
  }
  i32[w + PageWord.USED]! += 1;
  return slot;
}

/** The head of class c's available pages once it has room, moving full pages aside; 0 if no memory. */
export function pageWithRoom(core: SharedCore, c: number): number {
  const i32 = core.words;
  for (;;) {
    const page = i32[core.availHeads + c]!;
    if (page === 0) break;
    const w = page >>> 2;
    collectThreadFree(i32, core.halves, page);
    if (i32[w + PageWord.LOCAL_FREE] !== 0 || i32[w + PageWord.BUMP]! < CLASS_CAPACITY[c]!) return page;
    moveToFull(core, page, c);
  }
  const hint = core.record + ThreadWord.REMOTE_HINT;
  if ((Atomics.load(i32, hint) & (1 << c)) !== 0) {
    Atomics.and(i32, hint, ~(1 << c)); // before the scan: a free that lands during it hints again
    if (reviveFullPages(core, c)) return i32[core.availHeads + c]!;
  }
  return newPage(core, c);
}

/** Moves a full page to its class's FULL list, unless a remote free raced in (then keeps it). */
function moveToFull(core: SharedCore, page: number, c: number): void {
  const w = page >>> 2;
  Atomics.store(core.words, w + PageWord.IN_FULL, 1);
  // After IN_FULL is set, with Atomics on both sides: a remote free either sees IN_FULL (and
  // hints) or set its bit before this reads it.
  if (hasRemoteFrees(core.words, page)) {
    Atomics.store(core.words, w + PageWord.IN_FULL, 0); // a remote free came first: collect it next turn
    return;
  }
  unlinkPage(core.words, page, core.availHeads + c);
  pushPage(core.words, page, core.fullHeads + c);
}

/** Collects the remote frees on class c's full pages (a free hinted them); true if one has room now. */
function reviveFullPages(core: SharedCore, c: number): boolean {
  let found = false;
  let page = core.words[core.fullHeads + c]!;
  while (page !== 0) {
    const next = core.words[(page >>> 2) + PageWord.NEXT]!;
    if (collectThreadFree(core.words, core.halves, page) !== 0) {
      moveToAvail(core, page, c);
      found = true;
    }
    page = next;
  }
  return found;
}

/** A page of the FULL list has room again (a free of its owner's): back on AVAIL. */
export function moveToAvail(core: SharedCore, page: number, c: number): void {
  Atomics.store(core.words, (page >>> 2) + PageWord.IN_FULL, 0);
  unlinkPage(core.words, page, core.fullHeads + c);
  pushPage(core.words, page, core.availHeads + c);
}

/** Adopts an abandoned page of class c, or makes one from the central heap; 0 if no memory. */
function newPage(core: SharedCore, c: number): number {
  const page = core.locked(() => {
    const head = core.ctl + Ctl.ABANDONED_HEADS + c;
    const abandoned = core.words[head]!;
    if (abandoned !== 0) {
      core.words[head] = core.words[(abandoned >>> 2) + PageWord.NEXT]!;
      Atomics.store(core.words, (abandoned >>> 2) + PageWord.OWNER, core.tag);
      return abandoned;
    }
    const fresh = core.central.malloc(SharedLayout.PAGE_BYTES, SharedLayout.PAGE_BYTES);
    if (fresh === 0) return 0;
    core.refreshViews();
    formatPage(core.words, core.halves, fresh, c, core.tag);
    core.setPageBit(fresh, true);
    core.words[core.ctl + Ctl.PAGES]! += 1;
    return fresh;
  });
  if (page !== 0) {
    core.words[(page >>> 2) + PageWord.NEXT] = 0;
    core.words[(page >>> 2) + PageWord.PREV] = 0;
    Atomics.store(core.words, (page >>> 2) + PageWord.IN_FULL, 0);
    pushPage(core.words, page, core.availHeads + c);
  }
  return page;
}

/** Gives an empty page of this thread back to the central heap. */
export function retirePage(core: SharedCore, page: number, c: number): void {
  const inFull = core.words[(page >>> 2) + PageWord.IN_FULL] !== 0;
  unlinkPage(core.words, page, (inFull ? core.fullHeads : core.availHeads) + c);
  core.locked(() => {
    core.setPageBit(page, false);
    core.words[core.ctl + Ctl.PAGES]! -= 1;
    core.central.free(page);
  });
}

function pushPage(i32: Int32Array, page: number, head: number): void {
  const first = i32[head]!;
  i32[(page >>> 2) + PageWord.PREV] = 0;
  i32[(page >>> 2) + PageWord.NEXT] = first;
  if (first !== 0) i32[(first >>> 2) + PageWord.PREV] = page;
  i32[head] = page;
}

function unlinkPage(i32: Int32Array, page: number, head: number): void {
  const prev = i32[(page >>> 2) + PageWord.PREV]!;
  const next = i32[(page >>> 2) + PageWord.NEXT]!;
  if (prev === 0) i32[head] = next;
  else i32[(prev >>> 2) + PageWord.NEXT] = next;
  if (next !== 0) i32[(next >>> 2) + PageWord.PREV] = prev;
}

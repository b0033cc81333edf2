/**
 * Operations on one SharedHeap page (layout.ts draws it): format, collect the slots other
 * threads freed, and rebuild the local state from the status array after a thread died in the
 * middle of an operation. Each is done by the page's owner (or, for rebuild, by the thread
 * recovering a dead owner's pages, under the central lock).
 */
import { HeapCorruptionError } from "../errors.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, PAGE_MAGIC, PageWord, SharedLayout, slotIndexAt } from "./layout.js";

/** Writes an empty page of class c owned by `ownerTag` (thread + 1). */
export function formatPage(i32: Int32Array, u16: Uint16Array, page: number, c: number, ownerTag: number): void {
  const w = page >>> 2;
  i32.fill(0, w, w + SharedLayout.PAGE_HEADER_BYTES / 4);
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  u16.fill(0, status, status + CLASS_CAPACITY[c]!);
  i32[w + PageWord.MAGIC] = PAGE_MAGIC;
  i32[w + PageWord.CLASS] = c;
  Atomics.store(i32, w + PageWord.OWNER, ownerTag);
}

/**
 * Moves the slots other threads freed onto the local free list (mimalloc's
 * `mi_page_thread_free_collect`: one exchange takes the whole list). Returns how many.
 */
export function collectThreadFree(i32: Int32Array, u16: Uint16Array, page: number): number {
  const w = page >>> 2;
  let s = Atomics.exchange(i32, w + PageWord.THREAD_FREE, 0);
  if (s === 0) return 0;
  const c = i32[w + PageWord.CLASS]!;
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  let local = i32[w + PageWord.LOCAL_FREE]!;
  let n = 0;
  while (s !== 0) {
    const j = slotIndexAt(c, s - slot0);
    if (j < 0 || n >= CLASS_CAPACITY[c]! || Atomics.load(u16, status + j) !== SharedLayout.PENDING) {
      throw new HeapCorruptionError(`page ${page}: its remote-free list holds ${s}, which is not a slot freed by another thread`, s);
    }
    const next = i32[s >>> 2]!;
    Atomics.store(u16, status + j, 0);
    i32[s >>> 2] = local;
    local = s;
    s = next;
    n++;
  }
  i32[w + PageWord.LOCAL_FREE] = local;
  i32[w + PageWord.USED] = i32[w + PageWord.USED]! - n;
  return n;
}

/**
 * Rebuilds a page's local free list and used count from its status array, the one record a
 * thread writes last in malloc and first in free, so it is right whatever operation the thread
 * was stopped in. Slots still pending on the remote list stay there.
 */
export function rebuildPage(i32: Int32Array, u16: Uint16Array, page: number): void {
  const w = page >>> 2;
  const c = i32[w + PageWord.CLASS]!;
  const capacity = CLASS_CAPACITY[c]!;
  const bump = Math.min(Math.max(i32[w + PageWord.BUMP]!, 0), capacity);
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  let local = 0;
  let used = 0;
  for (let j = bump - 1; j >= 0; j--) {
    if (Atomics.load(u16, status + j) !== 0) { used++; continue; }
    const s = slot0 + j * CLASS_SLOT_BYTES[c]!;
    i32[s >>> 2] = local;
    local = s;
  }
  for (let j = bump; j < capacity; j++) {
    if (Atomics.load(u16, status + j) !== 0) throw new HeapCorruptionError(`page ${page}: slot ${j} is marked in use above the page's bump ${bump}`, page);
  }
  i32[w + PageWord.BUMP] = bump;
  i32[w + PageWord.LOCAL_FREE] = local;
  i32[w + PageWord.USED] = used;
}

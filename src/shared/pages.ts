/**
 * Operations on one SharedHeap page (layout.ts draws it): format, mark a slot freed by another
 * thread, collect those slots, and rebuild the local state from the status array after a thread
 * died in the middle of an operation. Each is done by the page's owner, but for the remote mark
 * (by the freeing thread, lock-free) and rebuild (by the thread recovering a dead owner's pages,
 * under the central lock).
 */
import { HeapCorruptionError } from "../errors.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, PAGE_MAGIC, PageWord, SharedLayout } from "./layout.js";

/** Writes an empty page of class c owned by `ownerTag` (thread + 1). */
export function formatPage(i32: Int32Array, u16: Uint16Array, page: number, c: number, ownerTag: number): void {
  const w = page >>> 2;
  i32.fill(0, w, w + SharedLayout.PAGE_STATUS_OFFSET / 4); // the header and the remote bits
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  u16.fill(0, status, status + CLASS_CAPACITY[c]!);
  i32[w + PageWord.MAGIC] = PAGE_MAGIC;
  i32[w + PageWord.CLASS] = c;
  Atomics.store(i32, w + PageWord.OWNER, ownerTag);
}

/** A free by a thread that does not own the page, after it made slot j PENDING: sets the slot's remote bit. */
export function markRemoteFree(i32: Int32Array, page: number, j: number): void {
  Atomics.or(i32, (page >>> 2) + PageWord.REMOTE_BITS + (j >>> 5), 1 << (j & 31));
}

/** True when a remote bit of the page is set (read with Atomics: see moveToFull). */
export function hasRemoteFrees(i32: Int32Array, page: number): boolean {
  const bits = (page >>> 2) + PageWord.REMOTE_BITS;
  const words = (CLASS_CAPACITY[i32[(page >>> 2) + PageWord.CLASS]!]! + 31) >>> 5;
  for (let k = 0; k < words; k++) if (Atomics.load(i32, bits + k) !== 0) return true;
  return false;
}

/**
 * The owner moves the slots other threads freed onto its local free list (mimalloc's
 * `mi_page_thread_free_collect`, with a bit map in place of a linked list: see layout.ts): a
 * plain scan of the bit words, and one exchange for each that is not 0. A set bit whose slot is
 * no longer PENDING is a double free that raced the owner's own free of the block, which already
 * freed it: dropped. Returns how many slots were freed.
 */
export function collectThreadFree(i32: Int32Array, u16: Uint16Array, page: number): number {
  const w = page >>> 2;
  const c = i32[w + PageWord.CLASS]!;
  const capacity = CLASS_CAPACITY[c]!;
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  const slotBytes = CLASS_SLOT_BYTES[c]!;
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  let local = i32[w + PageWord.LOCAL_FREE]!;
  let n = 0;
  for (let k = 0; k < (capacity + 31) >>> 5; k++) {
    if (i32[w + PageWord.REMOTE_BITS + k] === 0) continue;
    for (let bits = Atomics.exchange(i32, w + PageWord.REMOTE_BITS + k, 0); bits !== 0; bits &= bits - 1) {
      const j = k * 32 + 31 - Math.clz32(bits & -bits);
      if (j >= capacity || Atomics.load(u16, status + j) !== SharedLayout.PENDING) continue;
      const s = slot0 + j * slotBytes;
      Atomics.store(u16, status + j, 0);
      i32[s >>> 2] = local;
      local = s;
      n++;
    }
  }
  if (n === 0) return 0;
  i32[w + PageWord.LOCAL_FREE] = local;
  i32[w + PageWord.USED] = i32[w + PageWord.USED]! - n;
  return n;
}

/**
 * Rebuilds a page's local free list and used count from its status array, the one record a
 * thread writes last in malloc and first in free, so it is right whatever operation the thread
 * was stopped in. Slots still pending keep their remote bits, for the next owner to collect.
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

/**
 * SharedHeap's control block, made and found (layout.ts draws its words): `formatSharedControl`
 * writes an empty one in a block of a new central heap and points the heap's root word at it;
 * `findSharedControl` follows the root word of an existing heap, checking the magic words and
 * the version before anything trusts the block.
 */
import { InvalidStoreError } from "../errors.js";
import type { Heap } from "../heap/heap.js";
import { Layout, Word } from "../heap/layout.js";
import type { ByteStore } from "../memory/store.js";
import { controlGeometry, Ctl, SharedLayout } from "./layout.js";

/** Writes the control block of a shared heap with `threads` thread slots; returns its offset. */
export function formatSharedControl(store: ByteStore, central: Heap, threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > SharedLayout.MAX_THREADS) {
    throw new InvalidStoreError(`threads must be an integer from 1 to ${SharedLayout.MAX_THREADS}, not ${String(threads)}`);
  }
  const geometry = controlGeometry(threads, store.reservedBytes);
  const ptr = central.malloc(geometry.bytes, SharedLayout.LINE_BYTES);
  if (ptr === 0) throw new InvalidStoreError(`the store cannot hold a shared heap's ${geometry.bytes}-byte control block`);
  store.u8.fill(0, ptr, ptr + geometry.bytes);
  const i32 = new Int32Array(store.buffer, ptr, geometry.bytes >>> 2);
  i32[Ctl.MAGIC] = SharedLayout.MAGIC;
  i32[Ctl.VERSION] = SharedLayout.VERSION;
  i32[Ctl.PAGE_MAP_WORDS] = geometry.pageMapWords;
  i32[Ctl.THREAD_COUNT] = threads;
  central.root = ptr;
  return ptr;
}

/** The control block, from the central heap's root word (read before the heap is attached). */
export function findSharedControl(store: ByteStore): number {
  const i32 = store.i32;
  const ptr = i32[Word.ROOT]! >>> 0;
  if (i32[Word.MAGIC]! >>> 0 !== Layout.MAGIC) throw new InvalidStoreError("this buffer does not hold a heapkit heap (no heap magic at offset 0)");
  if (ptr === 0 || (ptr & (SharedLayout.LINE_BYTES - 1)) !== 0 || ptr + 4 > store.committedBytes || i32[ptr >>> 2] !== SharedLayout.MAGIC) {
    throw new InvalidStoreError("this heap is not a SharedHeap (no shared-heap control block at its root): open it with Heap.attach");
  }
  if (i32[(ptr >>> 2) + Ctl.VERSION] !== SharedLayout.VERSION) {
    throw new InvalidStoreError(`shared heap format version ${i32[(ptr >>> 2) + Ctl.VERSION]} is not supported (this heapkit reads version ${SharedLayout.VERSION})`);
  }
  return ptr;
}

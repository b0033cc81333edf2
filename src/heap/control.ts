/**
 * A heap's control block, made and reopened: `formatControl` writes an empty heap's (its maps
 * sized by the store's reservation), `openControl` checks an existing one before `Heap.attach`
 * trusts it. layout.ts draws the words.
 */
import { InvalidStoreError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Gauge, Layout, roundUp8, Word } from "./layout.js";
import { Mid } from "./mid-layout.js";

/** Writes an empty heap's control block; returns the first block's offset. */
export function formatControl(store: ByteStore): number {
  const pageMapWords = Math.ceil(store.reservedBytes / Layout.SLAB_PAGE_BYTES / 32);
  const midRootWords = Math.ceil(store.reservedBytes / 2 ** Mid.REGION_SHIFT);
  const heapStart = roundUp8(Gauge.PAGE_MAP_OFFSET + (pageMapWords + midRootWords) * 4);
  const minimum = heapStart + Layout.SLAB_PAGE_BYTES;
  if (!store.grow(minimum)) {
    throw new InvalidStoreError(`a heap needs at least ${minimum} bytes in its store; this one has ${store.committedBytes} and cannot grow there`);
  }
  store.u8.fill(0, 0, heapStart);
  const u32 = store.u32;
  u32[Word.MAGIC] = Layout.MAGIC;
  u32[Word.VERSION] = Layout.VERSION;
  u32[Word.SECRET] = globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
  u32[Word.HEAP_START] = heapStart;
  u32[Word.TOP] = heapStart;
  u32[Word.PAGE_MAP_WORDS] = pageMapWords;
  u32[Word.MID_ROOT_WORDS] = midRootWords;
  store.f64[Gauge.PEAK_TOP] = heapStart;
  return heapStart;
}

/** Validates an existing heap's control block; returns its first block's offset. */
export function openControl(store: ByteStore): number {
  const u32 = store.u32;
  if (store.committedBytes < Gauge.PAGE_MAP_OFFSET || u32[Word.MAGIC] !== Layout.MAGIC) {
    throw new InvalidStoreError("this buffer does not hold a heapkit heap (no heap magic at offset 0)");
  }
  if (u32[Word.VERSION] !== Layout.VERSION) {
    throw new InvalidStoreError(`heap format version ${u32[Word.VERSION]} is not supported (this heapkit reads version ${Layout.VERSION})`);
  }
  return u32[Word.HEAP_START]!;
}

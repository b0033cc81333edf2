/**
 * A heap's control block, made and reopened: `formatControl` writes an empty heap's (its maps
 * sized by the store's reservation), `openControl` checks an existing one before `Heap.attach`
 * trusts it. layout.ts draws the words.
 */
import { ConcurrentUseError, HeapCorruptionError, InvalidHeapImageError, InvalidStoreError } from "../errors.js";
import { ByteStore, type StoreBacking } from "../memory/store.js";
import { IN_USE_WORD, isSharedStore } from "./guard.js";
import { isSlabPage, midSlabAt } from "./inspect.js";
import { Gauge, keyOf, Layout, maxSlackFor, roundUp8, Word } from "./layout.js";
import { Mid } from "./mid-layout.js";

/** Writes an empty heap's control block; returns the first block's offset. */
export function formatControl(store: ByteStore): number {
  const pageMapWords = Math.ceil(store.reservedBytes / Layout.SLAB_PAGE_BYTES / 32);
  const midRootWords = Math.ceil(store.reservedBytes / 2 ** Mid.REGION_SHIFT);
  const heapStart = roundUp8(Gauge.PAGE_MAP_OFFSET + (pageMapWords + midRootWords) * 4);
  const minimum = heapStart + Layout.SLAB_PAGE_BYTES;
  if (!store.grow(minimum)) {
    const where = store.isRange ? `the range [${store.start}, ${store.base + store.reservedBytes}) of its buffer` : "its store";
    throw new InvalidStoreError(`a heap needs at least ${minimum} bytes in ${where}; this one has ${store.committedBytes} and cannot grow there`);
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
  u32[Word.RANGE_END] = store.isRange ? store.base + store.reservedBytes : 0;
  store.f64[Gauge.PEAK_TOP] = heapStart;
  return heapStart;
}

/**
 * The store `Heap.attach` opens in `backing`: the whole buffer, or the range from `start` to
 * the end that the control block at its base records. Reads only; where no heap of this
 * version is there, or the end it records is not one the buffer has, a store that
 * `openControl` refuses.
 */
export function storeToAttach(backing: StoreBacking, start?: number): ByteStore {
  const probe = start === undefined ? ByteStore.wrap(backing) : ByteStore.wrap(backing, { start });
  const u32 = probe.u32;
  const found = u32[Word.MAGIC] === Layout.MAGIC && u32[Word.VERSION] === Layout.VERSION;
  const rangeEnd = found ? u32[Word.RANGE_END]! : 0;
  if (rangeEnd === 0) return probe.base === 0 && probe.isRange ? ByteStore.wrap(backing) : probe;
  if (rangeEnd <= probe.base || rangeEnd > probe.base + probe.reservedBytes) return probe;
  return ByteStore.wrap(backing, { start: start ?? 0, end: rangeEnd });
}

/**
 * Validates an existing heap's control block against the buffer and against itself before
 * `Heap.attach` trusts it, reading only: the magic, the version, the map sizes (consistent with
 * each other), the heap start they imply, the top (8-aligned,
 * between the heap start and the committed bytes), and the secret (it must key the first
 * blocks' check words). Throws `InvalidHeapImageError` naming the word; returns the heap start.
 */
export function openControl(store: ByteStore): number {
  const fault = controlFault(store);
  if (fault !== undefined) throw new InvalidHeapImageError(fault.field, fault.message);
  const heapStart = store.u32[Word.HEAP_START]!;
  // Another agent may be inside the heap: read its blocks only while holding the in-use word.
  const shared = isSharedStore(store);
  if (shared) takeInUseWord(store);
  try {
    checkSecret(store.u32, heapStart, store.u32[Word.TOP]!);
  } finally {
    if (shared) Atomics.store(store.i32, IN_USE_WORD, 0);
  }
  return heapStart;
}

/** Waits (spinning, bounded) for the in-use word of a shared heap; ConcurrentUseError if it stays taken. */
function takeInUseWord(store: ByteStore): void {
  for (let spins = 0; Atomics.compareExchange(store.i32, IN_USE_WORD, 0, 1) !== 0; spins++) {
    if (spins > ATTACH_SPINS) throw new ConcurrentUseError("attach");
  }
}

/** How long attach waits for another agent to leave the heap: a few milliseconds of spinning. */
const ATTACH_SPINS = 1 << 22;

/**
 * The control words every walk relies on (the map sizes, the heap start, the top), checked
 * against each other and the buffer: check(), stats() and walk() call it first, so each of
 * their loops is bounded by what the layout allows. Throws `HeapCorruptionError` naming the word.
 */
export function assertControl(store: ByteStore): void {
  const fault = controlFault(store);
  if (fault !== undefined) throw new HeapCorruptionError(`control word ${fault.field}: ${fault.message}`);
}

/** The first wrong control word and why, or undefined. Reads only. */
function controlFault(store: ByteStore): { field: string; message: string } | undefined {
  const committed = store.committedBytes;
  const u32 = store.u32;
  if (committed >= 4 && committed < Gauge.PAGE_MAP_OFFSET && u32[Word.MAGIC] === Layout.MAGIC) {
    return { field: "length", message: `${committed} bytes is shorter than a heap's control block (${Gauge.PAGE_MAP_OFFSET} bytes): a truncated copy` };
  }
  if (committed < Gauge.PAGE_MAP_OFFSET || u32[Word.MAGIC] !== Layout.MAGIC) {
    return { field: "magic", message: `this buffer does not hold a heapkit heap (no heap magic at offset ${store.base})` };
  }
  if (u32[Word.VERSION] !== Layout.VERSION) {
    return { field: "version", message: `heap format version ${u32[Word.VERSION]} is not supported (this heapkit reads version ${Layout.VERSION})` };
  }
  const rangeEnd = store.isRange ? store.base + store.reservedBytes : 0;
  if (u32[Word.RANGE_END] !== rangeEnd) return { field: "range end", message: `${u32[Word.RANGE_END]}, but the store's range ends at ${rangeEnd} (0: no range)` };
  const pageMapWords = u32[Word.PAGE_MAP_WORDS]!;
  const midRootWords = u32[Word.MID_ROOT_WORDS]!;
  const coveredBytes = pageMapWords * 32 * Layout.SLAB_PAGE_BYTES;
  if (pageMapWords === 0 || coveredBytes > 2 ** 32) return { field: "page map size", message: `${pageMapWords} words is no reservation a heap can have` };
  if (rangeEnd > 0 && coveredBytes < store.reservedBytes) return { field: "range end", message: `${rangeEnd} is past what the page map covers (${coveredBytes} bytes from ${store.base})` };
  const lowest = Math.ceil(((pageMapWords - 1) * 32 * Layout.SLAB_PAGE_BYTES + 1) / 2 ** Mid.REGION_SHIFT);
  const highest = Math.ceil(coveredBytes / 2 ** Mid.REGION_SHIFT);
  if (midRootWords < lowest || midRootWords > highest) {
    return { field: "mid root size", message: `${midRootWords} words disagrees with the page map's ${pageMapWords} words (${lowest} to ${highest} expected)` };
  }
  const heapStart = roundUp8(Gauge.PAGE_MAP_OFFSET + (pageMapWords + midRootWords) * 4);
  if (u32[Word.HEAP_START] !== heapStart) return { field: "heap start", message: `${u32[Word.HEAP_START]}, but the maps' sizes put it at ${heapStart}` };
  if (committed < heapStart) {
    return { field: "length", message: `${committed} bytes is shorter than the heap's control block (${heapStart} bytes): a truncated copy` };
  }
  const top = u32[Word.TOP]!;
  if (top < heapStart || top > committed || top % 8 !== 0) {
    return { field: "top", message: `${top} is not an 8-aligned offset from the heap start ${heapStart} to the ${committed} bytes the buffer holds${top > committed ? " (a truncated copy?)" : ""}` };
  }
  for (const [field, word] of [["grower", Word.GROWER], ["growth reserve", Word.RESERVE], ["kept hole", Word.KEPT]] as const) {
    const p = u32[word]!;
    if (p !== 0 && (p <= heapStart || p >= top || p % 8 !== 0)) return { field, message: `${p} is not 0 or a block's offset between the heap start ${heapStart} and top ${top}` };
  }
  return undefined;
}

/** Blocks checked against the secret at attach: enough to catch a wrong key, O(1) for any heap. */
const SECRET_SAMPLE_BLOCKS = 16;

/** The first blocks' check words must decode under the secret (slabs carry none and are skipped). */
function checkSecret(u32: Uint32Array, heapStart: number, top: number): void {
  const secret = u32[Word.SECRET]!;
  let b = heapStart;
  for (let n = 0; n < SECRET_SAMPLE_BLOCKS && b < top; n++) {
    const p = b + Layout.HEADER_BYTES;
    const word = u32[(p - 4) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    if (size < Layout.MIN_BLOCK_BYTES || size % 8 !== 0 || b + size > top) bad("heap start", `the block at ${b} has an impossible size ${size}`);
    const check = u32[(p - 8) >>> 2]!;
    const key = keyOf(p, size, secret);
    const free = (word & Layout.FREE_BIT) !== 0;
    const keyed = free ? check === ((Layout.FREE_TAG ^ key) >>> 0)
      : isSlabPage(u32, p) || midSlabAt(u32, b) !== 0 || check === key || check === ((Layout.CACHED_TAG ^ key) >>> 0) || isPlausibleRequest((check ^ key) >>> 0, size);
    if (!keyed) bad("secret", `it does not key the check word of the block at ${b} (the secret, or that block's header, is damaged)`);
    b += size;
  }
}

function isPlausibleRequest(requested: number, size: number): boolean {
  const usable = size - Layout.HEADER_BYTES;
  return requested <= usable && usable - requested <= maxSlackFor(usable);
}

function bad(field: string, message: string): never {
  throw new InvalidHeapImageError(field, message);
}

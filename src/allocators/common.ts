/**
 * What the lifetime allocators (pool, arena, stack, ring, fifo) share: how they get their byte
 * store, and the statistics that follow from a walk (holes and fragmentation).
 */
import { type Allocator, type AllocatorStats, SPAN_FREE } from "../allocator.js";
import { InvalidStoreError } from "../errors.js";
import { ByteStore, type StoreOptions } from "../memory/store.js";

/** Every allocator runs on any kind of byte store: its own, or one passed in. */
export type AllocatorStoreOptions = StoreOptions & {
  /** An existing store to use (the allocator owns it from then on). @defaultValue a new store */
  store?: ByteStore;
};

/** The store to use, committed to at least `minBytes` (the control block) or an error. */
export function openStore(options: AllocatorStoreOptions, minBytes: number, policy: string): ByteStore {
  const store = options.store ?? ByteStore.create(options);
  if (!store.grow(minBytes)) {
    throw new InvalidStoreError(`${policy}: the store cannot hold the ${minBytes}-byte control block (it has ${store.committedBytes} bytes, reserves ${store.reservedBytes})`);
  }
  return store;
}

export interface HoleStats {
  freeBytes: number;
  largestFreeBytes: number;
  externalFragmentation: number;
}

/** freeBytes = Σ free span sizes of the walk; externalFragmentation = 1 - largest / total (0 when none). */
export function holeStats(allocator: Allocator): HoleStats {
  let freeBytes = 0;
  let largestFreeBytes = 0;
  allocator.walkInto((_start, bytes, kind) => {
    if (kind !== SPAN_FREE) return;
    freeBytes += bytes;
    if (bytes > largestFreeBytes) largestFreeBytes = bytes;
  });
  return { freeBytes, largestFreeBytes, externalFragmentation: freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes };
}

/**
 * Byte offsets of the f64 counters that ring and fifo keep in their control blocks (words 0..5
 * are each policy's own). A `const enum`, so every use compiles to a literal.
 */
export const enum Counter {
  LIVE_BLOCKS = 24,
  LIVE_BYTES = 32,
  PEAK_LIVE_BYTES = 40,
  PEAK_EXTENT_BYTES = 48,
  MALLOC_COUNT = 56,
  FREE_COUNT = 64,
  END = 72,
}

/** Stats from the `Counter` block, the extent, the usable bytes of live blocks and a walk. */
export function counterStats(allocator: Allocator, extentBytes: number, usableBytes: number): AllocatorStats {
  const store = allocator.store;
  const f64 = store.f64;
  const liveBytes = f64[Counter.LIVE_BYTES >>> 3]!;
  return {
    baseOffset: 0,
    liveBlocks: f64[Counter.LIVE_BLOCKS >>> 3]!,
    liveBytes,
    peakLiveBytes: f64[Counter.PEAK_LIVE_BYTES >>> 3]!,
    extentBytes,
    peakExtentBytes: f64[Counter.PEAK_EXTENT_BYTES >>> 3]!,
    committedBytes: store.committedBytes,
    reservedBytes: store.reservedBytes,
    ...holeStats(allocator),
    internalFragmentationBytes: usableBytes - liveBytes,
    mallocCount: f64[Counter.MALLOC_COUNT >>> 3]!,
    freeCount: f64[Counter.FREE_COUNT >>> 3]!,
  };
}

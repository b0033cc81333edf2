/**
 * What the lifetime allocators (pool, arena, stack, ring, fifo) share: how they get their byte
 * store, and the statistics that follow from a walk (holes and fragmentation).
 */
import type { BlockInfo } from "../allocator.js";
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

/** freeBytes = Σ free block sizes; externalFragmentation = 1 - largest / total (0 when none). */
export function holeStats(blocks: Iterable<BlockInfo>): HoleStats {
  let freeBytes = 0;
  let largestFreeBytes = 0;
  for (const block of blocks) {
    if (block.state !== "free") continue;
    freeBytes += block.sizeBytes;
    if (block.sizeBytes > largestFreeBytes) largestFreeBytes = block.sizeBytes;
  }
  return { freeBytes, largestFreeBytes, externalFragmentation: freeBytes === 0 ? 0 : 1 - largestFreeBytes / freeBytes };
}

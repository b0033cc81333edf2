/**
 * The allocator kit, part one: what every policy in src/allocators does the same way, written
 * once. How a policy gets its byte store, how a realloc that cannot stay in place moves a block,
 * and the header-plus-payload rounding of the policies with an 8-byte block header. The other
 * part, the statistics, is stats.ts.
 *
 * Convention for control fields (every policy's layout drawing follows it): a field is named by
 * its BYTE offset in the control block or header, in a `const enum` (so it compiles to a literal),
 * and read as `u32[FIELD >>> 2]` or `f64[FIELD >>> 3]`.
 */
import type { Allocator } from "../allocator.js";
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
  if (store.isRange) throw new InvalidStoreError(`${policy}: cannot manage a range of a buffer (only a Heap can: ByteStore.wrap(buffer, { start, end }))`);
  if (!store.grow(minBytes)) {
    throw new InvalidStoreError(`${policy}: the store cannot hold the ${minBytes}-byte control block (it has ${store.committedBytes} bytes, reserves ${store.reservedBytes})`);
  }
  return store;
}

/**
 * A realloc that cannot stay in place: malloc a new block (default alignment, like C's
 * realloc), copy what both hold, free the old one. Returns the new offset, or 0 with the old
 * block unchanged.
 */
export function reallocByMove(allocator: Allocator, ptr: number, oldSize: number, size: number): number {
  const moved = allocator.malloc(size);
  if (moved === 0) return 0;
  allocator.store.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, size));
  allocator.free(ptr);
  return moved;
}

/** An 8-byte header plus the payload rounded up to 8, at least 8 (so even a 0-byte block holds its pointer). */
export function headedBlockBytes(size: number): number {
  return 8 + Math.max(8, Math.ceil(size / 8) * 8);
}

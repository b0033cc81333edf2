/**
 * The allocator kit, part two: statistics. Every policy keeps its own gauges and counters and
 * hands them to `assembleStats`, which adds what follows from them and from the store (the base,
 * committed and reserved bytes, external fragmentation), so each stat is computed in one place.
 * `holeStats` derives the holes from a walk, for policies that do not track them; `Counter` and
 * `counterStats` are the counter block ring and fifo share, with its peak tracking.
 */
import { type Allocator, type AllocatorStats, SPAN_FREE } from "../allocator.js";
import type { ByteStore } from "../memory/store.js";

/** What a policy counts itself: every stat but those `assembleStats` derives. */
export type OwnStats = Omit<AllocatorStats, "baseOffset" | "committedBytes" | "reservedBytes" | "externalFragmentation">;

/** The stats object: the policy's own numbers, the store's sizes, and 1 - largest free / free (0 when none). */
export function assembleStats<S extends OwnStats>(store: ByteStore, own: S): S & AllocatorStats {
  return {
    baseOffset: 0,
    ...own,
    committedBytes: store.committedBytes,
    reservedBytes: store.reservedBytes,
    externalFragmentation: own.freeBytes === 0 ? 0 : 1 - own.largestFreeBytes / own.freeBytes,
  };
}

export interface HoleStats {
  freeBytes: number;
  largestFreeBytes: number;
}

/** freeBytes = Σ free span sizes of the walk, and the largest of them (no object per span). */
export function holeStats(allocator: Allocator): HoleStats {
  let freeBytes = 0;
  let largestFreeBytes = 0;
  allocator.walkInto((_start, bytes, kind) => {
    if (kind !== SPAN_FREE) return;
    freeBytes += bytes;
    if (bytes > largestFreeBytes) largestFreeBytes = bytes;
  });
  return { freeBytes, largestFreeBytes };
}

/**
 * Byte offsets of the f64 counters that ring and fifo keep in their control blocks (bytes 0..23
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

/** Raises the `Counter` block's peak live bytes to its live bytes. */
export function notePeakLive(f64: Float64Array): void {
  f64[Counter.PEAK_LIVE_BYTES >>> 3] = Math.max(f64[Counter.PEAK_LIVE_BYTES >>> 3]!, f64[Counter.LIVE_BYTES >>> 3]!);
}

/** Raises the `Counter` block's peak extent to `extentBytes`. */
export function notePeakExtent(f64: Float64Array, extentBytes: number): void {
  f64[Counter.PEAK_EXTENT_BYTES >>> 3] = Math.max(f64[Counter.PEAK_EXTENT_BYTES >>> 3]!, extentBytes);
}

/** Stats from the `Counter` block, the extent, the usable bytes of live blocks and a walk. */
export function counterStats(allocator: Allocator, extentBytes: number, usableBytes: number): AllocatorStats {
  const f64 = allocator.store.f64;
  const liveBytes = f64[Counter.LIVE_BYTES >>> 3]!;
  return assembleStats(allocator.store, {
    liveBlocks: f64[Counter.LIVE_BLOCKS >>> 3]!,
    liveBytes,
    peakLiveBytes: f64[Counter.PEAK_LIVE_BYTES >>> 3]!,
    extentBytes,
    peakExtentBytes: f64[Counter.PEAK_EXTENT_BYTES >>> 3]!,
    ...holeStats(allocator),
    internalFragmentationBytes: usableBytes - liveBytes,
    mallocCount: f64[Counter.MALLOC_COUNT >>> 3]!,
    freeCount: f64[Counter.FREE_COUNT >>> 3]!,
  });
}

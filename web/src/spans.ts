/**
 * What the map asks of the allocator's walk contract, over a range: `walkInto` (numbers, no
 * objects: for drawing) and `walk(start, end)` (HeapSpan objects: for a tooltip, the hex view and
 * the red zones), so a frame costs the visible spans, not the whole heap.
 */
import type { Allocator, AllocatorStats, HeapSpan } from "heapkit";

/** The span that holds `address`, or undefined past the region. */
export function spanAt(allocator: Allocator, address: number): HeapSpan | undefined {
  for (const span of allocator.walk(address, address + 1)) {
    if (span.start <= address && address < span.start + span.bytes) return span;
  }
  return undefined;
}

/**
 * The region: its first byte, one past the highest byte handed out (`extentEnd`) and one past
 * the committed bytes (`end`, where the walk's spans stop).
 */
export function regionOf(allocator: Allocator): { base: number; extentEnd: number; end: number } {
  return regionOfStats(allocator.stats());
}

/** The region, from stats() the caller already has (stats() is not free on every policy: the fits count their free list). */
export function regionOfStats(stats: AllocatorStats): { base: number; extentEnd: number; end: number } {
  const base = stats.baseOffset;
  const extentEnd = base + stats.extentBytes;
  return { base, extentEnd, end: Math.max(extentEnd, stats.committedBytes) };
}

/** Changes whenever the heap does (every malloc, free and growth moves one of these counters). */
export function heapKey(stats: AllocatorStats): string {
  return `${stats.mallocCount} ${stats.freeCount} ${stats.liveBytes} ${stats.extentBytes} ${stats.committedBytes}`;
}

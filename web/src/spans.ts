/**
 * The map reads the heap only through the allocator's walk contract: `walkInto` (numbers, no
 * objects: for drawing) and `walk(start, end)` (HeapSpan objects: for a tooltip, the hex view and
 * the debug overlay). Both over a range, so a frame costs the visible spans, not the whole heap.
 */
import type { Allocator, HeapSpan, SpanVisitor } from "heapkit";

interface Walking {
  walkInto(visit: SpanVisitor, start?: number, end?: number): void;
  walk(start?: number, end?: number): IterableIterator<HeapSpan>;
}

export function walkInto(allocator: Allocator, visit: SpanVisitor, start: number, end: number): void {
  (allocator as unknown as Walking).walkInto(visit, start, end);
}

export function walkSpans(allocator: Allocator, start: number, end: number): IterableIterator<HeapSpan> {
  return (allocator as unknown as Walking).walk(start, end);
}

/** The span that holds `address`, or undefined past the region. */
export function spanAt(allocator: Allocator, address: number): HeapSpan | undefined {
  for (const span of walkSpans(allocator, address, address + 1)) {
    if (span.start <= address && address < span.start + span.bytes) return span;
  }
  return undefined;
}

/** The region's first byte and one past its last: the base and the committed end. */
export function regionOf(allocator: Allocator): { base: number; end: number } {
  const stats = allocator.stats() as { baseOffset?: number; committedBytes: number; extentBytes: number };
  const base = stats.baseOffset ?? 0;
  return { base, end: Math.max(base + stats.extentBytes, stats.committedBytes) };
}

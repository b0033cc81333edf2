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
  if ("walkInto" in allocator) return (allocator as unknown as Walking).walkInto(visit, start, end);
  for (const span of legacySpans(allocator, start, end)) visit(span.start, span.bytes, span.kind === "used" ? 0 : span.kind === "free" ? 1 : 2, span.ptr ?? 0, 0, -1);
}

export function walkSpans(allocator: Allocator, start: number, end: number): IterableIterator<HeapSpan> {
  if ("walkInto" in allocator) return (allocator as unknown as Walking).walk(start, end);
  return legacySpans(allocator, start, end);
}

function* legacySpans(allocator: Allocator, start: number, end: number): IterableIterator<HeapSpan> {
  for (const block of allocator.walk()) {
    if (block.offset + block.sizeBytes <= start || block.offset >= end) continue;
    yield { start: block.offset, bytes: block.sizeBytes, kind: block.state, ptr: block.state === "used" ? block.offset : undefined };
  }
}

/** The span that holds `address`, or undefined past the region. */
export function spanAt(allocator: Allocator, address: number): HeapSpan | undefined {
  for (const span of walkSpans(allocator, address, address + 1)) {
    if (span.start <= address && address < span.start + span.bytes) return span;
  }
  return undefined;
}

/**
 * The region: its first byte, one past the highest byte handed out (`extentEnd`) and one past
 * the committed bytes (`end`, where the walk's spans stop).
 */
export function regionOf(allocator: Allocator): { base: number; extentEnd: number; end: number } {
  const stats = allocator.stats() as { baseOffset?: number; committedBytes: number; extentBytes: number };
  const base = stats.baseOffset ?? 0;
  const extentEnd = base + stats.extentBytes;
  return { base, extentEnd, end: Math.max(extentEnd, stats.committedBytes) };
}

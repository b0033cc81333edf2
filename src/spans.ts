/**
 * The one implementation of the walk contract's two forms (src/allocator.ts), shared by every
 * policy: a policy writes its spans once, in address order, into a `SpanSink`, and
 *
 *   walkInto(visit, start, end)  = a VisitorSink: each span goes to `visit` as numbers (no object)
 *   walk(start, end)             = a CollectSink: each span becomes a HeapSpan (groups shared)
 *
 * The sink keeps the spans that overlap [from, to) and tells the writer to stop (`span()`
 * returns false) once a span starts at or past `to`, so a writer that can seek to `from` costs
 * the range, and one that cannot still stops at its end.
 */
import { type Allocator, type HeapSpan, type HeldCode, HELD_STATES, SPAN_KINDS, type SpanGroup, type SpanKindCode, type SpanVisitor } from "./allocator.js";
import { InvalidRangeError } from "./errors.js";

/** Span kind codes, as SPAN_USED.. in allocator.ts (a const enum: literals in the writers). */
export const enum Span {
  USED = 0,
  FREE = 1,
  META = 2,
  PAD = 3,
}

/** Held-state codes: the last argument of a SpanVisitor (0 for a span that is not held). */
export const enum Held {
  NONE = 0,
  QUARANTINE = 1,
  DELAYED = 2,
  REMOTE = 3,
}

/** How a wrapper re-writes one span of its inner allocator (DebugHeap's red zones, ...). */
export type SpanRelay = (sink: SpanSink, start: number, bytes: number, kind: Span, ptr: number, requestedBytes: number, held: Held, detail: string) => boolean;

export abstract class SpanSink {
  /** Spans kept so far. */
  count = 0;
  /** The group the next spans belong to (-1: none). */
  groupStart = -1;

  constructor(readonly from: number, readonly to: number) {}

  /** The spans that follow belong to this group, until `leaveGroup()`. */
  enterGroup(start: number, bytes: number, kind: SpanGroup["kind"], sizeClassBytes: number): void {
    this.groupStart = start;
    this.onGroup(start, bytes, kind, sizeClassBytes);
  }

  leaveGroup(): void {
    this.groupStart = -1;
  }

  /**
   * Hands over the span [start, start + bytes). Returns false when it starts at or past the end
   * of the range: the writer stops. `detail` must be a constant string (no allocation).
   */
  span(start: number, bytes: number, kind: Span, ptr: number, requestedBytes: number, held: Held, detail: string): boolean {
    if (start >= this.to) return false;
    if (start + bytes > this.from) {
      this.count++;
      this.emit(start, bytes, kind, ptr, requestedBytes, held, detail);
    }
    return true;
  }

  /** Feeds the spans of `inner` over this sink's range through `relay` (for wrappers). */
  abstract relayFrom(inner: Allocator, relay: SpanRelay): void;

  protected abstract onGroup(start: number, bytes: number, kind: SpanGroup["kind"], sizeClassBytes: number): void;
  protected abstract emit(start: number, bytes: number, kind: Span, ptr: number, requestedBytes: number, held: Held, detail: string): void;
}

class VisitorSink extends SpanSink {
  constructor(from: number, to: number, private readonly visit: SpanVisitor) {
    super(from, to);
  }

  relayFrom(inner: Allocator, relay: SpanRelay): void {
    inner.walkInto((start, bytes, kind, ptr, requestedBytes, groupStart, held) => {
      this.groupStart = groupStart;
      relay(this, start, bytes, kind as number as Span, ptr, requestedBytes, held as number as Held, "");
    }, this.from, this.to);
    this.groupStart = -1;
  }

  protected onGroup(): void {}

  protected emit(start: number, bytes: number, kind: Span, ptr: number, requestedBytes: number, held: Held): void {
    this.visit(start, bytes, kind as number as SpanKindCode, ptr, requestedBytes, this.groupStart, held as number as HeldCode);
  }
}

class CollectSink extends SpanSink {
  readonly spans: HeapSpan[] = [];
  private group: SpanGroup | undefined;

  relayFrom(inner: Allocator, relay: SpanRelay): void {
    for (const s of inner.walk(this.from, this.to)) {
      if (s.group === undefined) this.leaveGroup();
      else if (s.group.start !== this.groupStart) this.enterGroup(s.group.start, s.group.bytes, s.group.kind, s.group.sizeClassBytes ?? 0);
      if (!relay(this, s.start, s.bytes, SPAN_KINDS.indexOf(s.kind), s.ptr ?? 0, s.requestedBytes ?? 0, HELD_STATES.indexOf(s.held), s.detail ?? "")) break;
    }
    this.leaveGroup();
  }

  protected onGroup(start: number, bytes: number, kind: SpanGroup["kind"], sizeClassBytes: number): void {
    this.group = sizeClassBytes > 0 ? { start, bytes, kind, sizeClassBytes } : { start, bytes, kind };
  }

  protected emit(start: number, bytes: number, kind: Span, ptr: number, requestedBytes: number, held: Held, detail: string): void {
    const span: HeapSpan = { start, bytes, kind: SPAN_KINDS[kind]! };
    if (kind === Span.USED) {
      span.ptr = ptr;
      span.requestedBytes = requestedBytes;
    }
    if (held !== Held.NONE) span.held = HELD_STATES[held];
    if (this.groupStart >= 0) span.group = this.group;
    if (detail !== "") span.detail = detail;
    this.spans.push(span);
  }
}

/** What a policy implements once: its spans, in address order, from `sink.from` where it can. */
export interface SpanWriter {
  writeSpans(sink: SpanSink): void;
}

/** The walk as HeapSpan objects (collected, then iterated). */
export function walkSpans(writer: SpanWriter, start: number | undefined, end: number | undefined): IterableIterator<HeapSpan> {
  const sink = new CollectSink(rangeStart(start), rangeEnd(start, end));
  writer.writeSpans(sink);
  return sink.spans.values();
}

/** The allocation-free walk: `visit` per span; returns the number of spans visited. */
export function walkSpansInto(writer: SpanWriter, visit: SpanVisitor, start: number | undefined, end: number | undefined): number {
  const sink = new VisitorSink(rangeStart(start), rangeEnd(start, end), visit);
  writer.writeSpans(sink);
  return sink.count;
}

function rangeStart(start: number | undefined): number {
  if (start === undefined) return 0;
  if (!(start >= 0)) throw new InvalidRangeError(start, "a walk's start must be a number >= 0");
  return start;
}

function rangeEnd(start: number | undefined, end: number | undefined): number {
  if (end === undefined) return Infinity;
  if (!(end >= (start ?? 0))) throw new InvalidRangeError(end, `a walk's end must be a number >= its start (${start ?? 0})`);
  return end;
}

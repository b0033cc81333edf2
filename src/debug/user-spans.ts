/**
 * DebugHeap's spans in the user's view (its walk()): the inner allocator's spans, with each of
 * the heap's blocks split into its left red zone (with the inner block's header; meta), its user
 * bytes (used; one byte for a 0-byte block) and its right red zone with the slack (meta), and a
 * quarantined block shown free, held "quarantine". Other spans pass through as they are.
 */
import type { Allocator } from "../allocator.js";
import { Held, Span, type SpanSink } from "../spans.js";
import type { Shadow } from "./block-index.js";
import { type BlockTable, SlotState } from "./block-table.js";

/** Feeds `inner`'s spans through `sink`, in the user's view of the blocks in `t`. */
export function relayUserSpans(sink: SpanSink, inner: Allocator, t: BlockTable, shadow: Shadow, redZoneBytes: number): void {
  sink.relayFrom(inner, (out, start, bytes, kind, ptr, requestedBytes, held, detail) => {
    const slot = kind === Span.USED ? slotOfBase(t, shadow, redZoneBytes, ptr, start + bytes) : -1;
    if (slot < 0) return out.span(start, bytes, kind, ptr, requestedBytes, held, detail);
    if (t.state(slot) === SlotState.QUARANTINED) return out.span(start, bytes, Span.FREE, 0, 0, Held.QUARANTINE, "quarantined: poisoned until it leaves");
    const user = t.ptr(slot);
    const userEnd = user + Math.max(t.size(slot), 1);
    return out.span(start, user - start, Span.META, 0, 0, Held.NONE, "left red zone (and the inner block's header)")
      && out.span(user, userEnd - user, Span.USED, user, t.size(slot), Held.NONE, "")
      && (userEnd >= start + bytes || out.span(userEnd, start + bytes - userEnd, Span.META, 0, 0, Held.NONE, "right red zone and slack"));
  });
}

/** The live or quarantined block whose inner block starts at `base` (its user offset is the first one found past the left red zone). */
function slotOfBase(t: BlockTable, shadow: Shadow, redZoneBytes: number, base: number, end: number): number {
  for (let q = base + Math.ceil(redZoneBytes / 8) * 8; q < end; q += 8) {
    const slot = shadow.slotOf(q);
    if (slot >= 0 && t.base(slot) === base && t.state(slot) !== SlotState.RELEASED) return slot;
  }
  return -1;
}

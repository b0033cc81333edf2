/**
 * SharedHeap's spans (the walk contract, src/allocator.ts): the central heap's spans, with the
 * control block shown as metadata and each page expanded into its header and status words (meta),
 * its slots (used, free, or free held "remote": freed by another thread, not yet collected) and
 * its tail (pad). The central heap finds the range's first block, so a range costs that range.
 */
import type { Heap } from "../heap/heap.js";
import { Held, Span, type SpanSink } from "../spans.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, PageWord, SharedLayout, type SharedView } from "./layout.js";

function isPage(v: SharedView, ptr: number): boolean {
  return (ptr & (SharedLayout.PAGE_BYTES - 1)) === 0 && ((v.i32[v.pageMapWord + (ptr >>> (SharedLayout.PAGE_SHIFT + 5))]! >>> ((ptr >>> SharedLayout.PAGE_SHIFT) & 31)) & 1) !== 0;
}

/** The spans of the central block [start, start + bytes) that holds the page at `page`. */
function pageSpans(v: SharedView, out: SpanSink, start: number, bytes: number, page: number): boolean {
  const c = v.i32[(page >>> 2) + PageWord.CLASS]!;
  const slotBytes = CLASS_SLOT_BYTES[c]!;
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  const pageEnd = page + SharedLayout.PAGE_BYTES;
  if (start < page && !out.span(start, page - start, Span.META, 0, 0, Held.NONE, "the central heap's block header")) return false;
  out.enterGroup(page, SharedLayout.PAGE_BYTES, "page", slotBytes);
  let more = out.span(page, slot0 - page, Span.META, 0, 0, Held.NONE, "a thread's page: header and status words");
  for (let j = 0; more && j < CLASS_CAPACITY[c]!; j++) {
    const s = Atomics.load(v.u16, status + j);
    const at = slot0 + j * slotBytes;
    if (s === 0) more = out.span(at, slotBytes, Span.FREE, 0, 0, Held.NONE, "");
    else if (s === SharedLayout.PENDING) more = out.span(at, slotBytes, Span.FREE, 0, 0, Held.REMOTE, "freed by another thread, not yet collected");
    else more = out.span(at, slotBytes, Span.USED, at, s - 1, Held.NONE, "");
  }
  const tail = slot0 + CLASS_CAPACITY[c]! * slotBytes;
  if (more && pageEnd > tail) more = out.span(tail, pageEnd - tail, Span.PAD, 0, 0, Held.NONE, "the page's tail, too short for a slot");
  out.leaveGroup();
  if (more && start + bytes > pageEnd) more = out.span(pageEnd, start + bytes - pageEnd, Span.PAD, 0, 0, Held.NONE, "the central block's rounding");
  return more;
}

export function writeSharedSpans(v: SharedView, central: Heap, sink: SpanSink): void {
  sink.relayFrom(central, (out, start, bytes, kind, ptr, requestedBytes, held, detail) => {
    if (kind !== Span.USED) return out.span(start, bytes, kind, ptr, requestedBytes, held, detail);
    if (ptr === v.controlPtr) return out.span(start, bytes, Span.META, 0, 0, Held.NONE, "the shared heap's control block: lock, thread records, page map");
    if (isPage(v, ptr)) return pageSpans(v, out, start, bytes, ptr);
    return out.span(start, bytes, kind, ptr, requestedBytes, held, detail);
  });
}

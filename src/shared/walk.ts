/**
 * SharedHeap's walk: the central heap's spans, with the control block shown as metadata and
 * each page expanded into its header, its status array and its slots. A slot freed by another
 * thread and not yet collected is a free span held "remote". Walks from the base.
 */
import type { HeapSpan, SpanGroup } from "../allocator.js";
import type { Heap } from "../heap/heap.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, PageWord, SharedLayout, type SharedView } from "./layout.js";

function* pageSpans(v: SharedView, span: HeapSpan, page: number): IterableIterator<HeapSpan> {
  const c = v.i32[(page >>> 2) + PageWord.CLASS]!;
  const slotBytes = CLASS_SLOT_BYTES[c]!;
  const slot0 = page + CLASS_FIRST_SLOT[c]!;
  const group: SpanGroup = { start: page, bytes: SharedLayout.PAGE_BYTES, kind: "page", sizeClassBytes: slotBytes };
  const owner = v.i32[(page >>> 2) + PageWord.OWNER]!;
  const whose = owner === 0 ? "abandoned" : `thread ${owner - 1}'s`;
  yield { start: span.start, bytes: slot0 - span.start, kind: "meta", group, detail: `${whose} page of ${slotBytes}-byte slots: header and status words` };
  const status = (page >>> 1) + PageWord.STATUS_HALF;
  for (let j = 0; j < CLASS_CAPACITY[c]!; j++) {
    const start = slot0 + j * slotBytes;
    const s = Atomics.load(v.u16, status + j);
    if (s === 0) yield { start, bytes: slotBytes, kind: "free", group };
    else if (s === SharedLayout.PENDING) yield { start, bytes: slotBytes, kind: "free", held: "remote", group, detail: "freed by another thread, not yet collected by the owner" };
    else yield { start, bytes: slotBytes, kind: "used", ptr: start, requestedBytes: s - 1, group };
  }
  const end = slot0 + CLASS_CAPACITY[c]! * slotBytes;
  const spanEnd = span.start + span.bytes;
  if (spanEnd > end) yield { start: end, bytes: spanEnd - end, kind: "pad", group, detail: "the page's tail, too short for a slot" };
}

function isPage(v: SharedView, ptr: number): boolean {
  return ptr % SharedLayout.PAGE_BYTES === 0 && ((v.i32[v.pageMapWord + (ptr >>> (SharedLayout.PAGE_SHIFT + 5))]! >>> ((ptr >>> SharedLayout.PAGE_SHIFT) & 31)) & 1) !== 0;
}

export function* walkSharedHeap(v: SharedView, central: Heap, start?: number, end?: number): IterableIterator<HeapSpan> {
  const from = start ?? 0;
  const to = end ?? Infinity;
  for (const span of central.walk()) {
    if (span.start + span.bytes <= from) continue;
    if (span.start >= to) return;
    if (span.kind !== "used" || span.ptr === undefined) yield span;
    else if (span.ptr === v.controlPtr) yield { ...span, kind: "meta", ptr: undefined, requestedBytes: undefined, detail: "the shared heap's control block: lock, thread records, page map" };
    else if (isPage(v, span.ptr)) {
      for (const s of pageSpans(v, span, span.ptr)) if (s.start + s.bytes > from && s.start < to) yield s;
    } else yield span;
  }
}

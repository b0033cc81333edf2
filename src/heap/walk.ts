/**
 * The Heap's spans for the walk contract (src/allocator.ts, src/spans.ts), read from its bytes
 * alone (so they work on an attached heap):
 *
 *   0                 page map       mid root        heapStart                               top
 *   ├─ control block ─┼─ page map ───┼─ mid root ────┼─ pad ─┼─ TLSF blocks ... ─────────────┤
 *     meta              meta           meta                     used [hdr|payload], free,
 *                                                               slab (group): meta hdr, slots, pad tail
 *                                                               mid slab (group): meta hdr, pad, slots, pad tail
 *                                                               mid leaf / descriptor page: meta
 *
 * A TLSF block's span includes its 8-byte header (ptr = payload); a slot is its own span (slots
 * have no header). A range walk starts at the nearest block start it can find at or below
 * `start` without walking: a small slab page (page map) or a mid slab (mid page table) at or
 * below it, else heapStart; from there it steps over TLSF blocks by their sizes and descends
 * only into the slabs that overlap the range. So it costs the TLSF blocks between that anchor
 * and `end`, plus the spans in the range.
 */
import { Held, Span, type SpanSink } from "../spans.js";
import type { ByteStore } from "../memory/store.js";
import { Block, Gauge, keyOf, Layout, SLAB_CLASSES, slabClassOf, SlabWord, Word } from "./layout.js";
import { isLiveRequest, Mid, MID_CLASSES, midDescriptorOf, midRequestIndex, midRootWord } from "./mid-layout.js";
import { isSlabPage, midMetaBlocks, midSlabAt, slotNibble } from "./inspect.js";
import { isCachedTagged } from "./mid-cache.js";

export function writeHeapSpans(store: ByteStore, sink: SpanSink): void {
  const u32 = store.u32;
  const heapStart = u32[Word.HEAP_START]!;
  if (sink.from < heapStart && !writeControlSpans(u32, sink, heapStart)) return;
  const top = u32[Word.TOP]!;
  const secret = u32[Word.SECRET]!;
  const metaDetails = midMetaDetails(u32);
  for (let b = anchorAtOrBelow(u32, Math.max(sink.from, heapStart), heapStart); b < top;) {
    const p = b + Layout.HEADER_BYTES;
    const word = u32[(p + Block.SIZE) >>> 2]!;
    const size = word & Layout.SIZE_MASK;
    if (size === 0) return; // a corrupt header; check() reports it
    if (b + size <= sink.from) {
      b += size;
      continue;
    }
    let going: boolean;
    if (word & Layout.FREE_BIT) going = sink.span(b, size, Span.FREE, 0, 0, Held.NONE, freeDetail(u32, p));
    else if (isSlabPage(u32, p)) going = writeSlab(u32, sink, b, size);
    else if (metaDetails.has(p)) going = sink.span(b, size, Span.META, 0, 0, Held.NONE, metaDetails.get(p)!);
    else {
      const d = midSlabAt(u32, b);
      going = d !== 0 ? writeMidSlab(store, sink, b, d, size)
        : isCachedTagged(u32, p, size, secret) ? sink.span(b, size, Span.FREE, 0, 0, Held.NONE, "cached: the next malloc of its mid class takes it (mid-cache.ts)")
        : sink.span(b, size, Span.USED, p, (u32[(p + Block.CHECK) >>> 2]! ^ keyOf(p, size, secret)) >>> 0, Held.NONE, size >= Layout.LARGE_MIN_BYTES ? "page span" : "");
    }
    if (!going) return;
    b += size;
  }
}

/** The control block, page map and mid root, and the padding up to heapStart. */
function writeControlSpans(u32: Uint32Array, sink: SpanSink, heapStart: number): boolean {
  const mapEnd = Gauge.PAGE_MAP_OFFSET + 4 * u32[Word.PAGE_MAP_WORDS]!;
  const rootEnd = mapEnd + 4 * u32[Word.MID_ROOT_WORDS]!;
  return sink.span(0, Gauge.PAGE_MAP_OFFSET, Span.META, 0, 0, Held.NONE, "control block")
    && sink.span(Gauge.PAGE_MAP_OFFSET, mapEnd - Gauge.PAGE_MAP_OFFSET, Span.META, 0, 0, Held.NONE, "page map: a bit per slab page")
    && sink.span(mapEnd, rootEnd - mapEnd, Span.META, 0, 0, Held.NONE, "mid page-table root")
    && (rootEnd >= heapStart || sink.span(rootEnd, heapStart - rootEnd, Span.PAD, 0, 0, Held.NONE, "alignment"));
}

/** A small slab: its TLSF and slab headers (meta), its slots, and the tail no slot fits (pad). */
function writeSlab(u32: Uint32Array, sink: SpanSink, b: number, size: number): boolean {
  const s = b + Layout.HEADER_BYTES;
  const { slotBytes, capacity, firstSlot } = SLAB_CLASSES[slabClassOf(u32[(s >>> 2) + SlabWord.INFO]!)]!;
  sink.enterGroup(b, size, "slab", slotBytes);
  const slots = s + firstSlot;
  if (!sink.span(b, slots - b, Span.META, 0, 0, Held.NONE, "slab header: block header, state, links, slot nibbles")) return false;
  for (let i = Math.max(0, Math.floor((sink.from - slots) / slotBytes)); i < capacity; i++) {
    const nibble = slotNibble(u32, s, i);
    const at = slots + i * slotBytes;
    const going = nibble === 0 ? sink.span(at, slotBytes, Span.FREE, 0, 0, Held.NONE, "")
      : sink.span(at, slotBytes, Span.USED, at, slotBytes - (nibble - 1), Held.NONE, "");
    if (!going) return false;
  }
  const tail = slots + capacity * slotBytes;
  if (tail < b + size && !sink.span(tail, b + size - tail, Span.PAD, 0, 0, Held.NONE, "slab tail")) return false;
  sink.leaveGroup();
  return true;
}

/** A mid slab: TLSF header (meta), padding to 16, its slots, the tail (pad); its bookkeeping is in descriptor d. */
function writeMidSlab(store: ByteStore, sink: SpanSink, b: number, d: number, size: number): boolean {
  const { u32, u16 } = store;
  const { slotBytes, capacity } = MID_CLASSES[u32[(d >>> 2) + Mid.CLASS]!]!;
  sink.enterGroup(b, size, "slab", slotBytes);
  const slots = b + Mid.FIRST_SLOT;
  if (!sink.span(b, Layout.HEADER_BYTES, Span.META, 0, 0, Held.NONE, "block header (the slab's descriptor is in a descriptor page)")) return false;
  if (!sink.span(b + Layout.HEADER_BYTES, Mid.FIRST_SLOT - Layout.HEADER_BYTES, Span.PAD, 0, 0, Held.NONE, "alignment")) return false;
  for (let i = Math.max(0, Math.floor((sink.from - slots) / slotBytes)); i < capacity; i++) {
    const request = u16[midRequestIndex(d, i)]!;
    const at = slots + i * slotBytes;
    const going = isLiveRequest(request) ? sink.span(at, slotBytes, Span.USED, at, request, Held.NONE, "")
      : sink.span(at, slotBytes, Span.FREE, 0, 0, Held.NONE, "");
    if (!going) return false;
  }
  const tail = slots + capacity * slotBytes;
  if (tail < b + size && !sink.span(tail, b + size - tail, Span.PAD, 0, 0, Held.NONE, "slab tail")) return false;
  sink.leaveGroup();
  return true;
}

/** The payloads of the mid layer's own blocks, each with what it is. */
function midMetaDetails(u32: Uint32Array): Map<number, string> {
  const details = new Map<number, string>();
  for (const p of midMetaBlocks(u32)) details.set(p, "mid page-table leaf");
  for (let page = u32[Word.MID_DESCRIPTOR_PAGES]!; page !== 0; page = u32[page >>> 2]!) details.set(page, "mid slab descriptors");
  return details;
}

/**
 * A TLSF block start at or below a: the highest small slab page or mid slab start the page map
 * and the mid page table know of (each a block start), else heapStart.
 */
function anchorAtOrBelow(u32: Uint32Array, a: number, heapStart: number): number {
  const top = u32[Word.TOP]!;
  if (a <= heapStart || top <= heapStart) return heapStart;
  const page = Math.floor(Math.min(a, top - 1) / Layout.SLAB_PAGE_BYTES);
  const firstPage = Math.floor(heapStart / Layout.SLAB_PAGE_BYTES);
  let anchor = heapStart;
  const map = Gauge.PAGE_MAP_WORD;
  for (let w = page >>> 5, bits = u32[map + w]! & lowBitsThrough(page & 31); w * 32 + 31 >= firstPage; bits = u32[map + --w]!) {
    if (bits !== 0) {
      anchor = Math.max(anchor, (w * 32 + 31 - Math.clz32(bits)) * Layout.SLAB_PAGE_BYTES);
      break;
    }
    if (w === 0) break;
  }
  const root = midRootWord(u32);
  const regionFirst = page - (page % Mid.LEAF_ENTRIES);
  for (let q = page; q >= regionFirst && q * Layout.SLAB_PAGE_BYTES > anchor; q--) {
    const d = midDescriptorOf(u32, root, q * Layout.SLAB_PAGE_BYTES);
    if (d !== 0) return Math.max(anchor, u32[(d >>> 2) + Mid.BASE]!);
  }
  return anchor;
}

/** Bits 0..i set. */
function lowBitsThrough(i: number): number {
  return i === 31 ? 0xffffffff : (1 << (i + 1)) - 1;
}

/** What a free block is kept for, if anything (tlsf.ts: the growth reserve and the kept hole). */
function freeDetail(u32: Uint32Array, p: number): string {
  if (p === u32[Word.RESERVE]) return "growth reserve of the block before";
  return p === u32[Word.KEPT] ? "kept whole for a large block (a freed block of 128 KiB or more)" : "";
}

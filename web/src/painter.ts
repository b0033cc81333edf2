/**
 * Paints an allocator's spans over a view into the map's pixels, and repaints only what changed.
 * Every frame walks the visible addresses (walkInto: the allocator's own spans, nothing else) and
 * keeps what it drew as a tiling: each span's start, bytes and code (channel and edge bits), in
 * address order. The next frame walks again and compares span by span with the tiling before:
 *
 *   drawn:  | a |   b    |  c  | d |  u  |        (u: committed bytes past the last span)
 *   now:    | a | b' | e |  c  | d |   u'   |
 *               ^^^^^^^^^             ^^^^^^     unmatched spans: their cells are cleared,
 *                                                refilled from this frame's spans, resolved
 *
 * Both walks tile the same addresses, so where a span now equals one drawn before, the picture
 * there is the same; everywhere else some span is unmatched. Cells are refilled in address order
 * from zero, as a whole frame fills them, so a repaint equals a full paint pixel for pixel (the
 * test compares them). It needs nothing from the ops, so changes far from them (a quarantine
 * letting go of a block, deferred coalescing, a slab given back) are caught too. The walk stays
 * whole (the fits walk from the base anyway); what is saved is the raster and pixel work and the
 * clearing of every cell: a frame of a few thousand ops repaints a few thousand cells.
 */
import type { Allocator, SpanVisitor } from "heapkit";
import { SPAN_FREE, SPAN_META, SPAN_PAD, SPAN_USED } from "heapkit";
import { type MapView, visibleRange } from "./geometry.js";
import {
  CH_FREE, CH_HELD, CH_META, CH_PAD, CH_RED_ZONE, CH_SLAB_FREE, CH_SLAB_USED, CH_UNTOUCHED, CH_USED, EDGE_BLOCK, EDGE_GROUP, Raster,
} from "./raster.js";

/** Above this many visible bytes, the object walk for red zones is skipped (they are too thin to see). */
const RED_ZONE_MAX_BYTES = 1 << 24;
/** How DebugHeap's walk names red zones. */
const RED_ZONE_DETAIL = /red zone/i;
/** A span's code: its channel in the low bits, its edge bits above. */
const EDGE_SHIFT = 4;
const CHANNEL_MASK = (1 << EDGE_SHIFT) - 1;

/** The colour channel of a span (as walkInto gives it). */
export function spanChannel(kind: number, inGroup: boolean, held: number): number {
  if (held !== 0) return CH_HELD;
  if (kind === SPAN_USED) return inGroup ? CH_SLAB_USED : CH_USED;
  if (kind === SPAN_FREE) return inGroup ? CH_SLAB_FREE : CH_FREE;
  if (kind === SPAN_META) return CH_META;
  if (kind === SPAN_PAD) return CH_PAD;
  return CH_META;
}

/** Spans in address order, in typed arrays that grow by doubling and are reused frame after frame. */
export class SpanTiling {
  starts = new Float64Array(1024);
  bytes = new Float64Array(1024);
  codes = new Uint8Array(1024);
  count = 0;

  push(start: number, bytes: number, code: number): void {
    if (this.count === this.codes.length) this.grow();
    this.starts[this.count] = start;
    this.bytes[this.count] = bytes;
    this.codes[this.count] = code;
    this.count++;
  }

  /** One past the last span's last byte (0 when empty). */
  get end(): number {
    return this.count === 0 ? 0 : this.starts[this.count - 1]! + this.bytes[this.count - 1]!;
  }

  /** The last span that starts at or before `address` (0 when none does). */
  indexAt(address: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private grow(): void {
    const size = this.codes.length * 2;
    const starts = new Float64Array(size);
    const bytes = new Float64Array(size);
    const codes = new Uint8Array(size);
    starts.set(this.starts);
    bytes.set(this.bytes);
    codes.set(this.codes);
    this.starts = starts;
    this.bytes = bytes;
    this.codes = codes;
  }
}

export class MapPainter {
  readonly raster: Raster;
  /** Spans walked by the last paint. */
  spansWalked = 0;
  /** Cells the last paint filled and resolved (all of them when it painted the whole frame). */
  cellsPainted = 0;
  private drawn = new SpanTiling();
  private next = new SpanTiling();
  private paintedView: MapView | undefined;
  private paintedPixels: Uint32Array | undefined;
  /** Cell ranges to repaint, [from, to) pairs in address order, merged. */
  private dirty = new Int32Array(256);
  private dirtyCount = 0;
  /** The drawn span the comparison has reached. */
  private cursor = 0;
  private lastGroup = -1;
  /** One past the last span a debug heap's walk gave. */
  private walkedEnd = 0;

  constructor(view: MapView) {
    this.raster = new Raster(view);
  }

  /** The next paint paints the whole frame (the pixels were drawn from something else). */
  invalidate(): void {
    this.paintedView = undefined;
  }

  /**
   * Paints `view` into `pixels`: the spans of [visible start, walkEnd), then committed bytes no
   * span reached up to `committedEnd` (from `extentEnd` at least). Repaints only what changed
   * when the view and the pixels are the ones painted last.
   */
  paint(allocator: Allocator, view: MapView, walkEnd: number, extentEnd: number, committedEnd: number, pixels: Uint32Array): void {
    const whole = this.paintedView === undefined || this.paintedPixels !== pixels || !sameView(this.paintedView, view);
    const raster = this.raster;
    if (whole) raster.begin(view);
    this.next.count = 0;
    this.cursor = 0;
    this.dirtyCount = 0;
    this.lastGroup = -1;
    this.spansWalked = allocator.walkInto(whole ? this.record : this.compare, visibleRange(view).start, walkEnd);
    const untouchedFrom = Math.max(this.next.end, extentEnd);
    if (committedEnd > untouchedFrom) {
      if (whole) this.next.push(untouchedFrom, committedEnd - untouchedFrom, CH_UNTOUCHED);
      else this.compareSpan(untouchedFrom, committedEnd - untouchedFrom, CH_UNTOUCHED);
    }
    if (whole) this.paintAll(pixels);
    else {
      if (this.next.end < this.drawn.end) this.markDirty(this.next.end, this.drawn.end - this.next.end);
      this.repaintDirty(pixels);
    }
    const drawn = this.drawn;
    this.drawn = this.next;
    this.next = drawn;
    this.paintedView = view;
    this.paintedPixels = pixels;
  }

  /**
   * A debug heap's frame, always whole: its meta spans come from the object walk, which tells red
   * zones from other metadata (on views of up to RED_ZONE_MAX_BYTES; wider ones draw them as meta).
   */
  paintWithRedZones(allocator: Allocator, view: MapView, walkEnd: number, extentEnd: number, committedEnd: number, pixels: Uint32Array): void {
    const start = visibleRange(view).start;
    const redZones = walkEnd - start <= RED_ZONE_MAX_BYTES;
    this.raster.begin(view);
    this.next.count = 0;
    this.lastGroup = -1;
    this.walkedEnd = start;
    this.spansWalked = allocator.walkInto(redZones ? this.recordUnlessMeta : this.record, start, walkEnd);
    const untouchedFrom = Math.max(redZones ? this.walkedEnd : this.next.end, extentEnd);
    if (committedEnd > untouchedFrom) this.next.push(untouchedFrom, committedEnd - untouchedFrom, CH_UNTOUCHED);
    if (redZones) {
      for (const span of allocator.walk(start, walkEnd)) {
        if (span.kind !== "meta") continue;
        const channel = RED_ZONE_DETAIL.test(span.detail ?? "") ? CH_RED_ZONE : CH_META;
        this.next.push(span.start, span.bytes, channel | (EDGE_BLOCK << EDGE_SHIFT));
      }
    }
    this.paintAll(pixels);
    this.paintedView = undefined;
  }

  private paintAll(pixels: Uint32Array): void {
    const tiling = this.next;
    for (let i = 0; i < tiling.count; i++) {
      const code = tiling.codes[i]!;
      this.raster.add(tiling.starts[i]!, tiling.bytes[i]!, code & CHANNEL_MASK, code >> EDGE_SHIFT);
    }
    this.raster.resolve(pixels);
    this.cellsPainted = this.raster.cellCount;
  }

  /** The code a span is drawn with: its channel, a block edge, a group edge where its group begins. */
  private codeOf(kind: number, groupStart: number, held: number): number {
    let edge = EDGE_BLOCK;
    if (groupStart !== this.lastGroup) {
      if (groupStart >= 0) edge |= EDGE_GROUP;
      this.lastGroup = groupStart;
    }
    return spanChannel(kind, groupStart >= 0, held) | (edge << EDGE_SHIFT);
  }

  /** A whole frame's visitor: keeps each span. */
  private readonly record: SpanVisitor = (start, bytes, kind, _ptr, _requested, groupStart, held) => {
    this.next.push(start, bytes, this.codeOf(kind, groupStart, held));
  };

  /** A debug heap's visitor: keeps each span but the meta ones (the object walk draws those). */
  private readonly recordUnlessMeta: SpanVisitor = (start, bytes, kind, _ptr, _requested, groupStart, held) => {
    this.walkedEnd = start + bytes;
    if (kind !== SPAN_META) this.next.push(start, bytes, this.codeOf(kind, groupStart, held));
  };

  /** A repaint's visitor: keeps each span and marks the cells of those the last frame did not draw. */
  private readonly compare: SpanVisitor = (start, bytes, kind, _ptr, _requested, groupStart, held) => {
    this.compareSpan(start, bytes, this.codeOf(kind, groupStart, held));
  };

  private compareSpan(start: number, bytes: number, code: number): void {
    this.next.push(start, bytes, code);
    const drawn = this.drawn;
    let j = this.cursor;
    while (j < drawn.count && drawn.starts[j]! < start) j++;
    if (j < drawn.count && drawn.starts[j] === start && drawn.bytes[j] === bytes && drawn.codes[j] === code) j++;
    else this.markDirty(start, bytes);
    this.cursor = j;
  }

  private markDirty(start: number, bytes: number): void {
    const raster = this.raster;
    const from = raster.firstCellOf(start);
    const to = raster.endCellOf(start + bytes);
    if (to <= from) return;
    const last = this.dirtyCount - 1;
    if (this.dirtyCount > 0 && from <= this.dirty[last]!) {
      if (to > this.dirty[last]!) this.dirty[last] = to;
      return;
    }
    if (this.dirtyCount + 2 > this.dirty.length) {
      const grown = new Int32Array(this.dirty.length * 2);
      grown.set(this.dirty);
      this.dirty = grown;
    }
    this.dirty[this.dirtyCount++] = from;
    this.dirty[this.dirtyCount++] = to;
  }

  /** Clears each dirty cell range, refills it from this frame's spans in address order, resolves it. */
  private repaintDirty(pixels: Uint32Array): void {
    const raster = this.raster;
    const tiling = this.next;
    const cellBytes = raster.bytesPerCell;
    const rangeStart = raster.addressOfCell(0);
    let painted = 0;
    for (let d = 0; d < this.dirtyCount; d += 2) {
      const from = this.dirty[d]!;
      const to = this.dirty[d + 1]!;
      raster.clearCells(from, to);
      // One cell of slack each side: which spans reach the range is decided by `add`, per cell.
      const last = rangeStart + (to + 1) * cellBytes;
      for (let i = tiling.indexAt(rangeStart + (from - 1) * cellBytes); i < tiling.count && tiling.starts[i]! < last; i++) {
        const code = tiling.codes[i]!;
        raster.add(tiling.starts[i]!, tiling.bytes[i]!, code & CHANNEL_MASK, code >> EDGE_SHIFT, 1, from, to);
      }
      raster.resolveCells(pixels, from, to);
      painted += to - from;
    }
    this.cellsPainted = painted;
  }
}

function sameView(a: MapView, b: MapView): boolean {
  return a.base === b.base && a.bytesPerRow === b.bytesPerRow && a.topRow === b.topRow && a.widthPx === b.widthPx && a.heightPx === b.heightPx;
}

/**
 * The bump region shared by Arena and Stack: blocks are appended at the top, each with a small
 * header linking to the block below, so the top can be rolled back to any earlier block (a
 * mark, a frame) and the last block can be freed or resized in place. Nothing else is freed one
 * by one. Everything lives in the byte store.
 *
 * Store
 *   0                 DATA_START                                          TOP        committed
 *   ┌─────────────────┬────────┬─────────┬────────┬─────────┬─── ... ───┬──────────┬─ ... ─┐
 *   │ control block   │ header │ payload │ header │ payload │           │ last blk │ spare │
 *   └─────────────────┴────────┴─────────┴────────┴─────────┴─── ... ───┴──────────┴───────┘
 *
 * Control block (u32 words, then f64 gauges and counters)
 *   0 MAGIC │ 4 TOP │ 8 LAST │ 12 CURRENT_FRAME │ 16 FRAME_SERIAL │ 20 LIMIT
 *   24 MALLOCS (u32) │ 32 LIVE_BYTES (u32) │ 40 PEAK_LIVE_BYTES (u32) │ 48 PEAK_EXTENT_BYTES
 *   56 MALLOC_COUNT │ 64 FREE_COUNT
 *   Live bytes fit a u32 (they are bytes of the store); the counters are f64 (exact to 2^53).
 *   TOP: the end of the last block; LAST: the last block's header (0: none); LIMIT: committed
 *   bytes when last grown, malloc's bound without asking the store. CURRENT_FRAME and
 *   FRAME_SERIAL are the Stack's (see stack.ts); an Arena keeps them 0.
 *   MALLOCS: mallocs since the peaks were last noted, when they move into MALLOC_COUNT, so
 *   malloc adds to a u32 word, not an f64. Each of them raised TOP by 8 bytes or more, and only
 *   what notes the peaks lowers TOP, so MALLOCS stays below 2^29. Live blocks are not stored:
 *   they are MALLOC_COUNT + MALLOCS - FREE_COUNT (blocks released, reset or moved count as freed).
 *
 * Block: a header at h (8-aligned), then `size` payload bytes at h + 8
 *   h          h+4                          h+8
 *   ┌──────────┬────────────────────────────┬────────────── size bytes ──┐
 *   │ size     │ header below | KIND (2 bit)│ payload                    │
 *   └──────────┴────────────────────────────┴────────────────────────────┘
 *   KIND: LIVE (handed out), DEAD (moved away by realloc; reclaimed with the blocks above it),
 *   PAD (alignment filler before the next block), FRAME (a Stack frame record).
 *   The next header is at roundUp(h + 8 + max(size, 1), 8) (a 0-byte block keeps one byte, so its
 *   pointer lies inside it); an alignment above 8 puts a PAD block first.
 *
 * Invariants (checked by `check()`)
 *   header(first) = DATA_START;  header(next) = roundUp(end(block), 8);  TOP = end(LAST) or DATA_START
 *   LAST = 0 ⇔ TOP = DATA_START;  KIND(LAST) ∉ {DEAD, PAD};  TOP <= LIMIT <= committedBytes
 *   MALLOC_COUNT + MALLOCS - FREE_COUNT = #LIVE blocks;  8·MALLOCS <= TOP - DATA_START
 *   LIVE_BYTES = Σ size of LIVE blocks
 *   frames: the CURRENT_FRAME chain visits every FRAME block, serials strictly decreasing
 *
 * Peaks are noted lazily: live bytes and TOP only rise in malloc and realloc, so it is enough to
 * record them just before anything lowers them (and in stats()), keeping malloc a few stores.
 * malloc's one check of its size is that it is a u32 whose block fits below LIMIT (no larger
 * than the store, so no larger than maxBlockBytes): anything else takes the slow path, which
 * checks the size precisely.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, UnsupportedOperationError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { type AllocatorStoreOptions, openStore } from "./common.js";
import { assembleStats, holeStats } from "./stats.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { checkAlign, checkSize } from "./validate.js";

/** Largest alignment malloc accepts (an OS page). */
export const BUMP_MAX_ALIGN = 4096;

// Byte offsets as const enums: tsc inlines them as literals, so the fast path does not load
// module-level constants (each such load also checks the binding is initialized).
const enum Ctrl {
  MAGIC = 0,
  TOP = 4,
  LAST = 8,
  CURRENT_FRAME = 12,
  FRAME_SERIAL = 16,
  LIMIT = 20,
  MALLOCS = 24,
  LIVE_BYTES = 32,
  PEAK_LIVE_BYTES = 40,
  PEAK_EXTENT_BYTES = 48,
  MALLOC_COUNT = 56,
  FREE_COUNT = 64,
  /** The first block's header: right after the control block. */
  DATA_START = 72,
}
export const CTRL_CURRENT_FRAME = Ctrl.CURRENT_FRAME;
export const CTRL_FRAME_SERIAL = Ctrl.FRAME_SERIAL;
export const DATA_START = Ctrl.DATA_START;

const enum Hdr {
  SIZE = 0,
  LINK = 4,
  BYTES = 8,
}
export const HEADER_BYTES = Hdr.BYTES;

const enum Kind {
  LIVE = 0,
  DEAD = 1,
  PAD = 2,
  FRAME = 3,
  MASK = 3,
}
export const KIND_FRAME = Kind.FRAME;

export abstract class BumpAllocator implements Allocator {
  abstract readonly name: string;
  readonly store: ByteStore;
  /** Larger requests are invalid sizes; smaller ones that do not fit return 0. */
  readonly maxBlockBytes: number;

  protected constructor(options: AllocatorStoreOptions, policy: string, magic: number) {
    this.store = openStore(options, Ctrl.DATA_START, policy);
    this.maxBlockBytes = this.store.reservedBytes;
    const u32 = this.store.u32;
    u32.fill(0, 0, Ctrl.DATA_START >>> 2);
    u32[Ctrl.MAGIC >>> 2] = magic;
    u32[Ctrl.TOP >>> 2] = Ctrl.DATA_START;
    u32[Ctrl.LIMIT >>> 2] = this.store.committedBytes;
    this.store.f64[Ctrl.PEAK_EXTENT_BYTES >>> 3] = Ctrl.DATA_START;
  }

  // ---- Fast path ----------------------------------------------------------------------------

  malloc(size: number, align = 8): number {
    if (typeof size !== "number") return this.mallocSlow(size, align);
    const u32 = this.store.u32;
    const header = ((u32[Ctrl.TOP >>> 2]! + 7) >>> 3) * 8; // TOP rounded up to 8, in integers
    const end = header + Hdr.BYTES + (size || 1);
    if (!((size >>> 0) === size && align === 8 && end <= u32[Ctrl.LIMIT >>> 2]!)) return this.mallocSlow(size, align);
    u32[header >>> 2] = size;
    u32[(header >>> 2) + 1] = u32[Ctrl.LAST >>> 2]!;
    u32[Ctrl.TOP >>> 2] = end;
    u32[Ctrl.LAST >>> 2] = header;
    u32[Ctrl.LIVE_BYTES >>> 2]! += size;
    u32[Ctrl.MALLOCS >>> 2]!++;
    return header + Hdr.BYTES;
  }

  // ---- Slow paths ---------------------------------------------------------------------------

  /** Any size (checked here), any alignment, or a block the store must grow for. */
  private mallocSlow(size: number, align: number): number {
    checkSize(size, this.maxBlockBytes);
    return this.appendBlock(size, align, Kind.LIVE);
  }

  /**
   * Appends a block of `kind` with its payload aligned to `align`, growing the store if needed,
   * with a PAD block in front when the alignment leaves a gap. Returns the payload offset, or 0.
   */
  protected appendBlock(size: number, align: number, kind: number): number {
    checkAlign(align, BUMP_MAX_ALIGN);
    const a = Math.max(align, 8);
    const padHeader = Math.ceil(this.store.u32[Ctrl.TOP >>> 2]! / 8) * 8;
    const payload = Math.ceil((padHeader + Hdr.BYTES) / a) * a;
    const end = payload + (size || 1);
    if (!this.growTo(end)) return 0;
    const u32 = this.store.u32;
    const header = payload - Hdr.BYTES;
    let below = u32[Ctrl.LAST >>> 2]!;
    if (header > padHeader) {
      u32[(padHeader + Hdr.SIZE) >>> 2] = header - padHeader - Hdr.BYTES;
      u32[(padHeader + Hdr.LINK) >>> 2] = below | Kind.PAD;
      below = padHeader;
    }
    u32[(header + Hdr.SIZE) >>> 2] = size;
    u32[(header + Hdr.LINK) >>> 2] = below | kind;
    u32[Ctrl.TOP >>> 2] = end;
    u32[Ctrl.LAST >>> 2] = header;
    if (kind === Kind.LIVE) {
      u32[Ctrl.LIVE_BYTES >>> 2]! += size;
      u32[Ctrl.MALLOCS >>> 2]!++;
    }
    return payload;
  }

  /**
   * Frees the last block, giving its bytes back at once (with any DEAD or PAD blocks below it).
   * Any other live block cannot be freed alone: UnsupportedOperationError says what to use.
   */
  free(ptr: number): void {
    const header = this.liveHeaderOf(ptr);
    if (header !== this.store.u32[Ctrl.LAST >>> 2]) {
      throw new UnsupportedOperationError(this.name, "freeing a block that is not the last one", this.rollbackHint());
    }
    this.popAbove(this.belowOf(header));
  }

  /** Commits at least `bytes` (false if the store cannot) and records the new LIMIT. */
  private growTo(bytes: number): boolean {
    if (!this.store.grow(bytes)) return false;
    this.store.u32[Ctrl.LIMIT >>> 2] = this.store.committedBytes;
    return true;
  }

  /** What to suggest instead of freeing a block in the middle. */
  protected abstract rollbackHint(): string;

  /**
   * Resizes in place when `ptr` is the last block (the top moves) or when it shrinks (a tail of 8
   * bytes or more becomes a DEAD block); otherwise moves it to the top (the old block is DEAD
   * until the blocks above it go). A move counts as one malloc and one free. Returns 0, changing
   * nothing, when the store cannot grow.
   */
  realloc(ptr: number, size: number): number {
    const header = this.liveHeaderOf(ptr);
    checkSize(size, this.maxBlockBytes);
    const u32 = this.store.u32;
    const oldSize = u32[(header + Hdr.SIZE) >>> 2]!;
    if (header === u32[Ctrl.LAST >>> 2]) {
      if (!this.growTo(ptr + (size || 1))) return 0;
      this.notePeaks();
      this.store.u32[Ctrl.TOP >>> 2] = ptr + (size || 1);
    } else if (size > oldSize) {
      const moved = this.malloc(size, alignmentOf(ptr));
      if (moved === 0) return 0;
      const u8 = this.store.u8;
      u8.copyWithin(moved, ptr, ptr + oldSize);
      this.notePeaks();
      const f64 = this.store.f64;
      this.store.u32[(header + Hdr.LINK) >>> 2]! |= Kind.DEAD;
      if (oldSize === 0) this.store.u32[(header + Hdr.SIZE) >>> 2] = 1; // the byte a 0-byte LIVE block kept
      this.store.u32[Ctrl.LIVE_BYTES >>> 2]! -= oldSize;
      f64[Ctrl.FREE_COUNT >>> 3]!++;
      return moved;
    }
    this.notePeaks();
    if (header !== this.store.u32[Ctrl.LAST >>> 2]) this.splitOffTail(header, size);
    this.store.u32[(header + Hdr.SIZE) >>> 2] = size;
    this.store.u32[Ctrl.LIVE_BYTES >>> 2]! += size - oldSize;
    return ptr;
  }

  /** A block below the top shrinks to `size`: its tail, if it can hold a header, becomes DEAD. */
  private splitOffTail(header: number, size: number): void {
    const u32 = this.store.u32;
    const tail = Math.ceil((header + Hdr.BYTES + (size || 1)) / 8) * 8;
    const next = Math.ceil(this.endOf(header) / 8) * 8;
    if (tail === next) return;
    let above = u32[Ctrl.LAST >>> 2]!;
    while (this.belowOf(above) !== header) above = this.belowOf(above);
    u32[(tail + Hdr.SIZE) >>> 2] = next - tail - Hdr.BYTES;
    u32[(tail + Hdr.LINK) >>> 2] = header | Kind.DEAD;
    u32[(above + Hdr.LINK) >>> 2] = tail | this.kindOf(above);
  }

  usableSize(ptr: number): number {
    return this.store.u32[(this.liveHeaderOf(ptr) + Hdr.SIZE) >>> 2]!;
  }

  /** Frees everything at once: O(1). The store keeps its committed bytes for reuse. */
  reset(): void {
    this.notePeaks();
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    u32[Ctrl.TOP >>> 2] = Ctrl.DATA_START;
    u32[Ctrl.LAST >>> 2] = 0;
    u32[Ctrl.CURRENT_FRAME >>> 2] = 0;
    u32[Ctrl.LIVE_BYTES >>> 2] = 0;
    f64[Ctrl.FREE_COUNT >>> 3] = f64[Ctrl.MALLOC_COUNT >>> 3]!;
  }

  // ---- Rolling back -------------------------------------------------------------------------

  /**
   * Removes every block above header `keep` (0: all of them), then any DEAD or PAD blocks left
   * on top, so the last block is a live one or a frame. Each live block removed counts as freed.
   */
  protected popAbove(keep: number): void {
    this.notePeaks();
    const u32 = this.store.u32;
    let blocks = 0;
    let bytes = 0;
    for (let h = u32[Ctrl.LAST >>> 2]!; h !== keep; h = this.belowOf(h)) {
      if (this.kindOf(h) === Kind.LIVE) {
        blocks++;
        bytes += u32[(h + Hdr.SIZE) >>> 2]!;
      }
    }
    while (keep !== 0 && this.kindOf(keep) !== Kind.LIVE && this.kindOf(keep) !== Kind.FRAME) {
      keep = this.belowOf(keep);
    }
    u32[Ctrl.LAST >>> 2] = keep;
    u32[Ctrl.TOP >>> 2] = keep === 0 ? Ctrl.DATA_START : this.endOf(keep);
    u32[Ctrl.LIVE_BYTES >>> 2]! -= bytes;
    this.store.f64[Ctrl.FREE_COUNT >>> 3]! += blocks;
  }

  /** The last header whose block ends at or below `offset` (0 if none), walking down from LAST. */
  protected headerEndingAtOrBelow(offset: number): number {
    let h = this.store.u32[Ctrl.LAST >>> 2]!;
    while (h !== 0 && this.endOf(h) > offset) h = this.belowOf(h);
    return h;
  }

  protected get top(): number {
    return this.store.u32[Ctrl.TOP >>> 2]!;
  }

  protected linkOf(header: number): number {
    return this.store.u32[(header + Hdr.LINK) >>> 2]!;
  }

  protected kindOf(header: number): number {
    return this.linkOf(header) & Kind.MASK;
  }

  /** The header of the block below (0: none). */
  protected belowOf(header: number): number {
    return this.linkOf(header) & ~Kind.MASK;
  }

  protected endOf(header: number): number {
    const size = this.store.u32[(header + Hdr.SIZE) >>> 2]!;
    return header + Hdr.BYTES + (size === 0 && this.kindOf(header) === Kind.LIVE ? 1 : size); // a 0-byte LIVE block keeps 1 byte
  }

  /**
   * The header of live block `ptr`, or a typed error: InvalidFreeError for an offset that is no
   * block's start (or lies above the top: freed already, or never allocated), DoubleFreeError
   * for a DEAD block. O(1) for the last block, else O(blocks above it).
   */
  protected liveHeaderOf(ptr: number): number {
    const u32 = this.store.u32;
    const last = u32[Ctrl.LAST >>> 2]!;
    if (ptr === last + Hdr.BYTES && last !== 0 && (u32[(last + Hdr.LINK) >>> 2]! & Kind.MASK) === Kind.LIVE) return last;
    if (!(Number.isInteger(ptr) && ptr >= Ctrl.DATA_START + Hdr.BYTES && ptr <= this.top)) {
      throw new InvalidFreeError(ptr, `not a live block: outside [${Ctrl.DATA_START + Hdr.BYTES}, ${this.top}] (freed already, or never allocated)`);
    }
    let h = last;
    while (h > ptr - Hdr.BYTES) h = this.belowOf(h);
    if (h !== ptr - Hdr.BYTES) throw new InvalidFreeError(ptr, "not the start of a block of this allocator");
    const kind = this.kindOf(h);
    if (kind === Kind.DEAD) throw new DoubleFreeError(ptr, " (it was moved by realloc)");
    if (kind !== Kind.LIVE) throw new InvalidFreeError(ptr, "an allocator record, not a block malloc returned");
    return h;
  }

  /** Records the peaks (and moves MALLOCS into MALLOC_COUNT) before something lowers live bytes or the top. */
  protected notePeaks(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    u32[Ctrl.PEAK_LIVE_BYTES >>> 2] = Math.max(u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!, u32[Ctrl.LIVE_BYTES >>> 2]!);
    f64[Ctrl.PEAK_EXTENT_BYTES >>> 3] = Math.max(f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!, this.top);
    f64[Ctrl.MALLOC_COUNT >>> 3]! += u32[Ctrl.MALLOCS >>> 2]!;
    u32[Ctrl.MALLOCS >>> 2] = 0;
  }

  // ---- Stats, walk, check -------------------------------------------------------------------

  stats(): AllocatorStats {
    this.notePeaks();
    const f64 = this.store.f64;
    const liveBytes = this.store.u32[Ctrl.LIVE_BYTES >>> 2]!;
    return assembleStats(this.store, {
      liveBlocks: f64[Ctrl.MALLOC_COUNT >>> 3]! - f64[Ctrl.FREE_COUNT >>> 3]!,
      liveBytes,
      peakLiveBytes: this.store.u32[Ctrl.PEAK_LIVE_BYTES >>> 2]!,
      extentBytes: this.top,
      peakExtentBytes: f64[Ctrl.PEAK_EXTENT_BYTES >>> 3]!,
      ...holeStats(this),
      // usableSize is the requested size: nothing is rounded (gaps to 8 are PAD-like overhead).
      internalFragmentationBytes: 0,
      mallocCount: f64[Ctrl.MALLOC_COUNT >>> 3]!,
      freeCount: f64[Ctrl.FREE_COUNT >>> 3]!,
    });
  }

  /**
   * Control block, then every block up to TOP, header included; a block's span runs to the next
   * header (the gap to 8 included). LIVE: used; DEAD: free (reclaimed with the blocks above it);
   * PAD: pad; FRAME: meta. Walks from the base.
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    if (!sink.span(0, Ctrl.DATA_START, Span.META, 0, 0, Held.NONE, "control block")) return;
    const top = this.top;
    for (let h = Ctrl.DATA_START; h < top;) {
      const next = Math.min(Math.ceil(this.endOf(h) / 8) * 8, top);
      const kind = this.kindOf(h);
      const going = kind === Kind.LIVE ? sink.span(h, next - h, Span.USED, h + Hdr.BYTES, this.store.u32[(h + Hdr.SIZE) >>> 2]!, Held.NONE, "")
        : kind === Kind.DEAD ? sink.span(h, next - h, Span.FREE, 0, 0, Held.NONE, "moved by realloc: reclaimed with the blocks above it")
        : kind === Kind.PAD ? sink.span(h, next - h, Span.PAD, 0, 0, Held.NONE, "alignment")
        : sink.span(h, next - h, Span.META, 0, 0, Held.NONE, "frame record");
      if (!going) return;
      h = next;
    }
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, offset?: number): never => {
      throw new HeapCorruptionError(`${this.name}: ${message}`, offset);
    };
    const top = this.top;
    const last = u32[Ctrl.LAST >>> 2]!;
    const limit = u32[Ctrl.LIMIT >>> 2]!;
    if (top > limit || limit > this.store.committedBytes || top < Ctrl.DATA_START) fail(`TOP ${top}, LIMIT ${limit} outside [${Ctrl.DATA_START}, ${this.store.committedBytes}]`);
    if ((last === 0) !== (top === Ctrl.DATA_START)) fail(`LAST ${last} disagrees with TOP ${top}`);
    if (last !== 0 && this.endOf(last) !== top) fail(`the last block ends at ${this.endOf(last)}, not at TOP ${top}`, last);
    if (last !== 0 && [Kind.DEAD, Kind.PAD].includes(this.kindOf(last))) fail("the last block is DEAD or PAD", last);
    let liveBlocks = 0;
    let liveBytes = 0;
    const frames = new Set<number>();
    let blocks = 0;
    for (let h = last; h !== 0; h = this.belowOf(h)) {
      if (++blocks > (top - Ctrl.DATA_START) / Hdr.BYTES) fail("the block chain loops", h);
      const below = this.belowOf(h);
      if (h % 8 !== 0 || h < Ctrl.DATA_START || this.endOf(h) > top) fail("header out of place", h);
      if (below >= h) fail("link does not go down", h);
      if ((below === 0 ? Ctrl.DATA_START : Math.ceil(this.endOf(below) / 8) * 8) !== h) fail("gap or overlap with the block below", h);
      const kind = this.kindOf(h);
      if (kind === Kind.LIVE) {
        liveBlocks++;
        liveBytes += u32[(h + Hdr.SIZE) >>> 2]!;
      } else if (kind === Kind.FRAME) {
        frames.add(h);
      }
    }
    const mallocs = u32[Ctrl.MALLOCS >>> 2]!;
    if (mallocs * 8 > top - Ctrl.DATA_START) fail(`MALLOCS ${mallocs} is more than TOP ${top} allows`);
    const counted = f64[Ctrl.MALLOC_COUNT >>> 3]! + mallocs - f64[Ctrl.FREE_COUNT >>> 3]!;
    if (counted !== liveBlocks) fail(`MALLOC_COUNT + MALLOCS - FREE_COUNT = ${counted} but ${liveBlocks} live blocks`);
    if (u32[Ctrl.LIVE_BYTES >>> 2] !== liveBytes) fail(`LIVE_BYTES ${u32[Ctrl.LIVE_BYTES >>> 2]} but live blocks hold ${liveBytes}`);
    let chained = 0;
    let serial = Infinity;
    for (let frame = u32[Ctrl.CURRENT_FRAME >>> 2]!; frame !== 0; frame = u32[(frame + Hdr.BYTES + 4) >>> 2]!) {
      if (++chained > frames.size || !frames.has(frame)) fail("frame chain points at something that is not a frame record", frame);
      const s = u32[(frame + Hdr.BYTES) >>> 2]!;
      if (!(s < serial) || s > u32[Ctrl.FRAME_SERIAL >>> 2]!) fail("frame serials do not decrease down the chain", frame);
      serial = s;
    }
    if (chained !== frames.size) fail(`${frames.size} frame records but ${chained} on the frame chain`);
  }
}

/** The largest power of two (8 to BUMP_MAX_ALIGN) dividing `ptr`: a moved block keeps it. */
function alignmentOf(ptr: number): number {
  let align = 8;
  while (align < BUMP_MAX_ALIGN && ptr % (align * 2) === 0) align *= 2;
  return align;
}

/**
 * Ring: a circular buffer of blocks for data freed in about the order it was made (a message
 * pipeline). malloc appends at TAIL; the space of the oldest blocks is reused once they are
 * freed. Freeing out of order is allowed, but a block's bytes come back only when every block
 * older than it is freed too. Everything lives in the byte store.
 *
 * Store, not wrapped (WRAP_AT = 0): blocks run from HEAD (oldest) to TAIL (next block)
 *   0             DATA_START          HEAD                          TAIL                   END
 *   ┌─────────────┬───────────────────┬──────┬──────┬──────┬───────┬──────────────────────┐
 *   │ control     │ free (reclaimed)  │ old  │ ...  │ ...  │ newest│ free                 │
 *   └─────────────┴───────────────────┴──────┴──────┴──────┴───────┴──────────────────────┘
 *
 * Store, wrapped: the newest blocks went back to DATA_START because the rest did not fit
 *   0             DATA_START                TAIL          HEAD                 WRAP_AT     END
 *   ┌─────────────┬──────┬──────┬───────────┬─────────────┬──────┬──────┬──────┬──────────┐
 *   │ control     │ ...  │ ...  │ newest    │ free        │ old  │ ...  │ ...  │ unused   │
 *   └─────────────┴──────┴──────┴───────────┴─────────────┴──────┴──────┴──────┴──────────┘
 *   END is the store's committed size; the ring grows the store only when it is not wrapped.
 *
 * Control block (u32 words, then f64 gauges and counters)
 *   0 MAGIC │ 4 HEAD │ 8 TAIL │ 12 WRAP_AT │ 16..23 (unused)
 *   24 LIVE_BLOCKS │ 32 LIVE_BYTES │ 40 PEAK_LIVE_BYTES │ 48 PEAK_EXTENT_BYTES │ 56 MALLOC_COUNT │ 64 FREE_COUNT
 *
 * Block: an 8-byte header, then the payload (8-aligned)
 *   h                               h+4                 h+8
 *   ┌───────────────────────────────┬───────────────────┬──────────── span - 8 ──┐
 *   │ span (multiple of 8) | STATE  │ requested bytes   │ payload                │
 *   └───────────────────────────────┴───────────────────┴────────────────────────┘
 *   STATE: LIVE, or FREED (freed, waiting for the blocks older than it).
 *
 * Invariants (checked by `check()`)
 *   not wrapped: DATA_START <= HEAD <= TAIL <= END, and HEAD = TAIL ⇒ HEAD = DATA_START (empty)
 *   wrapped:     DATA_START <= TAIL <= HEAD < WRAP_AT <= END
 *   blocks tile [HEAD, TAIL) (or [HEAD, WRAP_AT) then [DATA_START, TAIL)) exactly
 *   the block at HEAD is LIVE (freed ones at the head are reclaimed at once)
 *   LIVE_BLOCKS = #LIVE;  LIVE_BYTES = Σ requested of LIVE;  requested <= span - 8
 *
 * free(ptr) finds the block by walking from HEAD: O(1) for the oldest, O(blocks older than ptr)
 * otherwise; an offset that is no block's start is InvalidFreeError, a FREED block DoubleFreeError.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { type AllocatorStoreOptions, headedBlockBytes, openStore, reallocByMove } from "./common.js";
import { Counter, counterStats, notePeakExtent, notePeakLive } from "./stats.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { checkAlign, checkPointerType, checkSize } from "./validate.js";

/** Payloads are 8-aligned: the largest alignment malloc accepts. */
export const RING_MAX_ALIGN = 8;
const RING_MAGIC = 0x474e4952; // "RING"

const CTRL_MAGIC = 0;
const CTRL_HEAD = 4;
const CTRL_TAIL = 8;
const CTRL_WRAP_AT = 12;
export const RING_DATA_START = Counter.END;

const HEADER_BYTES = 8;
const HDR_SPAN_STATE = 0;
const HDR_REQUESTED = 4;
const STATE_MASK = 7;
const STATE_LIVE = 1;
const STATE_FREED = 2;

export type RingOptions = AllocatorStoreOptions;

/**
 * A ring buffer for pipelines of messages: blocks are bumped around a circle and their space
 * comes back as the oldest ones are freed (in any order; space returns in allocation order).
 */
export class Ring implements Allocator {
  readonly name = "ring";
  readonly store: ByteStore;
  readonly maxBlockBytes: number;

  constructor(options: RingOptions = {}) {
    this.store = openStore(options, RING_DATA_START, this.name);
    this.maxBlockBytes = this.store.reservedBytes - RING_DATA_START - HEADER_BYTES;
    const u32 = this.store.u32;
    u32.fill(0, 0, RING_DATA_START >>> 2);
    u32[CTRL_MAGIC >>> 2] = RING_MAGIC;
    u32[CTRL_HEAD >>> 2] = RING_DATA_START;
    u32[CTRL_TAIL >>> 2] = RING_DATA_START;
    this.store.f64[Counter.PEAK_EXTENT_BYTES >>> 3] = RING_DATA_START;
  }

  malloc(size: number, align = 8): number {
    checkSize(size, this.maxBlockBytes);
    if (align !== 8) checkAlign(align, RING_MAX_ALIGN);
    const span = headedBlockBytes(size);
    const header = this.placeFor(span);
    if (header === 0) return 0;
    const u32 = this.store.u32;
    u32[(header + HDR_SPAN_STATE) >>> 2] = span | STATE_LIVE;
    u32[(header + HDR_REQUESTED) >>> 2] = size;
    u32[CTRL_TAIL >>> 2] = header + span;
    const f64 = this.store.f64;
    f64[Counter.LIVE_BLOCKS >>> 3]!++;
    f64[Counter.MALLOC_COUNT >>> 3]!++;
    f64[Counter.LIVE_BYTES >>> 3]! += size;
    this.notePeaks();
    return header + HEADER_BYTES;
  }

  /**
   * Where a block of `span` bytes goes: at TAIL if it fits before END (or HEAD, when wrapped);
   * else back at DATA_START if it fits before HEAD (the ring wraps); else at TAIL after growing
   * the store (only when not wrapped). 0 when none works.
   */
  private placeFor(span: number): number {
    const u32 = this.store.u32;
    const head = u32[CTRL_HEAD >>> 2]!;
    const tail = u32[CTRL_TAIL >>> 2]!;
    if (this.wrapped) return tail + span <= head ? tail : 0;
    if (tail + span <= this.store.committedBytes) return tail;
    if (RING_DATA_START + span <= head) {
      u32[CTRL_WRAP_AT >>> 2] = tail;
      return RING_DATA_START;
    }
    return this.store.grow(tail + span) ? tail : 0;
  }

  free(ptr: number): void {
    const header = this.liveHeaderOf(ptr);
    const u32 = this.store.u32;
    u32[(header + HDR_SPAN_STATE) >>> 2] = this.spanOf(header) | STATE_FREED;
    const f64 = this.store.f64;
    f64[Counter.LIVE_BLOCKS >>> 3]!--;
    f64[Counter.LIVE_BYTES >>> 3]! -= u32[(header + HDR_REQUESTED) >>> 2]!;
    f64[Counter.FREE_COUNT >>> 3]!++;
    if (header === u32[CTRL_HEAD >>> 2]) this.reclaimFreedAtHead();
  }

  /** Moves HEAD past every FREED block at the head: their bytes become reusable. */
  private reclaimFreedAtHead(): void {
    const u32 = this.store.u32;
    let head = u32[CTRL_HEAD >>> 2]!;
    while (!this.isEmpty && (u32[(head + HDR_SPAN_STATE) >>> 2]! & STATE_MASK) === STATE_FREED) {
      head += this.spanOf(head);
      if (head === u32[CTRL_WRAP_AT >>> 2]) {
        head = RING_DATA_START;
        u32[CTRL_WRAP_AT >>> 2] = 0;
      }
      u32[CTRL_HEAD >>> 2] = head;
    }
    if (this.isEmpty) {
      u32[CTRL_HEAD >>> 2] = RING_DATA_START;
      u32[CTRL_TAIL >>> 2] = RING_DATA_START;
    }
  }

  /**
   * In place when the new size fits the block's span, or when it is the newest block and the
   * space after it allows; otherwise a new block is appended, the data copied, the old freed
   * (counted as one malloc and one free).
   */
  realloc(ptr: number, size: number): number {
    const header = this.liveHeaderOf(ptr);
    checkSize(size, this.maxBlockBytes);
    const u32 = this.store.u32;
    const span = this.spanOf(header);
    const needed = headedBlockBytes(size);
    const oldSize = u32[(header + HDR_REQUESTED) >>> 2]!;
    if (needed > span) {
      if (header + span !== u32[CTRL_TAIL >>> 2] || !this.growNewestInPlace(header, needed)) {
        return reallocByMove(this, ptr, oldSize, size);
      }
    }
    this.store.u32[(header + HDR_REQUESTED) >>> 2] = size;
    this.store.f64[Counter.LIVE_BYTES >>> 3]! += size - oldSize;
    this.notePeaks();
    return ptr;
  }

  /** The newest block takes `needed` bytes if the space after it allows (growing the store if not wrapped). */
  private growNewestInPlace(header: number, needed: number): boolean {
    if (this.wrapped ? header + needed > this.store.u32[CTRL_HEAD >>> 2]! : !this.store.grow(header + needed)) return false;
    const u32 = this.store.u32;
    u32[(header + HDR_SPAN_STATE) >>> 2] = needed | STATE_LIVE;
    u32[CTRL_TAIL >>> 2] = header + needed;
    return true;
  }

  usableSize(ptr: number): number {
    return this.spanOf(this.liveHeaderOf(ptr)) - HEADER_BYTES;
  }

  /** Frees everything at once. */
  reset(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    u32[CTRL_HEAD >>> 2] = RING_DATA_START;
    u32[CTRL_TAIL >>> 2] = RING_DATA_START;
    u32[CTRL_WRAP_AT >>> 2] = 0;
    f64[Counter.FREE_COUNT >>> 3]! += f64[Counter.LIVE_BLOCKS >>> 3]!;
    f64[Counter.LIVE_BLOCKS >>> 3] = 0;
    f64[Counter.LIVE_BYTES >>> 3] = 0;
  }

  // ---- Positions ----------------------------------------------------------------------------

  get wrapped(): boolean {
    return this.store.u32[CTRL_WRAP_AT >>> 2] !== 0;
  }

  private get isEmpty(): boolean {
    const u32 = this.store.u32;
    return !this.wrapped && u32[CTRL_HEAD >>> 2] === u32[CTRL_TAIL >>> 2];
  }

  /** The highest byte in use: the wrap point, or TAIL. */
  private get extent(): number {
    const u32 = this.store.u32;
    return this.wrapped ? u32[CTRL_WRAP_AT >>> 2]! : u32[CTRL_TAIL >>> 2]!;
  }

  private spanOf(header: number): number {
    return this.store.u32[(header + HDR_SPAN_STATE) >>> 2]! & ~STATE_MASK;
  }

  /** Block headers from the oldest to the newest. */
  private *headersOldestFirst(): IterableIterator<number> {
    const u32 = this.store.u32;
    if (this.isEmpty) return;
    const tail = u32[CTRL_TAIL >>> 2]!;
    const wrapAt = u32[CTRL_WRAP_AT >>> 2]!;
    let h = u32[CTRL_HEAD >>> 2]!;
    if (wrapAt !== 0) {
      for (; h < wrapAt; h += this.spanOf(h)) yield h;
      h = RING_DATA_START;
    }
    for (; h < tail; h += this.spanOf(h)) yield h;
  }

  /**
   * The header of live block `ptr`, or a typed error. Offsets outside the blocks in the ring
   * (reclaimed already, or never allocated) fail at once; others walk from the oldest block.
   */
  private liveHeaderOf(ptr: number): number {
    checkPointerType(ptr);
    const u32 = this.store.u32;
    const header = ptr - HEADER_BYTES;
    const head = u32[CTRL_HEAD >>> 2]!;
    const tail = u32[CTRL_TAIL >>> 2]!;
    if (header === head && !this.isEmpty && (u32[(head + HDR_SPAN_STATE) >>> 2]! & STATE_MASK) === STATE_LIVE) return head;
    const wrapAt = u32[CTRL_WRAP_AT >>> 2]!;
    const inRing = wrapAt === 0 ? header >= head && header < tail : (header >= head && header < wrapAt) || (header >= RING_DATA_START && header < tail);
    if (!(Number.isInteger(ptr) && inRing)) {
      throw new InvalidFreeError(ptr, "not a block in the ring (reclaimed already, or never allocated)");
    }
    for (const h of this.headersOldestFirst()) {
      if (h !== header) continue;
      if ((u32[(h + HDR_SPAN_STATE) >>> 2]! & STATE_MASK) === STATE_FREED) throw new DoubleFreeError(ptr);
      return h;
    }
    throw new InvalidFreeError(ptr, "not the start of a block of this ring");
  }

  private notePeaks(): void {
    const f64 = this.store.f64;
    notePeakLive(f64);
    notePeakExtent(f64, this.extent);
  }

  // ---- Stats, walk, check -------------------------------------------------------------------

  stats(): AllocatorStats {
    const u32 = this.store.u32;
    let usable = 0;
    for (const h of this.headersOldestFirst()) {
      if ((u32[(h + HDR_SPAN_STATE) >>> 2]! & STATE_MASK) === STATE_LIVE) usable += this.spanOf(h) - HEADER_BYTES;
    }
    return counterStats(this, this.extent, usable);
  }

  /**
   * In address order up to the extent: the control block, blocks with their headers (LIVE used,
   * FREED free until the blocks before them go) and the free gap. Walks from the base.
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    const u32 = this.store.u32;
    if (!sink.span(0, RING_DATA_START, Span.META, 0, 0, Held.NONE, "control block")) return;
    const head = u32[CTRL_HEAD >>> 2]!;
    const tail = u32[CTRL_TAIL >>> 2]!;
    const wrapAt = u32[CTRL_WRAP_AT >>> 2]!;
    if (wrapAt !== 0) {
      if (!this.writeBlocks(sink, RING_DATA_START, tail)) return;
      if (head > tail && !sink.span(tail, head - tail, Span.FREE, 0, 0, Held.NONE, "")) return;
      this.writeBlocks(sink, head, wrapAt);
    } else {
      if (head > RING_DATA_START && !sink.span(RING_DATA_START, head - RING_DATA_START, Span.FREE, 0, 0, Held.NONE, "")) return;
      this.writeBlocks(sink, head, tail);
    }
  }

  private writeBlocks(sink: SpanSink, from: number, to: number): boolean {
    const u32 = this.store.u32;
    for (let h = from; h < to; h += this.spanOf(h)) {
      const going = (u32[(h + HDR_SPAN_STATE) >>> 2]! & STATE_MASK) === STATE_LIVE
        ? sink.span(h, this.spanOf(h), Span.USED, h + HEADER_BYTES, u32[(h + HDR_REQUESTED) >>> 2]!, Held.NONE, "")
        : sink.span(h, this.spanOf(h), Span.FREE, 0, 0, Held.NONE, "freed: reclaimed once the older blocks are");
      if (!going) return false;
    }
    return true;
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, offset?: number): never => {
      throw new HeapCorruptionError(`ring: ${message}`, offset);
    };
    if (u32[CTRL_MAGIC >>> 2] !== RING_MAGIC) fail("bad magic in the control block", CTRL_MAGIC);
    const head = u32[CTRL_HEAD >>> 2]!;
    const tail = u32[CTRL_TAIL >>> 2]!;
    const wrapAt = u32[CTRL_WRAP_AT >>> 2]!;
    const end = this.store.committedBytes;
    const ordered = (...xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);
    if (wrapAt === 0) {
      if (!ordered(RING_DATA_START, head, tail, end)) fail(`positions out of order: HEAD ${head}, TAIL ${tail}, END ${end}`);
      if (head === tail && head !== RING_DATA_START) fail("an empty ring is not rewound to DATA_START");
    } else if (!ordered(RING_DATA_START, tail, head) || !(head < wrapAt) || wrapAt > end) {
      fail(`wrapped positions out of order: TAIL ${tail}, HEAD ${head}, WRAP_AT ${wrapAt}, END ${end}`);
    }
    const stretches = wrapAt === 0 ? [[head, tail]] : [[head, wrapAt], [RING_DATA_START, tail]];
    let liveBlocks = 0;
    let liveBytes = 0;
    let first = true;
    for (const [from, to] of stretches) {
      let h = from!;
      while (h < to!) {
        const word = u32[(h + HDR_SPAN_STATE) >>> 2]!;
        const span = word & ~STATE_MASK;
        const state = word & STATE_MASK;
        if (span < HEADER_BYTES || h + span > to!) fail(`block span ${span} runs past ${to}`, h);
        if (state !== STATE_LIVE && state !== STATE_FREED) fail(`bad block state ${state}`, h);
        if (first && state !== STATE_LIVE) fail("the oldest block is freed but not reclaimed", h);
        first = false;
        if (state === STATE_LIVE) {
          const requested = u32[(h + HDR_REQUESTED) >>> 2]!;
          if (requested > span - HEADER_BYTES) fail(`requested ${requested} exceeds the block`, h);
          liveBlocks++;
          liveBytes += requested;
        }
        h += span;
      }
      if (h !== to) fail(`blocks do not end exactly at ${to}`, h);
    }
    if (f64[Counter.LIVE_BLOCKS >>> 3] !== liveBlocks) fail(`LIVE_BLOCKS ${f64[Counter.LIVE_BLOCKS >>> 3]} but ${liveBlocks} live blocks`);
    if (f64[Counter.LIVE_BYTES >>> 3] !== liveBytes) fail(`LIVE_BYTES ${f64[Counter.LIVE_BYTES >>> 3]} but live blocks hold ${liveBytes}`);
  }
}



/**
 * Fifo: blocks are bumped into the current page and freed in any order, but their bytes are
 * reused only when a whole page is empty; emptied pages are reused first-in, first-out (in the
 * order they emptied), so memory is recycled in big, predictable steps. All state lives in the
 * byte store.
 *
 * Store
 *   0               PAGES_START    + pageBytes    + 2·pageBytes                 extent
 *   ┌───────────────┬──────────────┬──────────────┬───────── ... ───┬──────────────┐
 *   │ control block │ page 0       │ page 1       │                 │ page n-1     │
 *   └───────────────┴──────────────┴──────────────┴───────── ... ───┴──────────────┘
 *   page k starts at PAGES_START + k·pageBytes (a power of two: the page of an offset is a shift)
 *
 * Control block (u32 words, then f64 gauges and counters)
 *   0 MAGIC │ 4 PAGE_BYTES │ 8 PAGE_COUNT │ 12 CURRENT │ 16 QUEUE_HEAD │ 20 QUEUE_TAIL
 *   24 LIVE_BLOCKS │ 32 LIVE_BYTES │ 40 PEAK_LIVE_BYTES │ 48 PEAK_EXTENT_BYTES │ 56 MALLOC_COUNT │ 64 FREE_COUNT
 *   CURRENT: the page being filled (0: none). QUEUE: emptied pages, oldest-emptied at the head.
 *
 * Page
 *   page     +4     +8           +12     +16                    dataStart              page end
 *   ┌────────┬──────┬────────────┬───────┬──────────────────────┬──────┬──────┬───────┬──────┐
 *   │ live   │ bump │ next queued│ state │ start bits: 1 per 8 B│ block│ block│ ...   │unused│
 *   └────────┴──────┴────────────┴───────┴──────────────────────┴──────┴──────┴───────┴──────┘
 *   state: FILLING (the current page), IN_USE (retired with live blocks), QUEUED (empty, waiting).
 *   start bit g is set ⇔ a live block's payload starts at page + 8·g. bump: where the next block goes.
 *
 * Block: [u32 requested │ u32 span] then the payload (8-aligned); span = 8 + requested rounded to 8
 * (at least 8, so even a 0-byte block holds its pointer).
 *
 * Invariants (checked by `check()`)
 *   per non-queued page: blocks tile [dataStart, bump); live = #start bits = #live blocks
 *   start bits are set only at block payloads;  IN_USE ⇒ live > 0;  FILLING ⇔ page = CURRENT
 *   the queue holds exactly the QUEUED pages, each once;  QUEUE_TAIL is its last
 *   LIVE_BLOCKS = Σ live;  LIVE_BYTES = Σ requested of live blocks
 *
 * free(ptr) is O(1): a shift finds the page, its start bit says whether ptr is a live block.
 * Pages are never given back to the store: the queue keeps them for reuse. A block must fit in
 * a page: malloc above maxBlockBytes throws InvalidSizeError.
 */
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidSizeError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { type AllocatorStoreOptions, headedBlockBytes, openStore, reallocByMove } from "./common.js";
import { Counter, counterStats, notePeakExtent, notePeakLive } from "./stats.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { checkAlign, checkPointerType, checkSize } from "./validate.js";

// ---- May be tuned ---------------------------------------------------------------------------
export const DEFAULT_PAGE_BYTES = 16384;

// ---- Layout: do not modify ------------------------------------------------------------------
/** Payloads are 8-aligned: the largest alignment malloc accepts. */
export const FIFO_MAX_ALIGN = 8;
const FIFO_MAGIC = 0x4f464946; // "FIFO"

const CTRL_MAGIC = 0;
const CTRL_PAGE_BYTES = 4;
const CTRL_PAGE_COUNT = 8;
const CTRL_CURRENT = 12;
const CTRL_QUEUE_HEAD = 16;
const CTRL_QUEUE_TAIL = 20;
export const FIFO_PAGES_START = Counter.END;

const PAGE_LIVE = 0;
const PAGE_BUMP = 4;
const PAGE_NEXT_QUEUED = 8;
const PAGE_STATE = 12;
const PAGE_START_BITS = 16;

const STATE_FILLING = 1;
const STATE_IN_USE = 2;
const STATE_QUEUED = 3;

const HEADER_BYTES = 8;
const HDR_REQUESTED = 0;
const HDR_SPAN = 4;

export interface FifoOptions extends AllocatorStoreOptions {
  /** Bytes per page, a power of two from 512; the largest block is a little less. @defaultValue 16384 */
  pageBytes?: number;
}

/**
 * Blocks bumped into pages and freed in any order; a page is reused when it empties, in the
 * order pages emptied. A block must fit in one page (`pageBytes`).
 */
export class Fifo implements Allocator {
  readonly name = "fifo";
  readonly store: ByteStore;
  readonly pageBytes: number;
  /** Where blocks start in a page: after its header and start bits. */
  readonly dataStart: number;
  /** The largest request: a block filling a page. */
  readonly maxBlockBytes: number;
  private readonly pageShift: number;

  constructor(options: FifoOptions = {}) {
    const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
    if (!(Number.isSafeInteger(pageBytes) && pageBytes >= 512 && pageBytes <= 2 ** 24 && (pageBytes & (pageBytes - 1)) === 0)) {
      throw new InvalidSizeError(pageBytes, "pageBytes must be a power of two from 512 to 2^24");
    }
    this.pageBytes = pageBytes;
    this.pageShift = Math.log2(pageBytes);
    this.dataStart = PAGE_START_BITS + pageBytes / 64;
    this.maxBlockBytes = pageBytes - this.dataStart - HEADER_BYTES;
    this.store = openStore(options, FIFO_PAGES_START, this.name);
    const u32 = this.store.u32;
    u32.fill(0, 0, FIFO_PAGES_START >>> 2);
    u32[CTRL_MAGIC >>> 2] = FIFO_MAGIC;
    u32[CTRL_PAGE_BYTES >>> 2] = pageBytes;
    this.store.f64[Counter.PEAK_EXTENT_BYTES >>> 3] = FIFO_PAGES_START;
  }

  malloc(size: number, align = 8): number {
    checkSize(size, this.maxBlockBytes);
    if (align !== 8) checkAlign(align, FIFO_MAX_ALIGN);
    const span = headedBlockBytes(size);
    const u32 = this.store.u32;
    let page = u32[CTRL_CURRENT >>> 2]!;
    if (page === 0 || u32[(page + PAGE_BUMP) >>> 2]! + span > page + this.pageBytes) {
      page = this.nextPage();
      if (page === 0) return 0;
    }
    const header = this.store.u32[(page + PAGE_BUMP) >>> 2]!;
    return this.placeBlock(page, header, size, span);
  }

  private placeBlock(page: number, header: number, size: number, span: number): number {
    const u32 = this.store.u32;
    const ptr = header + HEADER_BYTES;
    u32[(header + HDR_REQUESTED) >>> 2] = size;
    u32[(header + HDR_SPAN) >>> 2] = span;
    u32[(page + PAGE_BUMP) >>> 2] = header + span;
    u32[(page + PAGE_LIVE) >>> 2]!++;
    this.setStartBit(page, ptr, true);
    const f64 = this.store.f64;
    f64[Counter.LIVE_BLOCKS >>> 3]!++;
    f64[Counter.MALLOC_COUNT >>> 3]!++;
    f64[Counter.LIVE_BYTES >>> 3]! += size;
    notePeakLive(f64);
    return ptr;
  }

  /**
   * Retires the current page (to the queue if it has no live blocks), then fills the page
   * that emptied first, or a new page at the top. 0 when the store cannot grow, found before
   * anything is retired, so no byte changes.
   */
  private nextPage(): number {
    const before = this.store.u32;
    const current = before[CTRL_CURRENT >>> 2]!;
    const count = before[CTRL_PAGE_COUNT >>> 2]!;
    const reusable = before[CTRL_QUEUE_HEAD >>> 2] !== 0 || (current !== 0 && before[(current + PAGE_LIVE) >>> 2] === 0);
    if (!reusable && !this.store.grow(this.pageAt(count) + this.pageBytes)) return 0;
    const u32 = this.store.u32; // the store may have grown
    if (current !== 0) {
      u32[(current + PAGE_STATE) >>> 2] = STATE_IN_USE;
      if (u32[(current + PAGE_LIVE) >>> 2] === 0) this.enqueueEmpty(current);
    }
    let page = u32[CTRL_QUEUE_HEAD >>> 2]!;
    if (page !== 0) {
      const next = u32[(page + PAGE_NEXT_QUEUED) >>> 2]!;
      u32[CTRL_QUEUE_HEAD >>> 2] = next;
      if (next === 0) u32[CTRL_QUEUE_TAIL >>> 2] = 0;
    } else {
      page = this.pageAt(count);
      u32[CTRL_PAGE_COUNT >>> 2] = count + 1;
      const f64 = this.store.f64;
      notePeakExtent(f64, page + this.pageBytes);
    }
    const fresh = this.store.u32;
    fresh.fill(0, page >>> 2, (page + this.dataStart) >>> 2);
    fresh[(page + PAGE_BUMP) >>> 2] = page + this.dataStart;
    fresh[(page + PAGE_STATE) >>> 2] = STATE_FILLING;
    fresh[CTRL_CURRENT >>> 2] = page;
    return page;
  }

  private enqueueEmpty(page: number): void {
    const u32 = this.store.u32;
    u32[(page + PAGE_STATE) >>> 2] = STATE_QUEUED;
    u32[(page + PAGE_NEXT_QUEUED) >>> 2] = 0;
    const tail = u32[CTRL_QUEUE_TAIL >>> 2]!;
    if (tail === 0) u32[CTRL_QUEUE_HEAD >>> 2] = page;
    else u32[(tail + PAGE_NEXT_QUEUED) >>> 2] = page;
    u32[CTRL_QUEUE_TAIL >>> 2] = page;
  }

  /** Frees a live block; a retired page whose last block goes joins the back of the queue. */
  free(ptr: number): void {
    const page = this.pageOfLive(ptr);
    const u32 = this.store.u32;
    const header = ptr - HEADER_BYTES;
    this.setStartBit(page, ptr, false);
    const live = --u32[(page + PAGE_LIVE) >>> 2]!;
    const f64 = this.store.f64;
    f64[Counter.LIVE_BLOCKS >>> 3]!--;
    f64[Counter.LIVE_BYTES >>> 3]! -= u32[(header + HDR_REQUESTED) >>> 2]!;
    f64[Counter.FREE_COUNT >>> 3]!++;
    if (live === 0 && u32[(page + PAGE_STATE) >>> 2] === STATE_IN_USE) this.enqueueEmpty(page);
  }

  /**
   * In place when the new size fits the block's span, or when it is the last block of the
   * current page and the page has room; otherwise moved (one malloc and one free).
   */
  realloc(ptr: number, size: number): number {
    const page = this.pageOfLive(ptr);
    checkSize(size, this.maxBlockBytes);
    const u32 = this.store.u32;
    const header = ptr - HEADER_BYTES;
    const span = u32[(header + HDR_SPAN) >>> 2]!;
    const needed = headedBlockBytes(size);
    const isLastOfCurrent = page === u32[CTRL_CURRENT >>> 2] && header + span === u32[(page + PAGE_BUMP) >>> 2];
    if (needed > span && !(isLastOfCurrent && header + needed <= page + this.pageBytes)) {
      const oldSize = u32[(header + HDR_REQUESTED) >>> 2]!;
      return reallocByMove(this, ptr, oldSize, size); // may grow the store: views read before it are stale
    }
    if (needed > span) {
      u32[(header + HDR_SPAN) >>> 2] = needed;
      u32[(page + PAGE_BUMP) >>> 2] = header + needed;
    }
    const f64 = this.store.f64;
    f64[Counter.LIVE_BYTES >>> 3]! += size - u32[(header + HDR_REQUESTED) >>> 2]!;
    notePeakLive(f64);
    u32[(header + HDR_REQUESTED) >>> 2] = size;
    return ptr;
  }

  usableSize(ptr: number): number {
    this.pageOfLive(ptr);
    return this.store.u32[(ptr - HEADER_BYTES + HDR_SPAN) >>> 2]! - HEADER_BYTES;
  }

  /** Frees everything: every page joins the queue in address order. */
  reset(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    u32[CTRL_CURRENT >>> 2] = 0;
    u32[CTRL_QUEUE_HEAD >>> 2] = 0;
    u32[CTRL_QUEUE_TAIL >>> 2] = 0;
    for (let k = 0; k < u32[CTRL_PAGE_COUNT >>> 2]!; k++) {
      const page = this.pageAt(k);
      u32.fill(0, page >>> 2, (page + this.dataStart) >>> 2);
      this.enqueueEmpty(page);
    }
    f64[Counter.FREE_COUNT >>> 3]! += f64[Counter.LIVE_BLOCKS >>> 3]!;
    f64[Counter.LIVE_BLOCKS >>> 3] = 0;
    f64[Counter.LIVE_BYTES >>> 3] = 0;
  }

  // ---- Pages and start bits -----------------------------------------------------------------

  private pageAt(index: number): number {
    return FIFO_PAGES_START + index * this.pageBytes;
  }

  private startBit(page: number, ptr: number): boolean {
    const granule = (ptr - page) >>> 3;
    return (this.store.u32[((page + PAGE_START_BITS) >>> 2) + (granule >>> 5)]! & (1 << (granule & 31))) !== 0;
  }

  private setStartBit(page: number, ptr: number, on: boolean): void {
    const granule = (ptr - page) >>> 3;
    const word = ((page + PAGE_START_BITS) >>> 2) + (granule >>> 5);
    const u32 = this.store.u32;
    if (on) u32[word] = u32[word]! | (1 << (granule & 31));
    else u32[word] = u32[word]! & ~(1 << (granule & 31));
  }

  /**
   * The page of live block `ptr`, or a typed error, in O(1): the page must be in use, ptr an
   * 8-aligned offset below its bump, and its start bit set. Otherwise a walk of the page tells
   * a freed block (DoubleFreeError) from an offset that never started one (InvalidFreeError).
   */
  private pageOfLive(ptr: number): number {
    checkPointerType(ptr);
    const u32 = this.store.u32;
    const page = this.pageAt((ptr - FIFO_PAGES_START) >>> this.pageShift);
    const state = u32[(page + PAGE_STATE) >>> 2];
    if (!(Number.isInteger(ptr) && ptr >= FIFO_PAGES_START && page < this.pageAt(u32[CTRL_PAGE_COUNT >>> 2]!) && (state === STATE_FILLING || state === STATE_IN_USE))) {
      throw new InvalidFreeError(ptr, "not in a page of this fifo that holds blocks (freed already, or never allocated)");
    }
    if ((ptr & 7) === 0 && ptr - HEADER_BYTES < u32[(page + PAGE_BUMP) >>> 2]! && ptr - page >= this.dataStart + HEADER_BYTES && this.startBit(page, ptr)) return page;
    for (let h = page + this.dataStart; h < u32[(page + PAGE_BUMP) >>> 2]!; h += u32[(h + HDR_SPAN) >>> 2]!) {
      if (h + HEADER_BYTES === ptr) throw new DoubleFreeError(ptr);
    }
    throw new InvalidFreeError(ptr, "not the start of a block of this fifo");
  }

  // ---- Stats, walk, check -------------------------------------------------------------------

  stats(): AllocatorStats {
    let usable = 0;
    this.walkInto((_start, bytes, kind) => {
      if (kind === Span.USED) usable += bytes - HEADER_BYTES;
    });
    return counterStats(this, this.pageAt(this.store.u32[CTRL_PAGE_COUNT >>> 2]!), usable);
  }

  /**
   * Control block, then per page (a group): header and start bits (meta); for a queued page one
   * free block; otherwise its blocks with their headers (used or free) and the unused tail (free).
   * With a range, from the page holding `start` (a shift).
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    const u32 = this.store.u32;
    if (!sink.span(0, FIFO_PAGES_START, Span.META, 0, 0, Held.NONE, "control block")) return;
    const firstPage = Math.max(0, Math.floor((sink.from - FIFO_PAGES_START) / this.pageBytes));
    for (let k = firstPage; k < u32[CTRL_PAGE_COUNT >>> 2]!; k++) {
      const page = this.pageAt(k);
      const end = page + this.pageBytes;
      sink.enterGroup(page, this.pageBytes, "page", 0);
      if (!sink.span(page, this.dataStart, Span.META, 0, 0, Held.NONE, "page header and start bits")) return;
      const bump = u32[(page + PAGE_STATE) >>> 2] === STATE_QUEUED ? page + this.dataStart : u32[(page + PAGE_BUMP) >>> 2]!;
      for (let h = page + this.dataStart; h < bump; h += u32[(h + HDR_SPAN) >>> 2]!) {
        const span = u32[(h + HDR_SPAN) >>> 2]!;
        const going = this.startBit(page, h + HEADER_BYTES)
          ? sink.span(h, span, Span.USED, h + HEADER_BYTES, u32[(h + HDR_REQUESTED) >>> 2]!, Held.NONE, "")
          : sink.span(h, span, Span.FREE, 0, 0, Held.NONE, "freed: reused when its page empties");
        if (!going) return;
      }
      if (bump < end && !sink.span(bump, end - bump, Span.FREE, 0, 0, Held.NONE, "")) return;
      sink.leaveGroup();
    }
  }

  check(): void {
    const u32 = this.store.u32;
    const f64 = this.store.f64;
    const fail = (message: string, offset?: number): never => {
      throw new HeapCorruptionError(`fifo: ${message}`, offset);
    };
    if (u32[CTRL_MAGIC >>> 2] !== FIFO_MAGIC || u32[CTRL_PAGE_BYTES >>> 2] !== this.pageBytes) fail("bad magic or page size in the control block");
    const count = u32[CTRL_PAGE_COUNT >>> 2]!;
    if (this.pageAt(count) > this.store.committedBytes) fail(`${count} pages do not fit in ${this.store.committedBytes} committed bytes`);
    const current = u32[CTRL_CURRENT >>> 2]!;
    const queued = new Set<number>();
    let last = 0;
    for (let page = u32[CTRL_QUEUE_HEAD >>> 2]!; page !== 0; last = page, page = u32[(page + PAGE_NEXT_QUEUED) >>> 2]!) {
      if (queued.has(page) || queued.size >= count || (page - FIFO_PAGES_START) % this.pageBytes !== 0 || page >= this.pageAt(count)) fail("queue runs outside the pages or loops", page);
      if (u32[(page + PAGE_STATE) >>> 2] !== STATE_QUEUED) fail("queued page not in state QUEUED", page);
      queued.add(page);
    }
    if (u32[CTRL_QUEUE_TAIL >>> 2] !== last) fail(`QUEUE_TAIL ${u32[CTRL_QUEUE_TAIL >>> 2]} is not the queue's last page ${last}`);
    let liveBlocks = 0;
    let liveBytes = 0;
    for (let k = 0; k < count; k++) {
      const page = this.pageAt(k);
      const state = u32[(page + PAGE_STATE) >>> 2]!;
      if ((state === STATE_QUEUED) !== queued.has(page)) fail(`page state ${state} disagrees with the queue`, page);
      if ((state === STATE_FILLING) !== (page === current)) fail(`page state ${state} disagrees with CURRENT ${current}`, page);
      if (state === STATE_QUEUED) continue;
      if (state !== STATE_IN_USE && state !== STATE_FILLING) fail(`bad page state ${state}`, page);
      const bump = u32[(page + PAGE_BUMP) >>> 2]!;
      if (bump < page + this.dataStart || bump > page + this.pageBytes) fail(`bump ${bump} outside the page`, page);
      let live = 0;
      let h = page + this.dataStart;
      const starts = new Set<number>();
      for (; h < bump; h += u32[(h + HDR_SPAN) >>> 2]!) {
        const span = u32[(h + HDR_SPAN) >>> 2]!;
        const requested = u32[(h + HDR_REQUESTED) >>> 2]!;
        if (span < HEADER_BYTES || span % 8 !== 0 || h + span > bump || requested > span - HEADER_BYTES) fail(`bad block (span ${span}, requested ${requested})`, h);
        starts.add(h + HEADER_BYTES);
        if (this.startBit(page, h + HEADER_BYTES)) {
          live++;
          liveBytes += requested;
        }
      }
      if (h !== bump) fail("blocks do not end at the bump", page);
      for (let granule = 0; granule < this.pageBytes / 8; granule++) {
        const ptr = page + granule * 8;
        if (this.startBit(page, ptr) && !starts.has(ptr)) fail("start bit set where no block starts", ptr);
      }
      if (u32[(page + PAGE_LIVE) >>> 2] !== live) fail(`live count ${u32[(page + PAGE_LIVE) >>> 2]} but ${live} start bits`, page);
      if (state === STATE_IN_USE && live === 0) fail("retired page with no live blocks is not queued", page);
      liveBlocks += live;
    }
    if (f64[Counter.LIVE_BLOCKS >>> 3] !== liveBlocks) fail(`LIVE_BLOCKS ${f64[Counter.LIVE_BLOCKS >>> 3]} but ${liveBlocks} live blocks`);
    if (f64[Counter.LIVE_BYTES >>> 3] !== liveBytes) fail(`LIVE_BYTES ${f64[Counter.LIVE_BYTES >>> 3]} but live blocks hold ${liveBytes}`);
  }
}

/**
 * HardenedHeap: a cheap production wrapper in the spirit of LLVM's scudo hardened allocator. It
 * does not find bugs the way DebugHeap does; it refuses to let them corrupt the heap. Every block
 * carries an 8-byte header, kept in the store just before the user bytes, with a keyed checksum:
 *
 *   base                        ptr-8          ptr-4                                  ptr
 *   |<-- alignment padding -->| size: u32    | checksum: 24 | state: 2 | shift: 6  | user bytes ...
 *   |   (only when align > 8)  |<---------------- header (8 bytes) ----------------->|
 *
 *   pad      = ptr - base = 8 << shift   (8, or the alignment when it is larger)
 *   state    = LIVE (1) or FREED (2)
 *   checksum = mix(secret, ptr, size, state, shift) >>> 8   (24 bits; the secret is random per heap)
 *
 * free, realloc and usableSize read the header and check it before they touch anything: a
 * forged or interior offset, a header smashed by an underflow (or by an overflow of the block
 * before), or a block already freed is refused with an error, and the inner allocator never sees
 * the bad offset. A forgery passes with probability 2^-24 per try, and only by knowing the
 * secret better than chance (scudo packs a 16-bit checksum into its header; the idea is the same,
 * the mix is not a cryptographic MAC).
 *
 * Errors change nothing: arguments and the header are checked first; the inner call that may
 * throw comes before any counter changes, with the header put back if it throws, and an inner
 * InvalidSizeError is rethrown naming the size the caller asked (not size + header). A release to
 * the inner allocator after the call has done its work (delayed reuse, the old block of an
 * over-aligned realloc) that throws leaves its block queued; the next call releases it first.
 *
 * Optional delayed reuse: with `quarantineBytes > 0` freed blocks wait in a FIFO (quarantine.ts)
 * before the inner allocator may hand them out again, so a stale pointer meets a FREED header
 * (a double free is caught) instead of someone else's block; their headers are re-checked when
 * they leave. Per-block state lives in the store (the header); the JS side holds only counters
 * and, when delayed reuse is on, the ring of waiting offsets. The header's fields, checksum and
 * probe are in hardened-header.ts; the errors of refused calls in hardened-refusals.ts.
 *
 * The wrapper owns its inner allocator: a block taken from the inner one directly has no header,
 * and check() reports it as corrupted.
 *
 * Invariants (checked by check(), then the inner allocator's own):
 *   every used inner block holds exactly one valid header, at base + pad - 8
 *   #LIVE headers = liveBlocks, Σ their sizes = liveBytes, #FREED headers = blocks waiting for reuse
 *
 * Cost per call: one 8-byte header write on malloc, a read, a checksum and a write on free.
 * Targets within 1.3x of the plain heap; see bench/debug.ts.
 */
import type { Allocator, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { HeapCorruptionError } from "../errors.js";
import { MAX_STORE_BYTES, type ByteStore } from "../memory/store.js";
import { Heap } from "../heap/heap.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { MAX_ALIGN, option, wrapperArguments } from "./options.js";
import { CorruptedHeaderError } from "./errors.js";
import {
  ALIGN_SHIFT_MASK, FREED, HEADER_BYTES, headerChecksum, HeaderProbe, LIVE, STATE_SHIFT, type HardenedHeapOptions, type HardenedHeapStats,
} from "./hardened-header.js";
import { badHeaderError, callerSizeError, type HardenedOperation, notLiveError, outsideError } from "./hardened-refusals.js";
import { Quarantine } from "./quarantine.js";

export { HEADER_BYTES, headerChecksum, type HardenedHeapOptions, type HardenedHeapStats } from "./hardened-header.js";

/**
 * A hardening wrapper: a keyed checksum header on every block, so forged, interior, smashed and
 * double frees are refused before the inner allocator sees them; optional delayed reuse.
 *
 * @example
 * ```ts
 * import { HardenedHeap, InvalidFreeError } from "heapkit";
 * const heap = new HardenedHeap({ quarantineBytes: 1 << 16 }); // or new HardenedHeap(inner, options)
 * const p = heap.malloc(100);
 * heap.free(p);
 * try { heap.free(p); } catch (e) { console.log(e instanceof InvalidFreeError); } // true: a double free
 * ```
 */
export class HardenedHeap implements Allocator {
  readonly name: string;
  readonly inner: Allocator;
  /** The inner allocator's store (an allocator keeps its store for life). */
  private readonly byteStore: ByteStore;
  private readonly secret: number;
  /** Reads headers at an unknown pad, for check(), walk() and refusals. */
  private readonly probe: HeaderProbe;
  /** Freed blocks waiting for reuse (limit 0: none wait, except a release that failed). */
  private readonly quarantine: Quarantine;
  /** A release to the inner allocator threw: its block is still queued, to go first next call. */
  private releaseFailed = false;
  private liveBlocks = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;
  private livePadBytes = 0;
  private mallocCount = 0;
  private freeCount = 0;

  /** `new HardenedHeap(options?)` (over `options.inner`, a new Heap by default) or `new HardenedHeap(inner, options?)`. */
  constructor(innerOrOptions?: Allocator | HardenedHeapOptions, moreOptions?: HardenedHeapOptions) {
    const { inner, options } = wrapperArguments("HardenedHeap", innerOrOptions, moreOptions);
    this.inner = inner ?? new Heap();
    this.name = `hardened(${this.inner.name})`;
    this.byteStore = this.inner.store;
    this.secret = options.secret === undefined
      ? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!
      : option("secret", options.secret, 0, 0, 0xffffffff);
    this.probe = new HeaderProbe(this.byteStore, this.secret);
    const limit = option("quarantineBytes", options.quarantineBytes, 0, 0, MAX_STORE_BYTES);
    this.quarantine = new Quarantine(limit, limit > 0 ? 64 : 1);
  }

  get store(): ByteStore {
    return this.byteStore;
  }

  /** The store's views, as on `Heap`; re-read them after any call that may grow the heap. */
  get u8(): Uint8Array { return this.store.u8; }
  get u32(): Uint32Array { return this.store.u32; }
  get i32(): Int32Array { return this.store.i32; }
  get f64(): Float64Array { return this.store.f64; }

  malloc(size: number, align = 8): number {
    if (!(typeof size === "number" && (size >>> 0) === size && size <= MAX_STORE_BYTES)) checkSize(size, MAX_STORE_BYTES);
    let shift = 0;
    if (align !== 8) {
      checkAlign(align, MAX_ALIGN);
      if (align > 8) shift = Math.log2(align) - 3;
    }
    if (this.releaseFailed) this.release(false);
    const pad = 8 << shift;
    let base = this.innerMalloc(size, pad);
    if (base === 0) {
      if (this.quarantine.count === 0) return 0;
      this.flushQuarantine();
      base = this.innerMalloc(size, pad);
      if (base === 0) return 0;
    }
    const ptr = base + pad;
    if (shift !== 0) this.clearShallowerHeaders(base, shift);
    this.writeHeader(ptr, size, (LIVE << STATE_SHIFT) | shift);
    this.liveBlocks++;
    this.liveBytes += size;
    this.livePadBytes += pad;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    this.mallocCount++;
    return ptr;
  }

  /** Frees a live block after checking its header; `free(0)` does nothing, as in C. */
  free(ptr: number): void {
    if (ptr === 0) return;
    const size = this.liveHeader(ptr, "free");
    if (this.releaseFailed) this.release(false);
    const shift = this.lastShift;
    this.writeHeader(ptr, size, (FREED << STATE_SHIFT) | shift);
    const pad = 8 << shift;
    if (this.quarantine.limitBytes === 0) {
      try {
        this.inner.free(ptr - pad);
      } catch (error) {
        this.writeHeader(ptr, size, (LIVE << STATE_SHIFT) | shift);
        throw error;
      }
    }
    this.liveBlocks--;
    this.liveBytes -= size;
    this.livePadBytes -= pad;
    this.freeCount++;
    if (this.quarantine.limitBytes > 0) {
      this.quarantine.push(ptr, shift, size + pad);
      this.release(true);
    }
  }

  /** Resizes through the inner allocator's realloc; `realloc(0, n)` is `malloc(n)`. */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const oldSize = this.liveHeader(ptr, "realloc");
    const shift = this.lastShift;
    if (!(typeof size === "number" && (size >>> 0) === size && size <= MAX_STORE_BYTES)) checkSize(size, MAX_STORE_BYTES);
    if (this.releaseFailed) this.release(false);
    if (shift !== 0) return this.moveAligned(ptr, oldSize, size, shift);
    // Mark the old header dead first, so a stale copy left behind by a move is refused later.
    this.writeHeader(ptr, oldSize, FREED << STATE_SHIFT);
    let base: number;
    try {
      base = this.innerRealloc(ptr, size);
      if (base === 0 && this.quarantine.count > 0) {
        this.flushQuarantine();
        base = this.innerRealloc(ptr, size);
      }
    } catch (error) {
      this.writeHeader(ptr, oldSize, LIVE << STATE_SHIFT);
      throw error;
    }
    if (base === 0) {
      this.writeHeader(ptr, oldSize, LIVE << STATE_SHIFT);
      return 0;
    }
    const moved = base + HEADER_BYTES;
    this.writeHeader(moved, size, LIVE << STATE_SHIFT);
    this.liveBytes += size - oldSize;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    return moved;
  }

  usableSize(ptr: number): number {
    this.liveHeader(ptr, "usableSize");
    const pad = 8 << this.lastShift;
    return this.inner.usableSize(ptr - pad) - pad;
  }

  /** Every inner block holds a valid header; the counts agree; then the inner allocator's check. */
  check(): void {
    let live = 0;
    let bytes = 0;
    let held = 0;
    const u32 = this.inner.store.u32;
    for (const block of this.inner.walk()) {
      if (block.kind !== "used") continue;
      const ptr = this.probe.find(block.ptr!);
      if (ptr < 0) {
        const h = block.ptr! >>> 2;
        throw new CorruptedHeaderError(block.ptr! + HEADER_BYTES, "check", [u32[h]!, u32[h + 1]!],
          `inner block ${block.ptr} holds no valid header`);
      }
      if (this.probe.state === LIVE) {
        live++;
        bytes += this.probe.size;
      } else {
        held++;
      }
    }
    const waiting = this.quarantine.count;
    if (live !== this.liveBlocks || bytes !== this.liveBytes || held !== waiting) {
      throw new HeapCorruptionError(`hardened heap counts disagree with the headers: ${live} live blocks of ${bytes} bytes and ` +
        `${held} freed ones found, ${this.liveBlocks} of ${this.liveBytes} bytes and ${waiting} expected`);
    }
    this.inner.check();
  }

  stats(): HardenedHeapStats {
    const s = this.inner.stats();
    return {
      ...s,
      liveBlocks: this.liveBlocks,
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peakLiveBytes,
      mallocCount: this.mallocCount,
      freeCount: this.freeCount,
      headerBytes: this.livePadBytes,
      quarantinedBlocks: this.quarantine.count,
      quarantinedBytes: this.quarantine.bytes,
    };
  }

  /**
   * Inner blocks in the user's view: a live one is used, header and padding included, with `ptr`
   * its user offset; one waiting for reuse is free, held "delayed".
   */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    sink.relayFrom(this.inner, (out, start, bytes, kind, ptr, requestedBytes, held, detail) => {
      const user = kind === Span.USED ? this.probe.find(ptr) : -1;
      if (user < 0) return out.span(start, bytes, kind, ptr, requestedBytes, held, detail);
      return this.probe.state === LIVE ? out.span(start, bytes, Span.USED, user, this.probe.size, Held.NONE, "")
        : out.span(start, bytes, Span.FREE, 0, 0, Held.DELAYED, "freed, waiting for delayed reuse");
    });
  }

  /** Lets every block waiting for reuse go back to the inner allocator, then throws the first changed header found. */
  flushQuarantine(): void {
    let found: CorruptedHeaderError | undefined;
    while (this.quarantine.count > 0) {
      const changed = this.releaseOldest(); // every one is released, the first change reported
      found ??= changed;
    }
    if (found !== undefined) throw found;
  }

  // --- internals -------------------------------------------------------------------------

  /** inner.malloc of a block with its header; an InvalidSizeError names the size the caller asked. */
  // At least one byte past the header, so even a 0-byte block's pointer lies inside its inner block.
  private innerMalloc(size: number, pad: number): number {
    try {
      return this.inner.malloc(Math.max(size, 1) + pad, pad);
    } catch (error) {
      throw callerSizeError(error, size, pad, this.inner.name);
    }
  }

  private innerRealloc(ptr: number, size: number): number {
    try {
      return this.inner.realloc(ptr - HEADER_BYTES, Math.max(size, 1) + HEADER_BYTES);
    } catch (error) {
      throw callerSizeError(error, size, HEADER_BYTES, this.inner.name);
    }
  }

  /**
   * realloc of an over-aligned block: the inner realloc would only keep 8-byte alignment, so the
   * block moves here. The new block comes first (a throw there changes nothing); the old one is
   * released after the copy, through the queue when the release throws.
   */
  private moveAligned(ptr: number, oldSize: number, size: number, shift: number): number {
    const moved = this.malloc(size, 8 << shift);
    if (moved === 0) return 0;
    this.mallocCount--;
    this.inner.store.u8.copyWithin(moved, ptr, ptr + Math.min(size, oldSize));
    const pad = 8 << shift;
    this.writeHeader(ptr, oldSize, (FREED << STATE_SHIFT) | shift);
    this.liveBlocks--;
    this.liveBytes -= oldSize;
    this.livePadBytes -= pad;
    this.quarantine.push(ptr, shift, oldSize + pad);
    this.release(true);
    return moved;
  }

  /**
   * Releases the oldest waiting blocks while over budget, then throws the first changed header
   * found. After the call's work (`deferred`) an inner throw leaves its block queued for the next
   * call, which releases it first (`deferred` false), before it changes anything.
   */
  private release(deferred: boolean): void {
    let found: CorruptedHeaderError | undefined;
    try {
      while (this.quarantine.overBudget) {
        const changed = this.releaseOldest(); // every one is released, the first change reported
        found ??= changed;
      }
      this.releaseFailed = false;
    } catch (error) {
      this.releaseFailed = true;
      if (!deferred) throw error;
    }
    if (found !== undefined) throw found;
  }

  private writeHeader(ptr: number, size: number, low8: number): void {
    const u32 = this.byteStore.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    u32[h] = size;
    u32[h + 1] = ((headerChecksum(this.secret, ptr, size, low8) << 8) | low8) >>> 0;
  }

  /**
   * Zeroes the places in the padding of an over-aligned block where a header of a smaller pad
   * would sit, so that a stale header left there by an earlier block is never taken for this
   * block's (probe() tries the smaller pads first).
   */
  private clearShallowerHeaders(base: number, shift: number): void {
    const u32 = this.inner.store.u32;
    for (let s = 0; s < shift; s++) {
      const h = (base + (8 << s) - HEADER_BYTES) >>> 2;
      u32[h] = 0;
      u32[h + 1] = 0;
    }
  }

  private lastShift = 0;

  /** Checks that `ptr` heads a live block; returns its size and leaves its shift in `lastShift`. */
  private liveHeader(ptr: number, operation: HardenedOperation): number {
    // An offset past the store reads `undefined` words: state 0, so it is refused as not live.
    if (!(typeof ptr === "number" && (ptr >>> 0) === ptr && (ptr & 7) === 0 && ptr >= HEADER_BYTES)) throw outsideError(ptr, operation);
    const u32 = this.byteStore.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    const size = u32[h]!;
    const meta = u32[h + 1]!;
    const low = meta & 0xff;
    if (meta >>> 8 !== headerChecksum(this.secret, ptr, size, low)) throw badHeaderError(this.inner, this.probe, ptr, operation, size, meta);
    if (low >>> STATE_SHIFT !== LIVE) throw notLiveError(ptr, operation);
    this.lastShift = low & ALIGN_SHIFT_MASK;
    return size;
  }

  /**
   * Releases the oldest waiting block, then returns the error its header shows if it changed
   * while it waited (not still FREED). The inner free comes first: a throw leaves it queued.
   */
  private releaseOldest(): CorruptedHeaderError | undefined {
    const q = this.quarantine;
    const ptr = q.peek();
    const shift = q.lastAux;
    const u32 = this.inner.store.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    const size = u32[h]!;
    const meta = u32[h + 1]!;
    const intact = meta >>> 8 === headerChecksum(this.secret, ptr, size, meta & 0xff) && (meta & 0xff) === ((FREED << STATE_SHIFT) | shift);
    this.inner.free(ptr - (8 << shift));
    q.shift();
    if (intact) return undefined;
    return new CorruptedHeaderError(ptr, "reuse", [size, meta],
      "the header of a freed block changed while it waited for reuse (a write after free, or an overflow of the block before); its memory was released");
  }
}

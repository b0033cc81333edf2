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
 * Optional delayed reuse: with `quarantineBytes > 0` freed blocks wait in a FIFO (quarantine.ts)
 * before the inner allocator may hand them out again, so a stale pointer meets a FREED header
 * (a double free is caught) instead of someone else's block; their headers are re-checked when
 * they leave. Per-block state lives in the store (the header); the JS side holds only counters
 * and, when delayed reuse is on, the ring of waiting offsets.
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
import type { Allocator, AllocatorStats, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError } from "../errors.js";
import { MAX_STORE_BYTES, type ByteStore } from "../memory/store.js";
import { Heap } from "../heap/heap.js";
import { Held, Span, type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { MAX_ALIGN, option } from "./options.js";
import { CorruptedHeaderError } from "./errors.js";
import { Quarantine } from "./quarantine.js";

export const HEADER_BYTES = 8;
// Header fields (word 1 = checksum << 8 | state << STATE_SHIFT | shift).
const STATE_SHIFT = 6;
const ALIGN_SHIFT_MASK = 0x3f;
const LIVE = 1;
const FREED = 2;
/** Largest `shift` a probe tries: pads up to 8 << 13 = MAX_ALIGN. */
const MAX_SHIFT = Math.log2(MAX_ALIGN) - 3;
if (8 << MAX_SHIFT !== MAX_ALIGN || MAX_SHIFT > ALIGN_SHIFT_MASK) throw new Error("hardened header: MAX_ALIGN does not fit the shift field");

export interface HardenedHeapOptions {
  /** Freed bytes held before the inner allocator may reuse them; 0 reuses at once. @defaultValue 0 */
  quarantineBytes?: number;
  /** The key of the header checksums (an unsigned 32-bit integer). @defaultValue random per heap */
  secret?: number;
}

/** Stats in the user's view, plus the header cost and the delayed-reuse queue. */
export interface HardenedHeapStats extends AllocatorStats {
  /** Header and alignment padding bytes of live blocks. */
  headerBytes: number;
  quarantinedBlocks: number;
  quarantinedBytes: number;
}

/**
 * The keyed header checksum (24 bits): murmur3-style multiply-xorshift rounds, one per field, so
 * that no change of size and state together cancels out.
 */
export function headerChecksum(secret: number, ptr: number, size: number, low8: number): number {
  let h = Math.imul(ptr ^ secret, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ size, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13) ^ low8, 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 8;
}

export class HardenedHeap implements Allocator {
  readonly name: string;
  readonly inner: Allocator;
  /** The inner allocator's store (an allocator keeps its store for life). */
  private readonly byteStore: ByteStore;
  private readonly secret: number;
  private readonly quarantine: Quarantine | undefined;
  private liveBlocks = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;
  private livePadBytes = 0;
  private mallocCount = 0;
  private freeCount = 0;

  constructor(inner?: Allocator, options: HardenedHeapOptions = {}) {
    this.inner = inner ?? new Heap();
    this.name = `hardened(${this.inner.name})`;
    this.byteStore = this.inner.store;
    this.secret = options.secret === undefined
      ? globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!
      : option("secret", options.secret, 0, 0, 0xffffffff);
    const limit = option("quarantineBytes", options.quarantineBytes, 0, 0, MAX_STORE_BYTES);
    this.quarantine = limit > 0 ? new Quarantine(limit) : undefined;
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
    if (!((size >>> 0) === size && size <= MAX_STORE_BYTES)) checkSize(size, MAX_STORE_BYTES);
    let shift = 0;
    if (align !== 8) {
      checkAlign(align, MAX_ALIGN);
      if (align > 8) shift = Math.log2(align) - 3;
    }
    const pad = 8 << shift;
    // At least one byte past the header, so even a 0-byte block's pointer lies inside its inner block.
    let base = this.inner.malloc(Math.max(size, 1) + pad, pad);
    if (base === 0) {
      if (this.quarantine === undefined || this.quarantine.count === 0) return 0;
      this.flushQuarantine();
      base = this.inner.malloc(Math.max(size, 1) + pad, pad);
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
    // An offset past the store reads `undefined` words: state 0, so it is refused as not live.
    if (!((ptr >>> 0) === ptr && (ptr & 7) === 0 && ptr >= HEADER_BYTES)) throw this.outside(ptr, "free");
    const u32 = this.byteStore.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    const size = u32[h]!;
    const meta = u32[h + 1]!;
    const low = meta & 0xff;
    if (meta >>> 8 !== headerChecksum(this.secret, ptr, size, low)) throw this.refuse(ptr, "free", size, meta);
    if (low >>> STATE_SHIFT !== LIVE) throw this.notLive(ptr, "free");
    const shift = low & ALIGN_SHIFT_MASK;
    const freedLow = (FREED << STATE_SHIFT) | shift;
    u32[h + 1] = ((headerChecksum(this.secret, ptr, size, freedLow) << 8) | freedLow) >>> 0;
    const pad = 8 << shift;
    this.liveBlocks--;
    this.liveBytes -= size;
    this.livePadBytes -= pad;
    this.freeCount++;
    if (this.quarantine === undefined) {
      this.inner.free(ptr - pad);
    } else {
      this.quarantine.push(ptr, shift, size + pad);
      while (this.quarantine.overBudget) this.releaseOldest();
    }
  }

  /** Resizes through the inner allocator's realloc; `realloc(0, n)` is `malloc(n)`. */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const oldSize = this.liveHeader(ptr, "realloc");
    if (!((size >>> 0) === size && size <= MAX_STORE_BYTES)) checkSize(size, MAX_STORE_BYTES);
    const shift = this.lastShift;
    if (shift !== 0) {
      // An over-aligned block: the inner realloc would only keep 8-byte alignment, so move it here.
      const moved = this.malloc(size, 8 << shift);
      if (moved === 0) return 0;
      this.inner.store.u8.copyWithin(moved, ptr, ptr + Math.min(size, oldSize));
      this.mallocCount--;
      this.free(ptr);
      this.freeCount--;
      return moved;
    }
    // Mark the old header dead first, so a stale copy left behind by a move is refused later.
    this.writeHeader(ptr, oldSize, FREED << STATE_SHIFT);
    let base = this.inner.realloc(ptr - HEADER_BYTES, Math.max(size, 1) + HEADER_BYTES);
    if (base === 0 && this.quarantine !== undefined && this.quarantine.count > 0) {
      this.flushQuarantine();
      base = this.inner.realloc(ptr - HEADER_BYTES, Math.max(size, 1) + HEADER_BYTES);
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
      const ptr = this.probe(block.ptr!);
      if (ptr < 0) {
        const h = block.ptr! >>> 2;
        throw new CorruptedHeaderError(block.ptr! + HEADER_BYTES, "check", [u32[h]!, u32[h + 1]!],
          `inner block ${block.ptr} holds no valid header`);
      }
      if (this.probeState === LIVE) {
        live++;
        bytes += this.probeSize;
      } else {
        held++;
      }
    }
    const waiting = this.quarantine?.count ?? 0;
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
      quarantinedBlocks: this.quarantine?.count ?? 0,
      quarantinedBytes: this.quarantine?.bytes ?? 0,
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
      const user = kind === Span.USED ? this.probe(ptr) : -1;
      if (user < 0) return out.span(start, bytes, kind, ptr, requestedBytes, held, detail);
      return this.probeState === LIVE ? out.span(start, bytes, Span.USED, user, this.probeSize, Held.NONE, "")
        : out.span(start, bytes, Span.FREE, 0, 0, Held.DELAYED, "freed, waiting for delayed reuse");
    });
  }

  /** Lets every block waiting for reuse go back to the inner allocator. */
  flushQuarantine(): void {
    while (this.quarantine !== undefined && this.quarantine.count > 0) this.releaseOldest();
  }

  // --- internals -------------------------------------------------------------------------

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
  private liveHeader(ptr: number, operation: "realloc" | "usableSize"): number {
    if (!((ptr >>> 0) === ptr && (ptr & 7) === 0 && ptr >= HEADER_BYTES)) throw this.outside(ptr, operation);
    const u32 = this.byteStore.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    const size = u32[h]!;
    const meta = u32[h + 1]!;
    const low = meta & 0xff;
    if (meta >>> 8 !== headerChecksum(this.secret, ptr, size, low)) throw this.refuse(ptr, operation, size, meta);
    if (low >>> STATE_SHIFT !== LIVE) throw this.notLive(ptr, operation);
    this.lastShift = low & ALIGN_SHIFT_MASK;
    return size;
  }

  /** Checks the oldest waiting block's header (still FREED, unchanged) and releases it. */
  private releaseOldest(): void {
    const q = this.quarantine!;
    const ptr = q.shift();
    const shift = q.lastAux;
    const u32 = this.inner.store.u32;
    const h = (ptr - HEADER_BYTES) >>> 2;
    const size = u32[h]!;
    const meta = u32[h + 1]!;
    const intact = meta >>> 8 === headerChecksum(this.secret, ptr, size, meta & 0xff) && (meta & 0xff) === ((FREED << STATE_SHIFT) | shift);
    this.inner.free(ptr - (8 << shift));
    if (!intact) {
      throw new CorruptedHeaderError(ptr, "reuse", [size, meta],
        "the header of a freed block changed while it waited for reuse (a write after free, or an overflow of the block before); its memory was released");
    }
  }

  private probeState = 0;
  private probeSize = 0;

  /** The user offset whose valid header sits in the inner block at `base` (trying each pad), or -1. */
  private probe(base: number): number {
    const u32 = this.inner.store.u32;
    for (let shift = 0; shift <= MAX_SHIFT; shift++) {
      const ptr = base + (8 << shift);
      const h = (ptr - HEADER_BYTES) >>> 2;
      if (h + 1 >= u32.length) break;
      const size = u32[h]!;
      const meta = u32[h + 1]!;
      const low = meta & 0xff;
      if ((low & ALIGN_SHIFT_MASK) === shift && meta >>> 8 === headerChecksum(this.secret, ptr, size, low)) {
        const state = low >>> STATE_SHIFT;
        if (state !== LIVE && state !== FREED) continue;
        this.probeState = state;
        this.probeSize = size;
        return ptr;
      }
    }
    return -1;
  }

  private outside(ptr: unknown, operation: string): InvalidFreeError {
    return new InvalidFreeError(ptr, `${operation} of an offset that cannot head a block of this heap (blocks start at multiples of 8 inside the store)`);
  }

  private notLive(ptr: number, operation: string): InvalidFreeError {
    return operation === "free"
      ? new DoubleFreeError(ptr, " (its hardened header says so; the free was refused)")
      : new InvalidFreeError(ptr, `${operation} of a freed block (use after free); refused`);
  }

  /**
   * The header at ptr-8 fails its checksum. Slow path: walk the inner allocator to tell a smashed
   * header (ptr heads a live inner block) from an interior or forged offset, and refuse either way.
   */
  private refuse(ptr: number, operation: "free" | "realloc" | "usableSize", w0: number, w1: number): Error {
    try {
      for (const block of this.inner.walk()) {
        if (block.start > ptr) break;
        if (block.kind === "free" && ptr - HEADER_BYTES < block.start + block.bytes) {
          return new InvalidFreeError(ptr, `${operation} of an offset in free memory (a double free, or a forged offset); refused`);
        }
        if (block.kind !== "used") continue;
        const owner = this.probe(block.ptr!);
        const end = block.ptr! + this.inner.usableSize(block.ptr!);
        if (ptr >= end) continue;
        if (owner < 0 || owner === ptr) {
          return new CorruptedHeaderError(ptr, operation, [w0, w1],
            "the block's header was overwritten (a write before its start, or past the end of the block before it)");
        }
        const freed = this.probeState === FREED ? "freed " : "";
        return new InvalidFreeError(ptr, ptr > owner
          ? `${operation} of an interior offset: ${ptr - owner} bytes into ${freed}block ${owner} (${this.probeSize} bytes); refused`
          : `${operation} of an offset in the header of ${freed}block ${owner}; refused`);
      }
    } catch (error) {
      if (!(error instanceof HeapCorruptionError || error instanceof InvalidFreeError)) throw error;
      return new CorruptedHeaderError(ptr, operation, [w0, w1], `and the inner allocator cannot be walked (${(error as Error).message})`);
    }
    return new InvalidFreeError(ptr, `${operation} of an offset that is not a live block of this heap ` +
      "(no valid header: a forged offset, or a block already freed whose memory was reused); refused");
  }
}

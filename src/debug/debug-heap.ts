/**
 * DebugHeap: a checking wrapper around any allocator (AddressSanitizer's ideas, with canary bytes
 * in place of shadow memory). It catches the classic bugs of manual memory and names them with
 * the block, the offset, the bytes found and where the block was allocated and freed:
 *
 *   bug                                         caught                              error
 *   ------------------------------------------  ----------------------------------  ------------------------
 *   write before the start / past the end       on free, realloc and check()        BufferOverflowError
 *   write after free                            when it leaves quarantine, check()  UseAfterFreeError
 *   realloc / usableSize of a freed block       at the call                         UseAfterFreeError
 *   free of a freed block (even after reuse)    at the call                         DebugDoubleFreeError
 *   free of an interior or foreign offset       at the call                         DebugInvalidFreeError
 *   blocks never freed                          leaks(), leaksSince(snapshot)       (a LeakReport)
 *
 * Every user block sits inside one inner block, between two red zones:
 *
 *   base                  ptr                            ptr+size                     end
 *   |<-- left red zone -->|<-------- user bytes -------->|<-- right red zone + slack -->|
 *   |  0xfa 0xfa ... 0xfa |  0xbe (fresh) / user data    |  0xfb 0xfb ... ... 0xfb     |
 *   |  L = redZoneBytes   |  size = what malloc asked    |  >= redZoneBytes, up to the |
 *   |  rounded up to the  |  (usableSize is exactly it)  |  inner block's usable end   |
 *   |  alignment          |                              |                             |
 *
 *   base = inner.malloc(L + size + redZoneBytes, max(align, 8)),  end = base + inner.usableSize(base)
 *
 * On free the span [base, min(end, ptr + maxFillBytes)) is filled with the poison 0xfd (the whole
 * span unless the block is big) and the block waits in a quarantine bounded by bytes
 * (quarantine.ts); when it leaves, every poisoned byte is checked to still be poison, then the
 * span goes back to the inner allocator. `check()` verifies every red zone and
 * every quarantined span, then calls the inner `check()`. realloc always moves the block (as ASan
 * does), so a stale pointer to the old place is caught like any use after free.
 *
 * The byte values are ASan's shadow codes, used here as fills: 0xfa heap left red zone, 0xfb heap
 * right red zone, 0xfd freed. A stray write of exactly the canary value goes unseen (the price of
 * canaries over shadow memory); reads are never checked.
 *
 * Bookkeeping lives JS-side, not in the store, so the inner allocator's layout is untouched: a
 * table of 64-byte rows indexed by slot (BlockTable); a shadow array (ASan's shadow memory, one
 * Int32 per 8 store bytes) from user offset to slot, for live blocks and freed ones (those in
 * quarantine plus the last `historyBlocks` released, so a late double free still has both
 * stories); a dense list of live slots; and the interned stack strings of sites.ts, which cannot
 * live in the store at all. User offsets are multiples of 8, so no two blocks share an entry.
 *
 * Invariants (checked by check(), then the inner allocator's own):
 *   live block b:         [b.base, b.ptr) all 0xfa;  [b.ptr + b.size, b.end) all 0xfb
 *   quarantined block q:  [q.base, min(q.end, q.ptr + maxFillBytes)) all 0xfd
 *   liveBytes = Σ size over live blocks;  quarantine.bytes = Σ (end - base) over quarantined blocks
 *   shadow[b.ptr / 8] = slot(b) + 1 for every live, quarantined and remembered block
 *
 * This mode trades speed for answers: it is meant to be a few times slower than the plain heap
 * (ASan is ~2x; here about 4-5x with the defaults, see bench/debug.ts).
 */
import type { Allocator, AllocatorStats, BlockInfo } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { HeapCorruptionError, InvalidSizeError } from "../errors.js";
import { Heap } from "../heap/heap.js";
import { MAX_STORE_BYTES, type ByteStore } from "../memory/store.js";
import {
  type BlockStory, BufferOverflowError, DebugDoubleFreeError, DebugInvalidFreeError, FOUND_BYTES_SHOWN,
  UseAfterFreeError,
} from "./errors.js";
import { type HeapSnapshot, LeakReport, type LiveBlockRecord } from "./leaks.js";
import { Quarantine } from "./quarantine.js";
import { NO_SITE, type Site, SiteTable } from "./sites.js";

/** Byte before each block (ASan's heap left red zone shadow code). */
export const LEFT_CANARY = 0xfa;
/** Byte after each block, through the slack (heap right red zone). */
export const RIGHT_CANARY = 0xfb;
/** Byte over freed memory (freed heap region). */
export const FREED_POISON = 0xfd;
/** Byte over fresh user memory, so that reads of uninitialized memory stand out. */
export const ALLOC_FILL = 0xbe;

/** The largest alignment the wrapper accepts (the inner allocator may accept less). */
export const MAX_ALIGN = 65536;

export interface DebugHeapOptions {
  /** Bytes of red zone before (rounded up to the alignment) and at least after each block. @defaultValue 16 */
  redZoneBytes?: number;
  /**
   * Freed bytes (red zones included) held poisoned before reuse; 0 releases at once. Bigger
   * catches older stale pointers but costs more: the poison of a block leaving quarantine is read
   * back from memory that has gone cold (see bench/debug.ts). @defaultValue 256 KiB
   */
  quarantineBytes?: number;
  /** Freed blocks remembered after leaving quarantine, to explain a late double free. @defaultValue 65536 */
  historyBlocks?: number;
  /** Capture a stack trace on every malloc, realloc and free (costly: several µs each). @defaultValue false */
  captureStacks?: boolean;
  /** Frames kept per stack. @defaultValue 12 */
  stackDepth?: number;
  /** Byte written over fresh user memory; null leaves it as the inner allocator returns it. @defaultValue 0xbe */
  allocFill?: number | null;
  /**
   * The most user bytes of a block that are filled on malloc and poisoned (then verified) on
   * free; a write after free beyond them goes unseen. Red zones are always whole. Like ASan's
   * `max_malloc_fill_size`, this keeps big blocks from costing a pass over all their bytes.
   * Infinity poisons whole blocks. @defaultValue 1024
   */
  maxFillBytes?: number;
  /** Largest blocks listed per site in leak reports. @defaultValue 8 */
  maxBlocksPerSite?: number;
}

export const DEFAULT_RED_ZONE_BYTES = 16;
if (new Set([LEFT_CANARY, RIGHT_CANARY, FREED_POISON, ALLOC_FILL]).size !== 4) {
  throw new Error("debug heap: the canaries, the poison and the fill must be distinct bytes");
}
export const DEFAULT_QUARANTINE_BYTES = 256 << 10;
export const DEFAULT_HISTORY_BLOCKS = 65536;
export const DEFAULT_MAX_FILL_BYTES = 1024;

/** A block as `describe()` reports it. */
export type BlockDescription = BlockStory & { state: "live" | "quarantined" | "released" };

/** Stats in the user's view (live bytes = requested bytes), plus what checking costs. */
export interface DebugHeapStats extends AllocatorStats {
  /** Red zone and slack bytes around live blocks. */
  redZoneBytes: number;
  quarantinedBlocks: number;
  /** Bytes held in quarantine, red zones included. */
  quarantinedBytes: number;
}

// Slot states and flags.
const LIVE = 1;
const QUARANTINED = 2;
const RELEASED = 3;
const ALLOCATED_BY_REALLOC = 1;
const FREED_BY_REALLOC = 2;

/**
 * Per-block records, one 64-byte row (a cache line) per slot, so that the fields one call
 * touches sit together; freed slots are recycled. Offsets and sizes fit in 32 bits
 * (MAX_STORE_BYTES < 2^32); sequence numbers are doubles.
 *
 *   u32 word  0 ptr   1 size   2 base   3 end   4 allocSite (i32)   5 freeSite (i32)   7 liveIndex
 *   byte     24 state   25 alignLog   26 flags
 *   f64       4 allocSeq   5 birthSeq   6 freeSeq
 */
const ROW_BYTES = 64;
const ROW_WORDS = ROW_BYTES / 4;
const ROW_DOUBLES = ROW_BYTES / 8;

class BlockTable {
  private u32 = new Uint32Array(0);
  private i32 = new Int32Array(0);
  private u8 = new Uint8Array(0);
  private f64 = new Float64Array(0);
  private capacity = 0;
  private spare: number[] = [];
  private used = 0;

  add(): number {
    const reused = this.spare.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow(Math.max(256, this.capacity * 2));
    return this.used++;
  }

  release(slot: number): void {
    this.setState(slot, 0);
    this.spare.push(slot);
  }

  ptr(s: number): number { return this.u32[s * ROW_WORDS]!; }
  size(s: number): number { return this.u32[s * ROW_WORDS + 1]!; }
  base(s: number): number { return this.u32[s * ROW_WORDS + 2]!; }
  end(s: number): number { return this.u32[s * ROW_WORDS + 3]!; }
  allocSite(s: number): number { return this.i32[s * ROW_WORDS + 4]!; }
  freeSite(s: number): number { return this.i32[s * ROW_WORDS + 5]!; }
  liveIndex(s: number): number { return this.u32[s * ROW_WORDS + 7]!; }
  state(s: number): number { return this.u8[s * ROW_BYTES + 24]!; }
  alignLog(s: number): number { return this.u8[s * ROW_BYTES + 25]!; }
  flags(s: number): number { return this.u8[s * ROW_BYTES + 26]!; }
  allocSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 4]!; }
  birthSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 5]!; }
  freeSeq(s: number): number { return this.f64[s * ROW_DOUBLES + 6]!; }

  setPtr(s: number, v: number): void { this.u32[s * ROW_WORDS] = v; }
  setSize(s: number, v: number): void { this.u32[s * ROW_WORDS + 1] = v; }
  setBase(s: number, v: number): void { this.u32[s * ROW_WORDS + 2] = v; }
  setEnd(s: number, v: number): void { this.u32[s * ROW_WORDS + 3] = v; }
  setAllocSite(s: number, v: number): void { this.i32[s * ROW_WORDS + 4] = v; }
  setFreeSite(s: number, v: number): void { this.i32[s * ROW_WORDS + 5] = v; }
  setLiveIndex(s: number, v: number): void { this.u32[s * ROW_WORDS + 7] = v; }
  setState(s: number, v: number): void { this.u8[s * ROW_BYTES + 24] = v; }
  setAlignLog(s: number, v: number): void { this.u8[s * ROW_BYTES + 25] = v; }
  setFlags(s: number, v: number): void { this.u8[s * ROW_BYTES + 26] = v; }
  setAllocSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 4] = v; }
  setBirthSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 5] = v; }
  setFreeSeq(s: number, v: number): void { this.f64[s * ROW_DOUBLES + 6] = v; }

  private grow(capacity: number): void {
    const bytes = new ArrayBuffer(capacity * ROW_BYTES);
    new Uint8Array(bytes).set(this.u8);
    this.u32 = new Uint32Array(bytes);
    this.i32 = new Int32Array(bytes);
    this.u8 = new Uint8Array(bytes);
    this.f64 = new Float64Array(bytes);
    this.capacity = capacity;
  }
}

export class DebugHeap implements Allocator {
  readonly name: string;
  readonly inner: Allocator;
  readonly redZoneBytes: number;
  readonly historyBlocks: number;
  readonly allocFill: number | null;
  readonly maxFillBytes: number;
  readonly maxBlocksPerSite: number;

  private readonly sites: SiteTable;
  private readonly table = new BlockTable();
  /** Shadow: entry ptr / 8 holds slot + 1 of the live or freed block whose user offset is ptr (0: none). */
  private shadow: Int32Array = new Int32Array(1024);
  /** Slots of the live blocks, densely (order changes on removal); `liveIndex` is the way back. */
  private liveSlots: Int32Array = new Int32Array(256);
  private liveCount = 0;
  private readonly quarantine: Quarantine;
  /** Released blocks still in `freed`, oldest first (a FIFO used as a plain ring). */
  private readonly history = new Quarantine(Infinity);
  private seq = 0;
  private liveBytes = 0;
  private liveSpanBytes = 0;
  private peakLiveBytes = 0;
  private mallocCount = 0;
  private freeCount = 0;

  constructor(inner?: Allocator, options: DebugHeapOptions = {}) {
    this.inner = inner ?? new Heap();
    this.name = `debug(${this.inner.name})`;
    this.redZoneBytes = option("redZoneBytes", options.redZoneBytes, DEFAULT_RED_ZONE_BYTES, 1, 1 << 20);
    this.historyBlocks = option("historyBlocks", options.historyBlocks, DEFAULT_HISTORY_BLOCKS, 0, 2 ** 31);
    this.quarantine = new Quarantine(option("quarantineBytes", options.quarantineBytes, DEFAULT_QUARANTINE_BYTES, 0, MAX_STORE_BYTES));
    this.maxBlocksPerSite = option("maxBlocksPerSite", options.maxBlocksPerSite, 8, 0, 2 ** 31);
    const fill = options.allocFill === undefined ? ALLOC_FILL : options.allocFill;
    if (fill !== null) option("allocFill", fill, 0, 0, 255);
    this.allocFill = fill;
    const maxFill = options.maxFillBytes ?? DEFAULT_MAX_FILL_BYTES;
    this.maxFillBytes = maxFill === Infinity ? MAX_STORE_BYTES : option("maxFillBytes", maxFill, 0, 0, MAX_STORE_BYTES);
    this.sites = new SiteTable(options.captureStacks ?? false, option("stackDepth", options.stackDepth, 12, 1, 200));
  }

  get store(): ByteStore {
    return this.inner.store;
  }

  /** Capture a stack on every call from now on (or stop). */
  get captureStacks(): boolean {
    return this.sites.captureStacks;
  }

  set captureStacks(on: boolean) {
    this.sites.captureStacks = on;
  }

  /** Runs `fn` with every allocation and free inside it labelled `tag` (cheap; nests). */
  withSite<T>(tag: string, fn: () => T): T {
    const outer = this.sites.tag;
    this.sites.tag = tag;
    try {
      return fn();
    } finally {
      this.sites.tag = outer;
    }
  }

  malloc(size: number, align = 8): number {
    checkSize(size, MAX_STORE_BYTES);
    checkAlign(align, MAX_ALIGN);
    const seq = ++this.seq;
    const site = this.sites.capture(this.malloc);
    const ptr = this.allocate(size, align, seq, site, 0, seq);
    if (ptr !== 0) this.mallocCount++;
    return ptr;
  }

  /** Frees a live block (checking its red zones); `free(0)` does nothing, as in C. */
  free(ptr: number): void {
    if (ptr === 0) return;
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.badPointer(ptr, "free");
    this.verifyRedZones(slot);
    const seq = ++this.seq;
    this.retire(slot, seq, this.sites.capture(this.free), 0);
    this.freeCount++;
    this.drain();
  }

  /** Always moves the block (as ASan does), so stale pointers to the old place get caught. `realloc(0, n)` is `malloc(n)`. */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.badPointer(ptr, "realloc");
    checkSize(size, MAX_STORE_BYTES);
    this.verifyRedZones(slot);
    const seq = ++this.seq;
    const site = this.sites.capture(this.realloc);
    const t = this.table;
    const oldSize = t.size(slot);
    const moved = this.allocate(size, 2 ** t.alignLog(slot), seq, site, ALLOCATED_BY_REALLOC, t.birthSeq(slot));
    if (moved === 0) return 0;
    this.store.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, size));
    this.retire(slot, seq, site, FREED_BY_REALLOC);
    this.drain();
    return moved;
  }

  /** Exactly the requested size: the byte after it is red zone. */
  usableSize(ptr: number): number {
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.badPointer(ptr, "usableSize");
    return this.table.size(slot);
  }

  /** Verifies every live block's red zones and every quarantined block's poison, then the inner heap. */
  check(): void {
    const t = this.table;
    let liveBytes = 0;
    for (let i = 0; i < this.liveCount; i++) {
      const slot = this.liveSlots[i]!;
      this.verifyRedZones(slot);
      liveBytes += t.size(slot);
      if (t.state(slot) !== LIVE || this.slotOf(t.ptr(slot)) !== slot || t.liveIndex(slot) !== i) {
        throw new HeapCorruptionError(`debug heap: the records of live block ${t.ptr(slot)} disagree`, t.ptr(slot));
      }
    }
    let quarantinedBytes = 0;
    for (const [slot, , bytes] of this.quarantine.entries()) {
      const error = this.verifyPoison(slot, "check");
      if (error !== undefined) throw error;
      quarantinedBytes += bytes;
      if (t.state(slot) !== QUARANTINED || bytes !== t.end(slot) - t.base(slot)) {
        throw new HeapCorruptionError(`debug heap: the records of quarantined block ${t.ptr(slot)} disagree`, t.ptr(slot));
      }
    }
    if (liveBytes !== this.liveBytes || quarantinedBytes !== this.quarantine.bytes) {
      throw new HeapCorruptionError(`debug heap: counted ${liveBytes} live and ${quarantinedBytes} quarantined bytes, ` +
        `the gauges say ${this.liveBytes} and ${this.quarantine.bytes}`);
    }
    this.inner.check();
  }

  stats(): DebugHeapStats {
    const s = this.inner.stats();
    return {
      ...s,
      liveBlocks: this.liveCount,
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peakLiveBytes,
      internalFragmentationBytes: 0,
      mallocCount: this.mallocCount,
      freeCount: this.freeCount,
      redZoneBytes: this.liveSpanBytes - this.liveBytes,
      quarantinedBlocks: this.quarantine.count,
      quarantinedBytes: this.quarantine.bytes,
    };
  }

  /**
   * The inner allocator's blocks in the user's view: a live block reports its user offset; a
   * quarantined one is "meta" (held by the checker: neither the user's nor free to reuse).
   */
  *walk(): IterableIterator<BlockInfo> {
    const byBase = new Map<number, number>();
    for (let i = 0; i < this.liveCount; i++) byBase.set(this.table.base(this.liveSlots[i]!), this.liveSlots[i]!);
    for (const [slot] of this.quarantine.entries()) byBase.set(this.table.base(slot), slot);
    for (const block of this.inner.walk()) {
      const slot = block.state === "used" ? byBase.get(block.offset) : undefined;
      if (slot === undefined) yield block;
      else if (this.table.state(slot) === LIVE) yield { offset: this.table.ptr(slot), sizeBytes: block.sizeBytes, state: "used" };
      else yield { offset: block.offset, sizeBytes: block.sizeBytes, state: "meta" };
    }
  }

  /** Releases every quarantined block (checking its poison) to the inner allocator. */
  flushQuarantine(): void {
    while (this.quarantine.count > 0) this.releaseOldest();
  }

  /** The live blocks grouped by allocation site, largest group first. */
  leaks(): LeakReport {
    return this.report(-1, undefined);
  }

  /** A point to diff against: `leaksSince(snapshot)` lists what was allocated after it and is still live. */
  snapshot(): HeapSnapshot {
    return Object.freeze({ seq: this.seq, liveBlocks: this.liveCount, liveBytes: this.liveBytes });
  }

  /**
   * Blocks first allocated after `snapshot` and still live: what a request left behind. A block
   * that existed before and was only realloc'ed since does not count.
   */
  leaksSince(snapshot: HeapSnapshot): LeakReport {
    return this.report(snapshot.seq, snapshot);
  }

  /**
   * What the heap knows about `offset` (like ASan's address description): the live block whose
   * span (red zones included) holds it, else the quarantined one, else a released block that
   * started there. Linear in the number of blocks: for errors and tools, not for hot loops.
   */
  describe(offset: number): BlockDescription | undefined {
    const live = this.liveBlockAround(offset);
    if (live !== undefined) return { ...this.story(live), state: "live" };
    const t = this.table;
    for (const [slot] of this.quarantine.entries()) {
      if (t.base(slot) <= offset && offset < t.end(slot)) return { ...this.freedStory(slot), state: "quarantined" };
    }
    const freed = this.slotOf(offset);
    if (freed >= 0) return { ...this.freedStory(freed), state: t.state(freed) === QUARANTINED ? "quarantined" : "released" };
    return undefined;
  }

  // --- internals -------------------------------------------------------------------------

  /** The slot of the live or freed block whose user offset is `ptr`, or -1. */
  private slotOf(ptr: number): number {
    if (!((ptr >>> 0) === ptr && (ptr & 7) === 0)) return -1;
    const i = ptr >>> 3;
    return i < this.shadow.length ? this.shadow[i]! - 1 : -1;
  }

  private liveSlotOf(ptr: number): number {
    const slot = this.slotOf(ptr);
    return slot >= 0 && this.table.state(slot) === LIVE ? slot : -1;
  }

  private setShadow(ptr: number, value: number): void {
    const i = ptr >>> 3;
    if (i >= this.shadow.length) this.shadow = grownInt32(this.shadow, Math.max(i + 1, this.shadow.length * 2));
    this.shadow[i] = value;
  }

  /** Allocates and records a block; 0 when the inner allocator has no memory. */
  private allocate(size: number, align: number, seq: number, site: number, flags: number, birth: number): number {
    const innerAlign = align > 8 ? align : 8;
    const left = Math.ceil(this.redZoneBytes / innerAlign) * innerAlign;
    const request = left + size + this.redZoneBytes;
    let base = this.inner.malloc(request, innerAlign);
    if (base === 0 && this.quarantine.count > 0) {
      this.flushQuarantine();
      base = this.inner.malloc(request, innerAlign);
    }
    if (base === 0) return 0;
    const ptr = base + left;
    const end = base + this.inner.usableSize(base);
    const { u8, f64 } = this.inner.store;
    fill(u8, f64, base, ptr, LEFT_CANARY);
    if (this.allocFill !== null) fill(u8, f64, ptr, ptr + Math.min(size, this.maxFillBytes), this.allocFill);
    fill(u8, f64, ptr + size, end, RIGHT_CANARY);

    // A released block that started here is forgotten: a free of this offset is legal again.
    const stale = this.slotOf(ptr);
    if (stale >= 0) this.table.release(stale);
    const t = this.table;
    const slot = t.add(); // may replace the columns: read them through t after this
    t.setPtr(slot, ptr);
    t.setSize(slot, size);
    t.setBase(slot, base);
    t.setEnd(slot, end);
    t.setAlignLog(slot, 31 - Math.clz32(align));
    t.setState(slot, LIVE);
    t.setFlags(slot, flags);
    t.setAllocSite(slot, site);
    t.setFreeSite(slot, NO_SITE);
    t.setAllocSeq(slot, seq);
    t.setBirthSeq(slot, birth);
    t.setFreeSeq(slot, 0);
    this.setShadow(ptr, slot + 1);
    if (this.liveCount === this.liveSlots.length) this.liveSlots = grownInt32(this.liveSlots, this.liveCount * 2);
    t.setLiveIndex(slot, this.liveCount);
    this.liveSlots[this.liveCount++] = slot;
    this.liveBytes += size;
    this.liveSpanBytes += end - base;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    return ptr;
  }

  /** Moves a live block to quarantine, poisoned. */
  private retire(slot: number, seq: number, site: number, flags: number): void {
    const t = this.table;
    const base = t.base(slot);
    const end = t.end(slot);
    const last = this.liveSlots[--this.liveCount]!;
    const index = t.liveIndex(slot);
    this.liveSlots[index] = last;
    t.setLiveIndex(last, index);
    this.liveBytes -= t.size(slot);
    this.liveSpanBytes -= end - base;
    t.setState(slot, QUARANTINED);
    t.setFlags(slot, t.flags(slot) | flags);
    t.setFreeSeq(slot, seq);
    t.setFreeSite(slot, site);
    const { u8, f64 } = this.inner.store;
    fill(u8, f64, base, this.poisonEnd(t.ptr(slot), end), FREED_POISON);
    this.quarantine.push(slot, 0, end - base);
  }

  /** Where the poison of a freed block ends: its span, or `maxFillBytes` past its user offset. */
  private poisonEnd(ptr: number, end: number): number {
    const cap = ptr + this.maxFillBytes;
    return cap < end ? cap : end;
  }

  /** Releases the oldest quarantined blocks while the quarantine is over its budget. */
  private drain(): void {
    while (this.quarantine.overBudget) this.releaseOldest();
  }

  /**
   * Checks the oldest quarantined block's poison and gives its memory back. A changed byte is a
   * write after free: the memory is released all the same (the damage is inside the block), and
   * the error is thrown after, so the heap stays consistent.
   */
  private releaseOldest(): void {
    const slot = this.quarantine.shift();
    // Without a quarantine the block was poisoned a moment ago in this same call: nothing to verify.
    const error = this.quarantine.limitBytes === 0 ? undefined : this.verifyPoison(slot, "quarantine");
    const t = this.table;
    this.inner.free(t.base(slot));
    t.setState(slot, RELEASED);
    this.remember(t.ptr(slot), slot);
    if (error !== undefined) throw error;
  }

  /**
   * Keeps at most `historyBlocks` released blocks in `freed`, oldest forgotten first. The order
   * is kept in a ring of (offset, slot) pairs: an entry whose slot no longer is that offset's
   * released record (it came back to life, or was replaced) is skipped.
   */
  private remember(ptr: number, slot: number): void {
    this.history.push(ptr, slot, 0);
    while (this.history.count > this.historyBlocks) {
      const oldPtr = this.history.shift();
      const oldSlot = this.history.lastAux;
      if (this.shadow[oldPtr >>> 3] === oldSlot + 1 && this.table.state(oldSlot) === RELEASED) {
        this.shadow[oldPtr >>> 3] = 0;
        this.table.release(oldSlot);
      }
    }
  }

  /** Throws BufferOverflowError for the corrupted red zone byte nearest the block. */
  private verifyRedZones(slot: number): void {
    const t = this.table;
    const { u8, f64 } = this.inner.store;
    const ptr = t.ptr(slot);
    const after = ptr + t.size(slot);
    const end = t.end(slot);
    const bad = mismatch(u8, f64, after, end, RIGHT_CANARY);
    if (bad >= 0) {
      throw new BufferOverflowError(this.story(slot), bad, u8[bad]!, RIGHT_CANARY, run(u8, bad, end, RIGHT_CANARY));
    }
    const base = t.base(slot);
    const badLeft = mismatch(u8, f64, base, ptr, LEFT_CANARY) < 0 ? -1 : lastMismatch(u8, base, ptr, LEFT_CANARY);
    if (badLeft >= 0) {
      throw new BufferOverflowError(this.story(slot), badLeft, u8[badLeft]!, LEFT_CANARY, runBackward(u8, base, badLeft, LEFT_CANARY));
    }
  }

  private verifyPoison(slot: number, detectedBy: "quarantine" | "check"): UseAfterFreeError | undefined {
    const t = this.table;
    const { u8, f64 } = this.inner.store;
    const end = t.end(slot);
    const poisoned = this.poisonEnd(t.ptr(slot), end);
    const bad = mismatch(u8, f64, t.base(slot), poisoned, FREED_POISON);
    if (bad < 0) return undefined;
    return new UseAfterFreeError(this.freedStory(slot), "write", bad, u8[bad]!, FREED_POISON, run(u8, bad, poisoned, FREED_POISON), detectedBy);
  }

  /** The error for free/realloc/usableSize of something that is not a live block. */
  private badPointer(ptr: number, operation: "free" | "realloc" | "usableSize"): Error {
    const freedSlot = this.slotOf(ptr);
    if (freedSlot >= 0) {
      if (operation === "free") {
        const cover = this.liveBlockAround(ptr);
        return new DebugDoubleFreeError(this.freedStory(freedSlot), cover === undefined ? undefined : this.story(cover));
      }
      return new UseAfterFreeError(this.freedStory(freedSlot), operation, ptr);
    }
    if (typeof ptr !== "number" || !Number.isInteger(ptr)) return new DebugInvalidFreeError(ptr, operation, "unknown");
    const slot = this.liveBlockAround(ptr);
    if (slot !== undefined) {
      const t = this.table;
      const start = t.ptr(slot);
      const place = ptr < start ? "left-red-zone" : ptr < start + t.size(slot) ? "interior" : "right-red-zone";
      return new DebugInvalidFreeError(ptr, operation, place, this.story(slot));
    }
    for (const [q] of this.quarantine.entries()) {
      if (this.table.base(q) <= ptr && ptr < this.table.end(q)) {
        return new DebugInvalidFreeError(ptr, operation, "freed-block", this.freedStory(q));
      }
    }
    return new DebugInvalidFreeError(ptr, operation, "unknown");
  }

  /** The live block whose span [base, end) holds `offset` (a linear scan: error paths only). */
  private liveBlockAround(offset: number): number | undefined {
    const t = this.table;
    for (let i = 0; i < this.liveCount; i++) {
      const slot = this.liveSlots[i]!;
      if (t.base(slot) <= offset && offset < t.end(slot)) return slot;
    }
    return undefined;
  }

  private allocSiteOf(slot: number): Site {
    const t = this.table;
    const op = t.flags(slot) & ALLOCATED_BY_REALLOC ? "realloc" : "malloc";
    return this.sites.site(op, t.allocSeq(slot), t.allocSite(slot));
  }

  private story(slot: number): BlockStory {
    const t = this.table;
    return { ptr: t.ptr(slot), size: t.size(slot), allocSite: this.allocSiteOf(slot) };
  }

  private freedStory(slot: number): BlockStory & { freeSite: Site } {
    const t = this.table;
    const op = t.flags(slot) & FREED_BY_REALLOC ? "realloc" : "free";
    return { ...this.story(slot), freeSite: this.sites.site(op, t.freeSeq(slot), t.freeSite(slot)) };
  }

  private report(afterSeq: number, since: HeapSnapshot | undefined): LeakReport {
    const t = this.table;
    const records: LiveBlockRecord[] = [];
    for (let i = 0; i < this.liveCount; i++) {
      const slot = this.liveSlots[i]!;
      const ptr = t.ptr(slot);
      if (t.birthSeq(slot) > afterSeq) records.push({ offset: ptr, size: t.size(slot), seq: t.birthSeq(slot), siteId: t.allocSite(slot) });
    }
    const sites = this.sites;
    const describe = (id: number) => {
      const d: { stack?: string; tag?: string } = {};
      const stack = sites.stackOf(id);
      const tag = sites.tagOf(id);
      if (stack !== undefined) d.stack = stack;
      if (tag !== undefined) d.tag = tag;
      return d;
    };
    return LeakReport.build(records, describe, since, this.maxBlocksPerSite);
  }
}

function grownInt32(old: Int32Array, length: number): Int32Array {
  const bigger = new Int32Array(length);
  bigger.set(old);
  return bigger;
}

/** Validates a numeric option: an integer in [min, max], or the default when undefined. */
export function option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new InvalidSizeError(value, `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * WORD_OF[b] is the double whose eight bytes are all b, so that fills and checks go 8 bytes at a
 * time through the store's Float64Array. Exact for every b but 0x00 (0 and -0 compare equal) and
 * 0xff (a NaN, which a store may canonicalize): those two take the byte path.
 */
const WORD_OF = new Float64Array(256);
new Uint8Array(WORD_OF.buffer).forEach((_, i, bytes) => { bytes[i] = i >>> 3; });
const wordSafe = (byte: number): boolean => byte !== 0 && byte !== 0xff;

/** The first offset in [from, to) whose byte is not `byte`, or -1 (8 bytes at a time over the aligned middle). */
export function mismatch(u8: Uint8Array, f64: Float64Array, from: number, to: number, byte: number): number {
  let i = from;
  if (wordSafe(byte)) {
    const headEnd = Math.min(to, Math.ceil(i / 8) * 8);
    for (; i < headEnd; i++) if (u8[i] !== byte) return i;
    const word = WORD_OF[byte]!;
    const wordEnd = Math.floor(to / 8);
    for (let w = i / 8; w < wordEnd; w++) {
      if (f64[w] !== word) {
        for (let j = w * 8; ; j++) if (u8[j] !== byte) return j;
      }
    }
    if (wordEnd * 8 > i) i = wordEnd * 8;
  }
  for (; i < to; i++) if (u8[i] !== byte) return i;
  return -1;
}

/**
 * Fills [from, to) with `byte`: 8 bytes at a time over the aligned middle, bytes at the ragged
 * ends, and the built-in fill for long runs (calling it costs more than a short loop).
 */
export function fill(u8: Uint8Array, f64: Float64Array, from: number, to: number, byte: number): void {
  if (to - from >= 256 || !wordSafe(byte)) {
    u8.fill(byte, from, to);
    return;
  }
  let i = from;
  const headEnd = Math.min(to, Math.ceil(i / 8) * 8);
  for (; i < headEnd; i++) u8[i] = byte;
  const word = WORD_OF[byte]!;
  const wordEnd = Math.floor(to / 8);
  for (let w = i / 8; w < wordEnd; w++) f64[w] = word;
  if (wordEnd * 8 > i) i = wordEnd * 8;
  for (; i < to; i++) u8[i] = byte;
}

/** The last offset in [from, to) whose byte is not `byte`, or -1 (red zones are short). */
function lastMismatch(u8: Uint8Array, from: number, to: number, byte: number): number {
  for (let i = to - 1; i >= from; i--) if (u8[i] !== byte) return i;
  return -1;
}

/** Up to FOUND_BYTES_SHOWN bytes from `at`, stopping after the last changed byte. */
function run(u8: Uint8Array, at: number, to: number, byte: number): number[] {
  const stop = Math.min(to, at + FOUND_BYTES_SHOWN);
  let last = at;
  for (let i = at; i < stop; i++) if (u8[i] !== byte) last = i;
  return Array.from(u8.subarray(at, last + 1));
}

/** The same, going down from `at` (an underflow runs toward lower offsets), in address order. */
function runBackward(u8: Uint8Array, from: number, at: number, byte: number): number[] {
  const stop = Math.max(from, at - FOUND_BYTES_SHOWN + 1);
  let first = at;
  for (let i = at; i >= stop; i--) if (u8[i] !== byte) first = i;
  return Array.from(u8.subarray(first, at + 1)).reverse();
}

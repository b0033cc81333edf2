/**
 * DebugHeap: a checking wrapper around any allocator (AddressSanitizer's ideas, with canary bytes
 * in place of shadow memory). It catches the classic bugs of manual memory and names them with
 * the block, the offset, the bytes found and where the block was allocated and freed:
 *
 *   bug                                         caught                              error
 *   ------------------------------------------  ----------------------------------  ------------------------
 *   write before the start / past the end       on free, realloc and check()        BufferOverflowError
 *   write after free                            when it leaves quarantine, check()  UseAfterFreeError
 *   realloc / usableSize of a freed block       at the call                         DebugInvalidFreeError
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
 * On free the span's head [base, ptr + maxFillBytes) and tail [ptr + size - maxFillBytes, end)
 * are filled with the poison 0xfd (the whole span unless the block is big) and the block waits
 * in a quarantine bounded by bytes (quarantine.ts), the newest block always, however big; when
 * it leaves, every poisoned byte is checked to still be poison, then the span goes back to the
 * inner allocator. `check()` verifies every red zone and every quarantined span, then calls the
 * inner `check()`. realloc always moves the block (as ASan does), so a stale pointer to the old
 * place is caught like any use after free.
 *
 * What it cannot see: reads; a write of exactly the canary or poison value; a write after free
 * into the unpoisoned middle of a block over 2 * maxFillBytes, or after the block has left the
 * quarantine (with quarantineBytes 0 it leaves at once); a write that skips over a red zone into
 * another block.
 *
 * Errors change nothing: every argument is checked first, and the one inner call that may fail
 * (malloc) comes before any change. Releases to the inner allocator come after the call has
 * done its work; one that throws leaves its block queued, and the next call releases it first
 * (and throws, changing nothing, if it fails again).
 *
 * Bookkeeping lives JS-side, not in the store, so the inner allocator's layout is untouched: a
 * table of 64-byte rows indexed by slot (block-table.ts); a shadow array (ASan's shadow memory,
 * one Int32 per 8 store bytes) from user offset to slot, for live blocks and freed ones (those in
 * quarantine plus the last `historyBlocks` released, kept by released-history.ts, so a late
 * double free still has both stories), and a dense list of live slots (both in block-index.ts);
 * and the interned stack strings of sites.ts, which cannot live in the store at all. The fills
 * and checks of red zones and poison (ASan's shadow codes as byte values) are in canaries.ts; the
 * stories its errors and leak reports tell in descriptions.ts; the walk of check() over the
 * records in record-check.ts; the spans of walk() in user-spans.ts; the options, their defaults
 * and the stats in debug-options.ts.
 *
 * Invariants (checked by check(), then the inner allocator's own):
 *   live block b:         [b.base, b.ptr) all 0xfa;  [b.ptr + b.size, b.end) all 0xfb
 *   quarantined block q:  its poisoned head and tail (see poisonRuns) all 0xfd
 *   liveBytes = Σ size over live blocks;  quarantine.bytes = Σ (end - base) over quarantined blocks
 *   shadow[b.ptr / 8] = slot(b) + 1 for every live, quarantined and remembered block
 *
 * This mode trades speed for answers: it is meant to be a few times slower than the plain heap
 * (ASan is ~2x; here about 4-5x with the defaults, see bench/debug.ts).
 */
import type { Allocator, HeapSpan, SpanVisitor } from "../allocator.js";
import { checkAlign, checkSize } from "../allocators/validate.js";
import { Heap } from "../heap/heap.js";
import { MAX_STORE_BYTES, type ByteStore } from "../memory/store.js";
import { type SpanSink, walkSpans, walkSpansInto } from "../spans.js";
import { LiveSlots, Shadow } from "./block-index.js";
import { BlockFlag, BlockTable, SlotState } from "./block-table.js";
import { Canaries } from "./canaries.js";
import { debugHeapSettings, type DebugHeapOptions, type DebugHeapStats } from "./debug-options.js";
import { type BlockDescription, BlockDescriber } from "./descriptions.js";
import type { UseAfterFreeError } from "./errors.js";
import type { HeapSnapshot, LeakReport } from "./leaks.js";
import { MAX_ALIGN, wrapperArguments } from "./options.js";
import { Quarantine } from "./quarantine.js";
import { checkRecords } from "./record-check.js";
import { ReleasedHistory } from "./released-history.js";
import { NO_SITE, SiteTable } from "./sites.js";
import { relayUserSpans } from "./user-spans.js";

export type { DebugHeapOptions, DebugHeapStats } from "./debug-options.js";
export type { BlockDescription } from "./descriptions.js";
export { ALLOC_FILL, FREED_POISON, LEFT_CANARY, RIGHT_CANARY } from "./canaries.js";

/**
 * A checking wrapper around any allocator: red zones, poisoned quarantine, double and invalid
 * free detection with where each block was allocated and freed, and leak reports.
 *
 * @example
 * ```ts
 * import { DebugHeap } from "heapkit";
 * const heap = new DebugHeap({ captureStacks: true }); // over a new Heap; or new DebugHeap(inner, options)
 * const p = heap.malloc(24);
 * heap.u8[p] = 1;
 * console.log(String(heap.leaks())); // "24 bytes in 1 block live, from 1 site ..."
 * heap.free(p);
 * heap.check();
 * ```
 */
export class DebugHeap implements Allocator {
  readonly name: string;
  readonly inner: Allocator;
  readonly redZoneBytes: number;
  readonly historyBlocks: number;
  readonly allocFill: number | null;
  readonly maxFillBytes: number;
  readonly maxBlocksPerSite: number;

  private readonly sites: SiteTable;
  private readonly descriptions: BlockDescriber;
  private readonly canaries: Canaries;
  private readonly table = new BlockTable();
  /** User offset -> slot, for live blocks and freed ones still remembered. */
  private readonly shadow = new Shadow();
  private readonly live = new LiveSlots(this.table);
  private readonly quarantine: Quarantine;
  /** Released blocks still in the shadow. */
  private readonly history: ReleasedHistory;
  private seq = 0;
  private liveBytes = 0;
  private liveSpanBytes = 0;
  private peakLiveBytes = 0;
  private mallocCount = 0;
  private freeCount = 0;
  /** A release to the inner allocator threw: its block is still queued, to go first next call. */
  private releaseFailed = false;

  /** `new DebugHeap(options?)` (over `options.inner`, a new Heap by default) or `new DebugHeap(inner, options?)`. */
  constructor(innerOrOptions?: Allocator | DebugHeapOptions, moreOptions?: DebugHeapOptions) {
    const { inner, options } = wrapperArguments("DebugHeap", innerOrOptions, moreOptions);
    this.inner = inner ?? new Heap();
    this.name = `debug(${this.inner.name})`;
    const settings = debugHeapSettings(options);
    this.redZoneBytes = settings.redZoneBytes;
    this.historyBlocks = settings.historyBlocks;
    this.history = new ReleasedHistory(this.table, this.shadow, this.historyBlocks);
    this.quarantine = new Quarantine(settings.quarantineBytes);
    this.maxBlocksPerSite = settings.maxBlocksPerSite;
    this.allocFill = settings.allocFill;
    this.maxFillBytes = settings.maxFillBytes;
    this.sites = new SiteTable(settings.captureStacks, settings.stackDepth);
    this.descriptions = new BlockDescriber(this.table, this.shadow, this.live, this.quarantine, this.sites);
    this.canaries = new Canaries(this.table, this.descriptions, () => this.inner.store, this.maxFillBytes);
  }

  get store(): ByteStore {
    return this.inner.store;
  }

  /** The store's views, as on `Heap`; re-read them after any call that may grow the heap. */
  get u8(): Uint8Array { return this.store.u8; }
  get u32(): Uint32Array { return this.store.u32; }
  get i32(): Int32Array { return this.store.i32; }
  get f64(): Float64Array { return this.store.f64; }

  /** Capture a stack on every call from now on (or stop). */
  get captureStacks(): boolean { return this.sites.captureStacks; }

  set captureStacks(on: boolean) { this.sites.captureStacks = on; }

  /** Runs `fn` with every allocation and free inside it labelled `tag` (cheap; nests). */
  withSite<T>(tag: string, fn: () => T): T {
    return this.sites.withTag(tag, fn);
  }

  malloc(size: number, align = 8): number {
    checkSize(size, MAX_STORE_BYTES);
    checkAlign(align, MAX_ALIGN);
    if (this.releaseFailed) this.release(false);
    const seq = this.seq + 1;
    const ptr = this.allocate(size, align, seq, this.sites.capture(this.malloc), 0, seq);
    if (ptr === 0) return 0;
    this.seq = seq;
    this.mallocCount++;
    return ptr;
  }

  /** Frees a live block (checking its red zones); `free(0)` does nothing, as in C. */
  free(ptr: number): void {
    if (ptr === 0) return;
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.descriptions.badPointer(ptr, "free");
    this.canaries.verifyRedZones(slot);
    if (this.releaseFailed) this.release(false);
    const seq = ++this.seq;
    this.retire(slot, seq, this.sites.capture(this.free), 0);
    this.freeCount++;
    this.release(true);
  }

  /** Always moves the block (as ASan does), so stale pointers to the old place get caught. `realloc(0, n)` is `malloc(n)`. */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.descriptions.badPointer(ptr, "realloc");
    checkSize(size, MAX_STORE_BYTES);
    this.canaries.verifyRedZones(slot);
    if (this.releaseFailed) this.release(false);
    const seq = this.seq + 1;
    const site = this.sites.capture(this.realloc);
    const t = this.table;
    const oldSize = t.size(slot);
    const moved = this.allocate(size, 2 ** t.alignLog(slot), seq, site, BlockFlag.ALLOCATED_BY_REALLOC, t.birthSeq(slot));
    if (moved === 0) return 0;
    this.seq = seq;
    this.store.u8.copyWithin(moved, ptr, ptr + Math.min(oldSize, size));
    this.retire(slot, seq, site, BlockFlag.FREED_BY_REALLOC);
    this.release(true);
    return moved;
  }

  /** Exactly the requested size: the byte after it is red zone. */
  usableSize(ptr: number): number {
    const slot = this.liveSlotOf(ptr);
    if (slot < 0) throw this.descriptions.badPointer(ptr, "usableSize");
    return this.table.size(slot);
  }

  /** Verifies every live block's red zones and every quarantined block's poison, then the inner heap. */
  check(): void {
    checkRecords(this.table, this.shadow, this.live, this.quarantine, this.canaries, this.liveBytes);
    this.inner.check();
  }

  stats(): DebugHeapStats {
    const s = this.inner.stats();
    return {
      ...s,
      liveBlocks: this.live.count,
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

  /** The inner allocator's spans in the user's view: red zones as meta, quarantined blocks free (user-spans.ts). */
  walk(start?: number, end?: number): IterableIterator<HeapSpan> {
    return walkSpans(this, start, end);
  }

  walkInto(visit: SpanVisitor, start?: number, end?: number): number {
    return walkSpansInto(this, visit, start, end);
  }

  writeSpans(sink: SpanSink): void {
    relayUserSpans(sink, this.inner, this.table, this.shadow, this.redZoneBytes);
  }

  /**
   * Releases every quarantined block to the inner allocator, then throws the first write after
   * free their poison showed, if any.
   */
  flushQuarantine(): void {
    let found: UseAfterFreeError | undefined;
    while (this.quarantine.count > 0) {
      const changed = this.releaseOldest(); // every one is released, the first change reported
      found ??= changed;
    }
    if (found !== undefined) throw found;
  }

  /** The live blocks grouped by allocation site, largest group first. */
  leaks(): LeakReport {
    return this.descriptions.leaks(-1, undefined, this.maxBlocksPerSite);
  }

  /** A point to diff against: `leaksSince(snapshot)` lists what was allocated after it and is still live. */
  snapshot(): HeapSnapshot {
    return Object.freeze({ seq: this.seq, liveBlocks: this.live.count, liveBytes: this.liveBytes });
  }

  /**
   * Blocks first allocated after `snapshot` and still live: what a request left behind. A block
   * that existed before and was only realloc'ed since does not count.
   */
  leaksSince(snapshot: HeapSnapshot): LeakReport {
    return this.descriptions.leaks(snapshot.seq, snapshot, this.maxBlocksPerSite);
  }

  /**
   * What the heap knows about `offset` (like ASan's address description): the live block whose
   * span (red zones included) holds it, else the quarantined one, else a released block that
   * started there. Linear in the number of blocks: for errors and tools, not for hot loops.
   */
  describe(offset: number): BlockDescription | undefined {
    return this.descriptions.describe(offset);
  }

  // --- internals -------------------------------------------------------------------------

  /** The slot of the live block whose user offset is `ptr`, or -1. */
  private liveSlotOf(ptr: number): number {
    const slot = this.shadow.slotOf(ptr);
    return slot >= 0 && this.table.state(slot) === SlotState.LIVE ? slot : -1;
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
    this.canaries.guard(base, ptr, size, end, this.allocFill);

    // A released block that started here is forgotten: a free of this offset is legal again.
    const stale = this.shadow.slotOf(ptr);
    if (stale >= 0) this.table.release(stale);
    const t = this.table;
    const slot = t.add(); // may replace the columns: read them through t after this
    t.setPtr(slot, ptr);
    t.setSize(slot, size);
    t.setBase(slot, base);
    t.setEnd(slot, end);
    t.setAlignLog(slot, 31 - Math.clz32(align));
    t.setState(slot, SlotState.LIVE);
    t.setFlags(slot, flags);
    t.setAllocSite(slot, site);
    t.setFreeSite(slot, NO_SITE);
    t.setAllocSeq(slot, seq);
    t.setBirthSeq(slot, birth);
    t.setFreeSeq(slot, 0);
    this.shadow.set(ptr, slot);
    this.live.add(slot);
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
    this.live.remove(slot);
    this.liveBytes -= t.size(slot);
    this.liveSpanBytes -= end - base;
    t.setState(slot, SlotState.QUARANTINED);
    t.setFlags(slot, t.flags(slot) | flags);
    t.setFreeSeq(slot, seq);
    t.setFreeSite(slot, site);
    this.canaries.poison(slot);
    this.quarantine.push(slot, 0, end - base);
  }

  /**
   * Releases the oldest quarantined blocks while over budget, keeping the newest (so a block
   * bigger than the budget is checked too), then throws the first write after free found. After
   * the call's work (`deferred`) an inner throw leaves its block queued for the next call, which
   * releases it first (`deferred` false), before it changes anything.
   */
  private release(deferred: boolean): void {
    const keep = this.quarantine.limitBytes > 0 ? 1 : 0;
    let found: UseAfterFreeError | undefined;
    try {
      while (this.quarantine.overBudget && this.quarantine.count > keep) {
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

  /**
   * Gives the oldest quarantined block's memory back, then returns the write after free its
   * poison shows, if any (the damage is inside the block, so the heap stays consistent). The
   * inner free comes first: if it throws, the block stays queued and nothing changed.
   */
  private releaseOldest(): UseAfterFreeError | undefined {
    const slot = this.quarantine.peek();
    // Without a quarantine the block was poisoned a moment ago in this same call: nothing to verify.
    const error = this.quarantine.limitBytes === 0 ? undefined : this.canaries.verifyPoison(slot, "quarantine");
    const t = this.table;
    this.inner.free(t.base(slot));
    this.quarantine.shift();
    t.setState(slot, SlotState.RELEASED);
    this.history.remember(t.ptr(slot), slot);
    return error;
  }
}

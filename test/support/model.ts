/**
 * The reference model every allocator test runs beside the real thing: a map of live blocks
 * (offset -> size and pattern word) that knows nothing of layouts, and costs little per step.
 *
 *   on malloc     the block is aligned, new, inside the store, usable for its size; its pattern
 *                 is written word-wise (src/trace/pattern.ts)
 *   on free       the block's pattern is verified (an overlapping block or a bad copy broke it)
 *   on realloc    the old bytes are verified, then the kept bytes at the new place; the grown
 *                 part gets the pattern
 *   checkLaws()   (every step, if a test likes) check() and the stats laws, O(1) on the model's
 *                 side: no byte of a live block is read
 *   verifyAll()   (at the end) every live block's pattern, no two live blocks overlap, and the laws
 *
 * The laws, for every policy: liveBlocks and liveBytes equal the model's (the live bytes sum);
 * mallocCount - freeCount = liveBlocks; the counters and both peaks never go down; peaks are at
 * least the current values; extentBytes <= committedBytes <= reservedBytes; the free figures are
 * consistent (0 <= largestFree <= free bytes, 0 <= external fragmentation <= 1).
 */
import assert from "node:assert/strict";
import type { Allocator, AllocatorStats } from "../../src/allocator.js";
import { fillPattern, findPatternMismatch, patternWord } from "../../src/trace/pattern.js";

export { rng } from "../../src/util/random.js";

export interface LiveBlock {
  size: number;
  word: number;
}

/** A map of live blocks that keeps the sum of their sizes as blocks come and go (tests may delete directly). */
export class LiveBlocks extends Map<number, LiveBlock> {
  bytes = 0;

  override set(ptr: number, block: LiveBlock): this {
    this.bytes += block.size - (super.get(ptr)?.size ?? 0);
    return super.set(ptr, block);
  }

  override delete(ptr: number): boolean {
    this.bytes -= super.get(ptr)?.size ?? 0;
    return super.delete(ptr);
  }

  override clear(): void {
    this.bytes = 0;
    super.clear();
  }
}

type Gauges = Pick<AllocatorStats, "mallocCount" | "freeCount" | "peakLiveBytes" | "peakExtentBytes">;

export class ReferenceModel {
  readonly live = new LiveBlocks();
  private nextWord = 1;
  private last: Gauges = { mallocCount: 0, freeCount: 0, peakLiveBytes: 0, peakExtentBytes: 0 };

  constructor(readonly allocator: Allocator) {}

  /** malloc through the allocator; on success, records the block and writes its pattern. */
  malloc(size: number, align = 8): number {
    const ptr = this.allocator.malloc(size, align);
    if (ptr === 0) return 0;
    assert.equal(ptr % align, 0, `malloc(${size}, ${align}) returned unaligned ${ptr}`);
    assert.ok(!this.live.has(ptr), `malloc returned live block ${ptr} again`);
    assert.ok(this.allocator.usableSize(ptr) >= size, `usableSize(${ptr}) < ${size}`);
    assert.ok(ptr + size <= this.allocator.store.committedBytes, `block ${ptr}+${size} beyond the store`);
    const block = { size, word: patternWord(this.nextWord++) };
    this.live.set(ptr, block);
    fillPattern(this.allocator.store, ptr, 0, size, block.word);
    return ptr;
  }

  free(ptr: number): void {
    const block = this.live.get(ptr);
    assert.ok(block, `model: ${ptr} is not live`);
    this.verify(ptr, block.size, block, "before free");
    this.allocator.free(ptr);
    this.live.delete(ptr);
  }

  /** realloc; the first min(old, new) bytes must survive a move. */
  realloc(ptr: number, size: number): number {
    const block = this.live.get(ptr);
    assert.ok(block, `model: ${ptr} is not live`);
    this.verify(ptr, block.size, block, "before realloc");
    const moved = this.allocator.realloc(ptr, size);
    if (moved === 0) {
      this.verify(ptr, block.size, block, "after a failed realloc");
      return 0;
    }
    this.verify(moved, Math.min(size, block.size), block, "after realloc (the kept bytes)");
    this.live.delete(ptr);
    this.live.set(moved, { size, word: block.word });
    if (size > block.size) fillPattern(this.allocator.store, moved, block.size, size, block.word);
    return moved;
  }

  /** Any live block, picked by `r` in [0, 1). */
  pick(r: number): number | undefined {
    if (this.live.size === 0) return undefined;
    let i = Math.floor(r * this.live.size);
    for (const ptr of this.live.keys()) if (i-- === 0) return ptr;
    return undefined;
  }

  liveBytes(): number {
    return this.live.bytes;
  }

  /** The allocator's check() and the stats laws; reads no block's bytes. */
  checkLaws(): void {
    this.allocator.check();
    const s = this.allocator.stats();
    assert.equal(s.liveBlocks, this.live.size, "stats.liveBlocks disagrees with the model");
    assert.equal(s.liveBytes, this.live.bytes, "stats.liveBytes disagrees with the model (the live bytes sum)");
    assert.equal(s.mallocCount - s.freeCount, s.liveBlocks, `mallocCount ${s.mallocCount} - freeCount ${s.freeCount} is not liveBlocks`);
    for (const key of ["mallocCount", "freeCount", "peakLiveBytes", "peakExtentBytes"] as const) {
      assert.ok(s[key] >= this.last[key], `${key} went down from ${this.last[key]} to ${s[key]}`);
    }
    assert.ok(s.peakLiveBytes >= s.liveBytes, `peakLiveBytes ${s.peakLiveBytes} < liveBytes ${s.liveBytes}`);
    assert.ok(s.peakExtentBytes >= s.extentBytes, `peakExtentBytes ${s.peakExtentBytes} < extentBytes ${s.extentBytes}`);
    assert.ok(s.extentBytes <= s.committedBytes, `extentBytes ${s.extentBytes} > committedBytes ${s.committedBytes}`);
    assert.ok(s.committedBytes <= s.reservedBytes, `committedBytes ${s.committedBytes} > reservedBytes ${s.reservedBytes}`);
    assert.ok(s.largestFreeBytes >= 0 && s.largestFreeBytes <= s.freeBytes, `largestFreeBytes ${s.largestFreeBytes} vs freeBytes ${s.freeBytes}`);
    assert.ok(s.externalFragmentation >= 0 && s.externalFragmentation <= 1, `externalFragmentation ${s.externalFragmentation}`);
    this.last = { mallocCount: s.mallocCount, freeCount: s.freeCount, peakLiveBytes: s.peakLiveBytes, peakExtentBytes: s.peakExtentBytes };
  }

  /** Every live block keeps its pattern, no two overlap, and the laws hold: for the end of a test. */
  verifyAll(): void {
    const sorted = [...this.live.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      const [prevPtr, prev] = sorted[i - 1]!;
      assert.ok(prevPtr + Math.max(prev.size, 1) <= sorted[i]![0], `blocks ${prevPtr}+${prev.size} and ${sorted[i]![0]} overlap`);
    }
    for (const [ptr, block] of sorted) this.verify(ptr, block.size, block, "(a check of every live block)");
    this.checkLaws();
  }

  private verify(ptr: number, size: number, block: LiveBlock, when: string): void {
    const at = findPatternMismatch(this.allocator.store, ptr, size, block.word);
    if (at >= 0) assert.fail(`block ${ptr} (size ${block.size}) lost its contents at byte ${at} ${when}`);
  }
}

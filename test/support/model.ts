/**
 * The reference model every allocator test runs beside the real thing: a map of live blocks
 * (offset -> size) that knows nothing of layouts. After each operation it checks what any
 * correct allocator must satisfy: blocks are inside the store, aligned, do not overlap, and keep
 * their contents (a pattern per block, written on malloc and verified on free and realloc).
 */
import assert from "node:assert/strict";
import type { Allocator } from "../../src/allocator.js";

export { rng } from "../../src/util/random.js";

export interface LiveBlock {
  size: number;
  seed: number;
}

export class ReferenceModel {
  readonly live = new Map<number, LiveBlock>();
  private nextSeed = 1;

  constructor(readonly allocator: Allocator) {}

  /** malloc through the allocator; on success, records the block and writes its pattern. */
  malloc(size: number, align = 8): number {
    const ptr = this.allocator.malloc(size, align);
    if (ptr === 0) return 0;
    assert.equal(ptr % align, 0, `malloc(${size}, ${align}) returned unaligned ${ptr}`);
    assert.ok(!this.live.has(ptr), `malloc returned live block ${ptr} again`);
    assert.ok(this.allocator.usableSize(ptr) >= size, `usableSize(${ptr}) < ${size}`);
    assert.ok(ptr + size <= this.allocator.store.committedBytes, `block ${ptr}+${size} beyond the store`);
    const block = { size, seed: this.nextSeed++ };
    this.live.set(ptr, block);
    fill(this.allocator.store.u8, ptr, block);
    return ptr;
  }

  free(ptr: number): void {
    const block = this.live.get(ptr);
    assert.ok(block, `model: ${ptr} is not live`);
    verify(this.allocator.store.u8, ptr, block);
    this.allocator.free(ptr);
    this.live.delete(ptr);
  }

  /** realloc; the first min(old, new) bytes must survive a move. */
  realloc(ptr: number, size: number): number {
    const block = this.live.get(ptr);
    assert.ok(block, `model: ${ptr} is not live`);
    verify(this.allocator.store.u8, ptr, block);
    const moved = this.allocator.realloc(ptr, size);
    if (moved === 0) {
      verify(this.allocator.store.u8, ptr, block);
      return 0;
    }
    verify(this.allocator.store.u8, moved, { size: Math.min(size, block.size), seed: block.seed });
    this.live.delete(ptr);
    const grown = { size, seed: this.nextSeed++ };
    this.live.set(moved, grown);
    fill(this.allocator.store.u8, moved, grown);
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
    let total = 0;
    for (const b of this.live.values()) total += b.size;
    return total;
  }

  /** No two live blocks overlap, every block keeps its pattern, and the allocator's check passes. */
  verifyAll(): void {
    const sorted = [...this.live.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      const [prevPtr, prev] = sorted[i - 1]!;
      assert.ok(prevPtr + Math.max(prev.size, 1) <= sorted[i]![0], `blocks ${prevPtr}+${prev.size} and ${sorted[i]![0]} overlap`);
    }
    for (const [ptr, block] of sorted) verify(this.allocator.store.u8, ptr, block);
    this.allocator.check();
    const stats = this.allocator.stats();
    assert.equal(stats.liveBlocks, this.live.size, "stats.liveBlocks disagrees with the model");
  }
}

function patternByte(seed: number, i: number): number {
  return (seed * 31 + i * 7) & 0xff;
}

function fill(u8: Uint8Array, ptr: number, block: LiveBlock): void {
  for (let i = 0; i < block.size; i++) u8[ptr + i] = patternByte(block.seed, i);
}

function verify(u8: Uint8Array, ptr: number, block: LiveBlock): void {
  for (let i = 0; i < block.size; i++) {
    if (u8[ptr + i] !== patternByte(block.seed, i)) {
      assert.fail(`block ${ptr} (size ${block.size}) lost its contents at byte ${i}`);
    }
  }
}

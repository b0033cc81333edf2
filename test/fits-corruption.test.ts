/**
 * The fits' corruption table: the control block (magic, TOP, the free-list head, the roving
 * pointer, gauges), block headers (size word, seal), footers (size word, asked bytes) and the
 * free list's links damaged after random work, under immediate and deferred coalescing; check()
 * must throw HeapCorruptionError naming each. Offsets follow the layout drawn at the top of
 * src/allocators/fits.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FitAllocator, type FitOptions } from "../src/allocators/fits.js";
import { HeapCorruptionError, InvalidFreeError } from "../src/errors.js";
import { corruptionTable, hardenedRefusalTable, randomWork, type Damage } from "./support/corruption.js";
import type { ReferenceModel } from "./support/model.js";

// The control block and block fields of fits.ts's drawing.
const C_MAGIC = 0;
const C_TOP = 3;
const C_FREE_HEAD = 4;
const C_ROVER = 5;
const F_LIVE_BLOCKS = 4;
const F_LIVE_BYTES = 5;
const F_USED_BLOCK_BYTES = 7;
const HEADER_BYTES = 8;
const SEAL = 4;
const NEXT = 8;
const PREV = 12;
const SIZE_MASK = ~7;

const fitSize = (r: () => number): number => 1 + Math.floor(r() < 0.9 ? r() * 600 : r() * 20_000);

interface FitContext {
  allocator: FitAllocator;
  u32: Uint32Array;
  f64: Float64Array;
  model: ReferenceModel;
}

const W = (offset: number) => offset >>> 2;
const sizeAt = (c: FitContext, b: number) => c.u32[W(b)]! & SIZE_MASK;
/** A used block's start (its header), from a live pointer. */
const usedBlock = (c: FitContext) => c.model.pick(0.5)! - HEADER_BYTES;

/** The free blocks, in list order. */
function freeBlocks(c: FitContext): number[] {
  const blocks: number[] = [];
  for (let b = c.u32[C_FREE_HEAD]!; b !== 0 && blocks.length < 10_000; b = c.u32[W(b + NEXT)]!) blocks.push(b);
  return blocks;
}

const firstFree = (c: FitContext) => freeBlocks(c)[0]!;

const DAMAGES: readonly Damage<FitContext>[] = [
  { name: "the control block's magic word", message: /control block magic is wrong/, damage: (c) => { c.u32[C_MAGIC] ^= 1; } },
  { name: "TOP (beyond the store)", message: /TOP \d+ is outside the store/, damage: (c) => { c.u32[C_TOP] = c.allocator.store.committedBytes + 8; } },
  { name: "TOP (misaligned)", message: /TOP \d+ is outside the store/, damage: (c) => { c.u32[C_TOP] += 4; } },
  { name: "TOP (past the last block)", message: /no valid block header/, damage: (c) => {
    const top = c.u32[C_TOP]!;
    if (top + 64 > c.allocator.store.committedBytes) return false;
    c.allocator.store.u8.fill(0, top, top + 64);
    c.u32[C_TOP] = top + 64;
  } },
  { name: "a used block's size word", message: /no valid block header \(word \d+\)/, damage: (c) => { c.u32[W(usedBlock(c))] += 8; } },
  { name: "a used block's seal", message: /no valid block header \(word \d+\)/, damage: (c) => { c.u32[W(usedBlock(c) + SEAL)] ^= 1; } },
  { name: "a used block's footer size word", message: /header and footer disagree/, damage: (c) => { const b = usedBlock(c); c.u32[W(b + sizeAt(c, b) - 8)] ^= 8; } },
  { name: "a used block's asked bytes", message: /asked \d+ bytes of a \d+-byte block/, damage: (c) => { const b = usedBlock(c); c.u32[W(b + sizeAt(c, b) - 4)] = sizeAt(c, b); } },
  { name: "a free block's size word", message: /no valid block header \(word \d+\)/, damage: (c) => { c.u32[W(firstFree(c))] += 8; } },
  { name: "a free block's footer", message: /header and footer disagree/, damage: (c) => { const b = firstFree(c); c.u32[W(b + sizeAt(c, b) - 8)] ^= 8; } },
  { name: "a free block's next link", message: /the free list holds \d+ where the next free block is \d+|continues past/, damage: (c) => { c.u32[W(firstFree(c) + NEXT)] = usedBlock(c); } },
  { name: "a free block's back link", message: /back link \d+ should be \d+/, damage: (c) => { c.u32[W(firstFree(c) + PREV)] = 8; } },
  { name: "the last free block's next link", message: /the free list continues past the last free block/, damage: (c) => { c.u32[W(freeBlocks(c).at(-1)! + NEXT)] = c.u32[C_TOP]!; } },
  { name: "the free-list head (emptied)", message: /the free list holds 0 where the next free block is \d+/, damage: (c) => { c.u32[C_FREE_HEAD] = 0; } },
  { name: "the free-list head (a used block)", message: /the free list holds \d+ where the next free block is \d+/, damage: (c) => {
    const b = usedBlock(c);
    if (b < firstFree(c)) return false;
    c.u32[C_FREE_HEAD] = b;
  } },
  { name: "the roving pointer", message: /the roving pointer is not on the free list/, damage: (c) => { c.u32[C_ROVER] = usedBlock(c); } },
  { name: "the live-block gauge", message: /LIVE_BLOCKS is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_LIVE_BLOCKS] -= 1; } },
  { name: "the live-bytes gauge", message: /LIVE_BYTES is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_LIVE_BYTES] += 3; } },
  { name: "the used-block-bytes gauge", message: /USED_BLOCK_BYTES is \d+, the blocks say \d+/, damage: (c) => { c.f64[F_USED_BLOCK_BYTES] += 8; } },
];

const VARIANTS: readonly Omit<FitOptions, "store">[] = [
  { fit: "first", coalesce: "immediate" },
  { fit: "next", coalesce: "deferred" },
];

for (const options of VARIANTS) {
  const setup = (): FitContext => {
    const fits = new FitAllocator(options);
    const model = randomWork(fits, 5, 500, fitSize);
    return { allocator: fits, u32: fits.store.u32, f64: fits.store.f64, model };
  };

  describe(`${options.fit} fit, ${options.coalesce} coalescing: check() names each kind of damaged metadata`, () => {
    it("the setup leaves several free blocks below a used one", () => {
      const c = setup();
      assert.ok(freeBlocks(c).length >= 3);
      assert.ok([...c.model.live.keys()].some((p) => p - HEADER_BYTES > firstFree(c)));
    });
    corruptionTable(setup, DAMAGES);
  });

  describe(`${options.fit} fit, ${options.coalesce} coalescing: free refuses damaged blocks`, () => {
    it("a block whose seal was damaged", () => {
      const c = setup();
      const b = usedBlock(c);
      c.u32[W(b + SEAL)] ^= 1;
      assert.throws(() => c.allocator.free(b + HEADER_BYTES), InvalidFreeError);
    });

    it("a block whose footer was damaged", () => {
      const c = setup();
      const b = usedBlock(c);
      c.u32[W(b + sizeAt(c, b) - 8)] ^= 8;
      assert.throws(() => c.allocator.free(b + HEADER_BYTES), (e: unknown) => e instanceof HeapCorruptionError && /does not match its footer/.test(e.message));
    });
  });
}

describe("HardenedHeap over first fit", () => {
  hardenedRefusalTable(() => new FitAllocator({ fit: "first" }), fitSize);
});

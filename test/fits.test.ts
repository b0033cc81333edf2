import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FitAllocator, type Coalescing, type Fit } from "../src/allocators/fits.js";
import { DoubleFreeError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError, InvalidStoreError } from "../src/errors.js";
import type { StoreKind } from "../src/memory/store.js";
import { loadSharedTrace, replayChecked } from "./support/replay.js";
import { stress } from "./support/model-stress.js";

const KINDS: StoreKind[] = ["array-buffer", "resizable", "shared", "wasm"];
const FITS: Fit[] = ["first", "next", "best"];
const COALESCINGS: Coalescing[] = ["immediate", "deferred"];
/** The control block's size: the first block starts here, its payload 8 bytes later. */
const HEAP_START = 88;

function states(heap: FitAllocator): string[] {
  return [...heap.walk()].map((b) => `${b.kind} ${b.kind === "used" ? b.ptr : b.start} ${b.bytes}`);
}

describe("FitAllocator", () => {
  it("works with no options: first fit, immediate coalescing", () => {
    const heap = new FitAllocator();
    assert.equal(heap.name, "first-fit");
    const p = heap.malloc(100);
    assert.equal(p, HEAP_START + 8);
    assert.equal(heap.usableSize(p), 104);
    heap.free(p);
    heap.check();
    assert.deepEqual(states(heap), ["meta 0 88", "free 88 120"]);
  });

  it("names itself after its fit", () => {
    for (const fit of FITS) assert.equal(new FitAllocator({ fit, coalesce: "deferred" }).name, `${fit}-fit`);
    assert.throws(() => new FitAllocator({ fit: "worst" as Fit }), InvalidStoreError);
    assert.throws(() => new FitAllocator({ coalesce: "never" as Coalescing }), InvalidStoreError);
    assert.throws(() => new FitAllocator({ kind: "array-buffer", initialBytes: 16 }), InvalidStoreError);
  });

  for (const coalesce of COALESCINGS) {
    it(`first, next and best fit choose different holes (${coalesce} coalescing)`, () => {
      const chosen: Record<string, number[]> = {};
      for (const fit of FITS) {
        const heap = new FitAllocator({ fit, coalesce });
        // Holes of 80, 120, 200 and 56 bytes at 88, 192, 336 and 560, each followed by a used 24-byte block.
        const holes = [64, 104, 184, 40].map((size) => [heap.malloc(size), heap.malloc(8)] as const);
        for (const [hole] of holes) heap.free(hole);
        assert.deepEqual(holes.map(([hole]) => hole), [96, 200, 344, 568]);
        const first = heap.malloc(104); // 120 bytes: only the second hole fits, exactly
        const second = heap.malloc(24); // 40 bytes
        chosen[fit] = [first, second];
        heap.check();
      }
      assert.deepEqual(chosen, {
        first: [200, 96], //  the lowest hole that fits
        next: [200, 344], //  the search resumes after the hole it last used
        best: [200, 568], //  the smallest hole that fits
      });
    });
  }

  it("splits a hole and keeps the rest free, or hands it all out when the rest is too small", () => {
    const heap = new FitAllocator();
    const a = heap.malloc(200);
    heap.malloc(8);
    heap.free(a); // a 216-byte hole at 88
    assert.equal(heap.malloc(100), 96); // 120 bytes; 96 remain free at 208
    assert.deepEqual(states(heap).slice(1, 3), ["used 96 120", "free 208 96"]);
    assert.equal(heap.malloc(72), 216); // 88 bytes of 96: the 8 left over stay in the block
    assert.equal(heap.usableSize(216), 80);
    assert.equal(heap.stats().internalFragmentationBytes, 4 + 8);
    heap.check();
  });

  it("coalesces immediately with both neighbours through the boundary tags", () => {
    const heap = new FitAllocator();
    const [a, b, c] = [heap.malloc(8), heap.malloc(8), heap.malloc(8)];
    heap.malloc(8);
    heap.free(a);
    heap.free(c);
    assert.deepEqual(states(heap).slice(1, 4), ["free 88 24", "used 120 24", "free 136 24"]);
    heap.free(b);
    assert.deepEqual(states(heap).slice(1, 3), ["free 88 72", "used 168 24"]);
    heap.check();
  });

  it("defers coalescing until a search fails, then merges and retries before growing", () => {
    const heap = new FitAllocator({ coalesce: "deferred" });
    const [x, y] = [heap.malloc(64), heap.malloc(64)];
    heap.malloc(8);
    heap.free(x);
    heap.free(y);
    assert.deepEqual(states(heap).slice(1, 3), ["free 88 80", "free 168 80"]);
    heap.check();
    const top = heap.stats().extentBytes;
    assert.equal(heap.malloc(120), 96); // needs 136: neither hole alone, both merged
    assert.equal(heap.stats().extentBytes, top);
    assert.deepEqual(states(heap).slice(1, 3), ["used 96 136", "free 224 24"]);
    heap.check();
  });

  it("grows the store by extending the top, merging with a free last block", () => {
    const heap = new FitAllocator({ kind: "resizable", initialBytes: 4096, maxBytes: 1 << 20 });
    const a = heap.malloc(8);
    const big = heap.malloc(10000);
    assert.equal(big, a + 24);
    assert.equal(heap.stats().extentBytes, HEAP_START + 24 + 10016);
    assert.ok(heap.store.committedBytes >= HEAP_START + 24 + 10016);
    heap.free(big);
    const bigger = heap.malloc(20000); // the free 10016 bytes at the top are extended, not abandoned
    assert.equal(bigger, big);
    assert.equal(heap.stats().extentBytes, HEAP_START + 24 + 20016);
    assert.equal(heap.stats().peakExtentBytes, HEAP_START + 24 + 20016);
    heap.check();
    assert.equal(new FitAllocator({ kind: "array-buffer", initialBytes: 4096 }).malloc(3000), HEAP_START + 8);
    const fixed = new FitAllocator({ kind: "array-buffer", initialBytes: 4096 });
    fixed.malloc(3000);
    assert.equal(fixed.malloc(3000), 0); // a fixed store cannot grow
    fixed.check();
    const odd = new FitAllocator({ kind: "array-buffer", initialBytes: 4097 });
    assert.equal(odd.malloc(4097 - HEAP_START - 16 - 1), HEAP_START + 8); // the last whole granule
    assert.equal(odd.stats().extentBytes, 4096);
    odd.check();
  });

  it("aligns up to 4096, leaving the gap as a free block", () => {
    for (const coalesce of COALESCINGS) {
      const heap = new FitAllocator({ coalesce });
      const p = heap.malloc(100, 4096);
      assert.equal(p, 4096);
      assert.deepEqual(states(heap).slice(1), ["free 88 4000", "used 4096 120"]);
      const q = heap.malloc(10, 64); // in the gap: 96 is 32-aligned only, 128 is 64-aligned but leaves 32 below
      assert.equal(q, 128);
      assert.equal(heap.malloc(8, 16), 96); // the 32-byte gap below q holds a 24-byte block at 16
      heap.check();
    }
  });

  it("reallocs in place when shrinking, into a free next block, or at the top", () => {
    const heap = new FitAllocator();
    const p = heap.malloc(200);
    const q = heap.malloc(200);
    const last = heap.malloc(8);
    assert.equal(heap.realloc(p, 50), p); // shrink: the tail 160 becomes free
    assert.deepEqual(states(heap).slice(1, 3), ["used 96 72", "free 160 144"]);
    assert.equal(heap.realloc(p, 150), p); // grow into that hole
    assert.deepEqual(states(heap).slice(1, 3), ["used 96 168", "free 256 48"]);
    assert.equal(heap.stats().liveBytes, 150 + 200 + 8);
    assert.equal(heap.realloc(last, 5000), last); // the last block grows with the top
    assert.equal(heap.stats().extentBytes, last - 8 + 5016);
    heap.free(q); // merges with the 48-byte hole
    const moved = heap.realloc(p, 1000); // nothing free after p is large enough: it moves
    assert.notEqual(moved, p);
    heap.check();
  });

  it("rejects bad sizes, alignments and pointers with typed errors and stays consistent", () => {
    for (const coalesce of COALESCINGS) {
      const heap = new FitAllocator({ coalesce, maxBytes: 1 << 20 });
      const p = heap.malloc(48);
      const guard = heap.malloc(48);
      for (const size of [NaN, -1, 1.5, 2 ** 40, Infinity, 1 << 20]) assert.throws(() => heap.malloc(size), InvalidSizeError, `size ${size}`);
      for (const align of [0, 3, 1.5, NaN, 8192]) assert.throws(() => heap.malloc(8, align), InvalidAlignmentError);
      for (const bad of [0, -8, NaN, 1.5, 8, HEAP_START, p + 8, p + 16, p + 1, p - 8, 1 << 19, 12345 * 8]) {
        assert.throws(() => heap.free(bad), InvalidFreeError, `free(${bad})`);
        assert.throws(() => heap.usableSize(bad), InvalidFreeError);
        assert.throws(() => heap.realloc(bad, 8), InvalidFreeError);
      }
      assert.throws(() => heap.realloc(p, -1), InvalidSizeError);
      heap.free(p);
      assert.throws(() => heap.free(p), DoubleFreeError);
      heap.free(guard); // merges with p under immediate coalescing: a tombstone marks its header
      assert.throws(() => heap.free(guard), DoubleFreeError);
      assert.throws(() => heap.realloc(guard, 8), InvalidFreeError);
      heap.check();
      assert.equal(heap.stats().liveBlocks, 0);
    }
  });

  for (const kind of KINDS) {
    for (const fit of FITS) {
      for (const coalesce of COALESCINGS) {
        it(`survives random malloc/free/realloc against the model: ${fit} fit, ${coalesce}, ${kind} store`, () => {
          for (const seed of [11, 12]) {
            const heap = new FitAllocator({ fit, coalesce, kind, initialBytes: kind === "array-buffer" ? 1 << 22 : 4096, maxBytes: kind === "array-buffer" ? 1 << 22 : 1 << 26 });
            stress(heap, seed, { steps: 2000 });
            const s = heap.stats();
            assert.equal(s.liveBytes, 0);
            assert.equal(s.internalFragmentationBytes, 0);
            if (coalesce === "immediate") assert.equal(s.freeBytes, s.largestFreeBytes); // one hole, all of it
          }
        });
      }
    }
  }

  for (const fit of FITS) {
    for (const coalesce of COALESCINGS) {
      it(`replays the first 50,000 ops of git-log-p with contents verified: ${fit} fit, ${coalesce}`, async () => {
        const trace = await loadSharedTrace("git-log-p");
        const heap = new FitAllocator({ fit, coalesce, maxBytes: 1 << 28 });
        replayChecked(heap, trace, 50_000);
        const s = heap.stats();
        assert.ok(s.extentBytes >= s.liveBytes && s.freeBytes >= s.largestFreeBytes);
      });
    }
  }
});

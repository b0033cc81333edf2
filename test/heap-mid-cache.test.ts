/**
 * The mid cache (src/heap/mid-cache.ts): freed TLSF blocks of a mid class that has no slab wait
 * on a short list for the class's next malloc, never past a growth of the heap.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, Heap } from "../src/index.js";
import { blockSizeFor, Word } from "../src/heap/layout.js";
import { MidCache } from "../src/heap/mid-cache.js";
import { MID_CLASS_OF } from "../src/heap/mid-layout.js";
import { ReferenceModel, rng } from "./support/model.js";

const classOf = (size: number) => MID_CLASS_OF[(size + 15) >>> 4]!;
const cached = (heap: Heap, size: number) => heap.u32[Word.MID_CACHED + classOf(size)]!;

describe("Heap: the mid cache", () => {
  it("a free of a mid class without a slab waits for the class's next malloc, which takes the same block", () => {
    const heap = new Heap();
    const [below, p, above] = [heap.malloc(448), heap.malloc(448), heap.malloc(448)];
    heap.free(p);
    assert.equal(cached(heap, 448), 1, "both neighbours are used: a free would coalesce with nothing");
    const span = [...heap.walk(p - 8, p)].find((s) => s.start === p - 8)!;
    assert.equal(span.kind, "free");
    assert.match(span.detail!, /cached/);
    assert.equal(heap.stats().liveBlocks, 2);
    assert.ok(heap.stats().freeBytes >= span.bytes, "a cached block counts as free");
    heap.check();
    assert.equal(heap.malloc(440), p, "a request of the class that the block fits takes it");
    assert.equal(cached(heap, 448), 0);
    assert.equal(heap.requestedSize(p), 440);
    for (const q of [below, p, above]) heap.free(q);
    heap.check();
  });

  it("keeps no block of a request above MAX_REQUEST, and none a free would coalesce", () => {
    const heap = new Heap();
    const [a, b] = [heap.malloc(2000), heap.malloc(448), heap.malloc(448)];
    heap.free(a!);
    assert.equal(cached(heap, 2000), 0, `${MidCache.MAX_REQUEST} bytes at most: a is a free block`);
    heap.free(b!);
    assert.equal(cached(heap, 448), 0, "b lies beside the free a: it coalesces");
    assert.equal(heap.stats().largestFreeBytes, blockSizeFor(2000) + blockSizeFor(448), "a and b are one hole");
    heap.check();
  });

  it("refuses a second free, a realloc and a size query of a cached block, changing nothing", () => {
    const heap = new Heap();
    const p = [heap.malloc(1000), heap.malloc(1000), heap.malloc(1000)][1]!;
    heap.free(p);
    assert.equal(cached(heap, 1000), 1);
    const before = heap.store.u8.slice(0, heap.top);
    assert.throws(() => heap.free(p), DoubleFreeError);
    assert.throws(() => heap.realloc(p, 2000), DoubleFreeError);
    assert.throws(() => heap.usableSize(p), DoubleFreeError);
    assert.ok(Buffer.from(heap.store.u8.slice(0, heap.top)).equals(Buffer.from(before)));
    heap.check();
  });

  it("holds at most LIMIT blocks a class; the rest are freed as any block", () => {
    const heap = new Heap();
    const blocks = Array.from({ length: 2 * (MidCache.LIMIT + 3) + 1 }, () => heap.malloc(600));
    for (let k = 1; k < blocks.length; k += 2) heap.free(blocks[k]!);
    assert.equal(cached(heap, 600), MidCache.LIMIT);
    heap.check();
  });

  it("gives its blocks back to the free lists before the heap grows, and before a trim", () => {
    const heap = new Heap();
    const blocks = Array.from({ length: 11 }, () => heap.malloc(1000));
    for (let k = 1; k < blocks.length; k += 2) heap.free(blocks[k]!);
    assert.equal(cached(heap, 1000), 5);
    const free = heap.stats().freeBytes;
    const top = heap.top;
    heap.malloc(20_000);
    assert.ok(heap.top > top, "the heap grew");
    assert.equal(cached(heap, 1000), 0, "after the cache was flushed");
    assert.ok(heap.stats().freeBytes >= free, "its blocks are free blocks now");
    heap.check();
    heap.free(blocks[0]!);
    heap.free(heap.malloc(1000));
    heap.check();
    heap.trim();
    assert.equal(cached(heap, 1000), 0);
    heap.check();
  });

  it("keeps random work of cold mid classes consistent with a model, check() after every op", () => {
    for (const seed of [1, 2]) {
      const heap = new Heap();
      const model = new ReferenceModel(heap);
      const random = rng(seed);
      const sizes = [272, 448, 1000, 1032, 3000, 20, 9000];
      for (let step = 0; step < 3000; step++) {
        const size = sizes[Math.floor(random() * sizes.length)]! - Math.floor(random() * 16);
        const r = random();
        if (r < 0.45 || model.live.size === 0) model.malloc(size);
        else if (r < 0.9) model.free(model.pick(random())!);
        else model.realloc(model.pick(random())!, size);
        model.checkLaws();
      }
      model.verifyAll();
    }
  });
});

/**
 * The growth reserve (src/heap/tlsf.ts): a buffer that realloc grows by a steady ratio of at most
 * 1.5x keeps growing in place when other blocks are carved from the top above it, since the carve
 * leaves room for its next step first; a doubling buffer gets none; the reserve goes back to the
 * free lists when the rest of the heap outgrows it, and ends when the grower is freed, shrunk or
 * moved. Every step runs against the reference model with check().
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/index.js";
import { nextGrowthStep } from "../src/heap/large-blocks.js";
import { Layout, Word } from "../src/heap/layout.js";
import { ReferenceModel, rng } from "./support/model.js";

/** The growth reserve's span in the walk, if there is one. */
function reserveSpan(heap: Heap): { start: number; bytes: number } | undefined {
  for (const span of heap.walk()) if (span.kind === "free" && span.detail?.startsWith("growth reserve")) return span;
  return undefined;
}

/** Small blocks that make the heap carve from its top: `bytes` of 4000-byte blocks. */
function carve(model: ReferenceModel, bytes: number): number[] {
  const ptrs: number[] = [];
  for (let done = 0; done < bytes; done += 4000) {
    ptrs.push(model.malloc(4000));
    model.checkLaws();
  }
  return ptrs;
}

describe("Heap: the growth reserve of a buffer grown by realloc", () => {
  it("the next step is the last step times the last ratio, and none for a buffer that doubles", () => {
    assert.equal(nextGrowthStep(80_000, 100_000), Math.ceil((20_000 * 100_000) / 80_000) + Layout.SLAB_PAGE_BYTES);
    assert.equal(nextGrowthStep(100_000, 112_500), Math.ceil((112_500 / 4 + Layout.SLAB_PAGE_BYTES) / 8) * 8, "a quarter of the block, for a slow grower");
    assert.equal(nextGrowthStep(100_000, 150_000), 75_000 + Layout.SLAB_PAGE_BYTES, "1.5x: the next step is half the block");
    assert.equal(nextGrowthStep(100_000, 160_000), 0, "1.6x: it would be over half");
    assert.equal(nextGrowthStep(100_000, 200_000), 0);
  });

  it("a buffer growing 1.25x a step grows in place after 4 KiB blocks were carved above it", () => {
    for (const start of [64 * 1024, 300_000, 2_000_000]) {
      const heap = new Heap();
      const model = new ReferenceModel(heap);
      let size = Math.floor(start * 1.25);
      const buffer = model.realloc(model.malloc(start), size); // the first growth makes it the grower
      carve(model, size / 16); // others carve above it: the first carve leaves its reserve
      const reserve = reserveSpan(heap);
      assert.ok(reserve, `${start}: a reserve after the grower`);
      assert.equal(reserve.start, buffer - Layout.HEADER_BYTES + heap.usableSize(buffer) + Layout.HEADER_BYTES, "right after it");
      assert.equal(model.realloc(buffer, (size = Math.floor(size * 1.25))), buffer, `${start}: grew in place`);
      model.verifyAll();
    }
  });

  it("a doubling buffer gets no reserve and moves", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    let size = 128 * 1024;
    const buffer = model.realloc(model.malloc(size / 2), size);
    carve(model, 16 * 1024);
    assert.equal(reserveSpan(heap), undefined, "no reserve for a doubling buffer");
    assert.notEqual(model.realloc(buffer, (size *= 2)), buffer);
    model.verifyAll();
  });

  it("goes back to the free lists once the heap above it outgrows it, and is reused", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const buffer = model.realloc(model.malloc(400_000), 480_000);
    carve(model, 4000);
    const reserve = reserveSpan(heap);
    assert.ok(reserve);
    const end = reserve.start + reserve.bytes;
    let carved = 0;
    while (reserveSpan(heap)) {
      assert.ok(heap.stats().extentBytes - end <= reserve.bytes, "kept while the heap above it is smaller than it");
      carve(model, 4000);
      carved += 4000;
      assert.ok(carved < 2 * reserve.bytes, "released once outgrown");
    }
    assert.equal(reserveSpan(heap), undefined, "released");
    assert.equal(heap.store.u32[Word.RESERVE], 0);
    const inside = model.malloc(4000);
    assert.ok(inside >= reserve.start && inside < reserve.start + reserve.bytes, `the next block ${inside} takes the old reserve`);
    model.free(buffer);
    model.verifyAll();
  });

  it("takes in a block freed right after it, while it stays within twice the next step", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const buffer = model.realloc(model.malloc(400_000), 480_000);
    // Blocks above the mid sizes: TLSF blocks of their own, one after another, that a free
    // coalesces at once (a mid-sized one would wait in the mid cache).
    const [first, second] = [model.malloc(9000), model.malloc(9000)];
    const reserve = reserveSpan(heap)!;
    model.free(first!);
    model.checkLaws();
    assert.deepEqual(reserveSpan(heap), { ...reserve, bytes: reserve.bytes + (second! - first!) }, "the reserve grew by the freed block");
    assert.equal(model.realloc(buffer, 480_000 + reserve.bytes), buffer, "and the grower takes all of it in place");
    model.verifyAll();
  });

  it("ends when the grower is freed or shrunk, coalescing with its neighbours", () => {
    for (const end of ["free", "shrink"] as const) {
      const heap = new Heap();
      const model = new ReferenceModel(heap);
      const buffer = model.realloc(model.malloc(200_000), 240_000);
      const above = carve(model, 8000);
      assert.ok(reserveSpan(heap));
      if (end === "free") model.free(buffer);
      else model.realloc(buffer, 100_000);
      model.checkLaws();
      assert.equal(reserveSpan(heap), undefined, `${end}: no reserve`);
      for (const p of above) model.free(p);
      model.verifyAll();
    }
  });

  it("random work around several growing buffers keeps every invariant (check() after every op)", () => {
    const random = rng(0x6e0);
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const buffers: number[] = [];
    for (let op = 0; op < 1500; op++) {
      const r = random();
      if (r < 0.05 || buffers.length === 0) {
        buffers.push(model.malloc(60_000 + Math.floor(random() * 100_000)));
      } else if (r < 0.25) {
        const i = Math.floor(random() * buffers.length);
        const size = model.live.get(buffers[i]!)!.size;
        const ratio = random() < 0.2 ? 0.5 + random() * 0.4 : 1.05 + random() * 0.6;
        buffers[i] = model.realloc(buffers[i]!, Math.min(8 << 20, Math.floor(size * ratio)));
      } else if (r < 0.3) {
        model.free(buffers.splice(Math.floor(random() * buffers.length), 1)[0]!);
      } else if (r < 0.7 || model.live.size <= buffers.length) {
        model.malloc(1 + Math.floor(random() * (random() < 0.1 ? 20_000 : 3000)));
      } else {
        let p = model.pick(random())!;
        while (buffers.includes(p)) p = model.pick(random())!;
        model.free(p);
      }
      model.checkLaws();
    }
    model.verifyAll();
  });

  it("check() catches a reserve that is not a free block after the grower", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const buffer = model.realloc(model.malloc(200_000), 240_000);
    carve(model, 8000);
    assert.ok(reserveSpan(heap));
    heap.store.u32[Word.GROWER] = model.malloc(100);
    assert.throws(() => heap.check(), /growth reserve .* is not a free block after the grower/);
    heap.store.u32[Word.GROWER] = buffer;
    heap.check();
  });
});

/**
 * The kept hole (src/heap/tlsf.ts): the free block that a freed block of KEPT_MIN_BYTES or more
 * (a page span, or a TLSF block of 128 to 256 KiB) leaves is kept whole for large requests. Smaller requests carve from the top instead while that stays within an eighth
 * of the hole, then take the hole as any free block; a large request or a block moved by realloc
 * takes it at once; a buffer realloc moves leaves no kept hole. Every step runs against the
 * reference model with check().
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/index.js";
import { Layout, Word } from "../src/heap/layout.js";
import { ReferenceModel, rng } from "./support/model.js";

const HOLE = 2 * 1024 * 1024;

function keptSpan(heap: Heap): { start: number; bytes: number } | undefined {
  for (const span of heap.walk()) if (span.kind === "free" && span.detail?.startsWith("kept whole")) return span;
  return undefined;
}

/** A heap with a 2 MiB page span freed below a live block: the kept hole. */
function heapWithHole(): { heap: Heap; model: ReferenceModel; hole: { start: number; bytes: number } } {
  const heap = new Heap();
  const model = new ReferenceModel(heap);
  const span = model.malloc(HOLE);
  model.malloc(100_000); // keeps the span's space from joining the wilderness
  model.free(span);
  model.checkLaws();
  const hole = keptSpan(heap);
  assert.ok(hole, "a freed page span leaves a kept hole");
  return { heap, model, hole };
}

const inside = (p: number, hole: { start: number; bytes: number }) => p >= hole.start && p < hole.start + hole.bytes;

describe("Heap: the kept hole of a freed page span", () => {
  it("small requests carve from the top while that stays within an eighth of the hole, then take it", () => {
    const { heap, model, hole } = heapWithHole();
    let carved = 0;
    for (;;) {
      const p = model.malloc(87_208);
      model.checkLaws();
      if (inside(p, hole)) break;
      carved += 87_208;
      assert.ok(carved <= hole.bytes / 8, `${carved} bytes carved from the top, over an eighth of the hole`);
    }
    assert.ok(carved > hole.bytes / 8 - 87_208 * 2, "the budget was spent before the hole was split");
    assert.equal(keptSpan(heap), undefined, "the hole is now a hole like any other");
    model.verifyAll();
  });

  it("a freed block of 128 KiB or more leaves a kept hole too, one just under it does not", () => {
    for (const [bytes, kept] of [[Layout.KEPT_MIN_BYTES, true], [Layout.KEPT_MIN_BYTES - 16, false]] as const) {
      const heap = new Heap();
      const model = new ReferenceModel(heap);
      const block = model.malloc(bytes - 8);
      model.malloc(100); // keeps the block's space from joining the wilderness
      model.free(block);
      model.checkLaws();
      const hole = keptSpan(heap);
      assert.equal(hole !== undefined, kept, `a freed block of ${bytes} bytes`);
      if (hole) assert.ok(!inside(model.malloc(1000), hole), "a small request carves from the top instead");
      model.verifyAll();
    }
  });

  it("a request of an eighth of the hole or more takes it at once", () => {
    const { model, hole } = heapWithHole();
    assert.ok(inside(model.malloc(hole.bytes / 8 + 8), hole));
    model.verifyAll();
  });

  it("a buffer that realloc doubles up to the hole's size after a small block was made grows in it, not at the top", () => {
    const { heap, model, hole } = heapWithHole();
    model.malloc(87_208); // the block SQLite makes between two sort buffers
    const extent = heap.stats().peakExtentBytes;
    let size = 32 * 1024;
    let buffer = model.malloc(size);
    model.malloc(100); // so the buffer is not the block below top (which moves into the hole too: below)
    while (size * 2 <= HOLE - 8 * 1024) buffer = model.realloc(buffer, (size *= 2));
    model.checkLaws();
    assert.ok(inside(buffer, hole), `the buffer ${buffer} is in the kept hole`);
    assert.ok(heap.stats().peakExtentBytes < extent + 2 * 87_208, "its growth did not raise the extent");
    model.verifyAll();
  });

  it("a buffer below top that realloc grows moves into the hole rather than grow the heap", () => {
    const { heap, model, hole } = heapWithHole();
    const buffer = model.malloc(200_000); // under an eighth of the hole: carved from the top, below it
    assert.ok(!inside(buffer, hole));
    const extent = heap.stats().peakExtentBytes;
    const grown = model.realloc(buffer, 1_000_000);
    assert.ok(inside(grown, hole), `moved into the kept hole, not grown at ${buffer}`);
    assert.equal(heap.stats().peakExtentBytes, extent);
    model.verifyAll();
  });

  it("the old bytes of a buffer that realloc moved are not kept: smaller blocks fill them", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const buffer = model.malloc(HOLE);
    model.malloc(100_000);
    const moved = model.realloc(buffer, HOLE * 2);
    assert.notEqual(moved, buffer);
    assert.equal(keptSpan(heap), undefined);
    assert.ok(model.malloc(87_208) < moved, "the next block goes to the old bytes");
    model.verifyAll();
  });

  it("check() catches a kept hole that is not a free block", () => {
    const { heap, model } = heapWithHole();
    const used = model.malloc(100);
    const kept = heap.store.u32[Word.KEPT]!;
    heap.store.u32[Word.KEPT] = used;
    assert.throws(() => heap.check(), /the kept hole \d+ is not a free block in the free lists/);
    heap.store.u32[Word.KEPT] = kept;
    heap.check();
  });

  it("random work with large blocks keeps every invariant (check() after every op)", () => {
    const random = rng(0x4e9);
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    for (let op = 0; op < 2500; op++) {
      const r = random();
      if (r < 0.08) model.malloc(Layout.LARGE_MIN_BYTES + Math.floor(random() * 1_500_000));
      else if (r < 0.15 && model.live.size > 0) {
        const p = model.pick(random())!;
        model.realloc(p, Math.max(1, Math.floor(model.live.get(p)!.size * (0.5 + random() * 2))));
      } else if (r < 0.55 || model.live.size === 0) model.malloc(1 + Math.floor(random() * (random() < 0.2 ? 120_000 : 4000)));
      else model.free(model.pick(random())!);
      model.checkLaws();
    }
    model.verifyAll();
  });
});

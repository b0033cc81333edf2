import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DebugHeap, FitAllocator, HardenedHeap, policies, type Allocator } from "../src/index.js";
import { type MapView, fitWhole, visibleRange } from "../web/src/geometry.js";
import { MapPainter } from "../web/src/painter.js";
import { regionOf } from "../web/src/spans.js";
import { rng as random } from "../src/util/random.js";

const MAX_BYTES = 1 << 20;

const allocators: [string, () => Allocator][] = [
  ["heap", () => policies.heap.create({ maxBytes: MAX_BYTES })],
  ["best-fit", () => policies["best-fit"].create({ maxBytes: MAX_BYTES })],
  ["first-fit", () => policies["first-fit"].create({ maxBytes: MAX_BYTES })],
  ["next-fit", () => policies["next-fit"].create({ maxBytes: MAX_BYTES })],
  ["buddy", () => policies.buddy.create({ maxBytes: MAX_BYTES })],
  // A failed search merges every free neighbour in the heap at once, far from the op that failed.
  ["best-fit, deferred coalescing", () => new FitAllocator({ fit: "best", coalesce: "deferred", maxBytes: MAX_BYTES })],
  // A quarantine lets go of blocks no op of the frame touched; delayed reuse likewise.
  ["debug", () => new DebugHeap(policies.heap.create({ maxBytes: MAX_BYTES }), { quarantineBytes: 8 << 10 })],
  ["hardened", () => new HardenedHeap(policies.heap.create({ maxBytes: MAX_BYTES }), { quarantineBytes: 8 << 10 })],
];

const views: [string, MapView][] = [
  ["the whole heap, 1 px rows", fitWhole(0, MAX_BYTES, 200, 120)],
  ["zoomed in, 2 px rows, scrolled", { base: 0, bytesPerRow: 1024, topRow: 40, widthPx: 256, heightPx: 90 }],
  ["bytes as wide cells, rows with a gap", { base: 0, bytesPerRow: 64, topRow: 500, widthPx: 64, heightPx: 80 }],
];

function paintArgs(allocator: Allocator, view: MapView): [number, number, number] {
  const region = regionOf(allocator);
  return [Math.min(visibleRange(view).end, region.end), region.extentEnd, region.end];
}

/** What a painter that never painted before draws now. */
function paintFresh(allocator: Allocator, view: MapView): Uint32Array {
  const pixels = new Uint32Array(view.widthPx * view.heightPx);
  new MapPainter(view).paint(allocator, view, ...paintArgs(allocator, view), pixels);
  return pixels;
}

function firstDifference(a: Uint32Array, b: Uint32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** A batch of random ops: mallocs of small to large sizes, frees and reallocs of live blocks. */
function runOps(allocator: Allocator, live: number[], next: () => number, count: number): void {
  for (let i = 0; i < count; i++) {
    const roll = next();
    const size = next() < 0.1 ? 1 + Math.floor(next() * 40_000) : 1 + Math.floor(next() * 600);
    if (roll < 0.5 || live.length === 0) {
      const ptr = allocator.malloc(size);
      if (ptr !== 0) live.push(ptr);
    } else if (roll < 0.9) {
      const index = Math.floor(next() * live.length);
      allocator.free(live[index]!);
      live[index] = live[live.length - 1]!;
      live.pop();
    } else {
      const index = Math.floor(next() * live.length);
      const moved = allocator.realloc(live[index]!, size);
      if (moved !== 0) live[index] = moved;
    }
  }
}

describe("lab map painter: a repaint of what changed equals a whole paint", () => {
  for (const [policy, create] of allocators) {
    for (const [viewName, view] of views) {
      it(`${policy}, ${viewName}: pixel for pixel after every batch of ops`, () => {
        const next = random(policy.length * 7919 + view.bytesPerRow);
        const allocator = create();
        const live: number[] = [];
        const painter = new MapPainter(view);
        const pixels = new Uint32Array(view.widthPx * view.heightPx);
        painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
        let partial = 0;
        for (let batch = 0; batch < 60; batch++) {
          runOps(allocator, live, next, 1 + Math.floor(next() * (batch % 10 === 9 ? 300 : 12)));
          painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
          if (painter.cellsPainted < painter.raster.cellCount) partial++;
          const expected = paintFresh(allocator, view);
          const at = firstDifference(pixels, expected);
          assert.equal(at, -1, `batch ${batch}: pixel ${at} (x ${at % view.widthPx}, y ${Math.floor(at / view.widthPx)}) is ${pixels[at]?.toString(16)}, a whole paint gives ${expected[at]?.toString(16)}`);
        }
        allocator.check();
        assert.ok(partial > 0, "some frames repainted only part of the map");
      });
    }
  }

  it("repaints only the cells around one malloc in a heap of thousands of blocks, and none when nothing changed", () => {
    const allocator = policies.heap.create({ maxBytes: MAX_BYTES });
    const live: number[] = [];
    runOps(allocator, live, random(5), 4000);
    const view = views[0]![1];
    const painter = new MapPainter(view);
    const pixels = new Uint32Array(view.widthPx * view.heightPx);
    painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
    assert.equal(painter.cellsPainted, painter.raster.cellCount, "the first paint paints every cell");
    painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
    assert.equal(painter.cellsPainted, 0, "an unchanged heap repaints nothing");
    assert.ok(allocator.malloc(100) !== 0);
    painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
    assert.ok(painter.cellsPainted > 0 && painter.cellsPainted <= 8, `cells repainted after one malloc: ${painter.cellsPainted}`);
    assert.equal(firstDifference(pixels, paintFresh(allocator, view)), -1);
  });

  it("repaints what a trim gave back (fewer committed bytes) and what freeAll cleared", () => {
    const heap = policies.heap.create({ maxBytes: MAX_BYTES });
    const view = views[0]![1];
    const painter = new MapPainter(view);
    const pixels = new Uint32Array(view.widthPx * view.heightPx);
    const big = heap.malloc(600_000);
    runOps(heap, [], random(11), 300);
    painter.paint(heap, view, ...paintArgs(heap, view), pixels);
    const committed = heap.stats().committedBytes;
    heap.free(big);
    heap.trim();
    assert.ok(heap.stats().committedBytes < committed, "the trim gave bytes back");
    painter.paint(heap, view, ...paintArgs(heap, view), pixels);
    assert.equal(firstDifference(pixels, paintFresh(heap, view)), -1);
    heap.freeAll();
    painter.paint(heap, view, ...paintArgs(heap, view), pixels);
    assert.equal(firstDifference(pixels, paintFresh(heap, view)), -1);
  });

  it("paints the whole frame again when the view or the pixels change", () => {
    const allocator = policies.heap.create({ maxBytes: MAX_BYTES });
    runOps(allocator, [], random(9), 200);
    const view = views[1]![1];
    const painter = new MapPainter(view);
    const pixels = new Uint32Array(view.widthPx * view.heightPx);
    painter.paint(allocator, view, ...paintArgs(allocator, view), pixels);
    const scrolled = { ...view, topRow: view.topRow + 1 };
    painter.paint(allocator, scrolled, ...paintArgs(allocator, scrolled), pixels);
    assert.equal(painter.cellsPainted, painter.raster.cellCount);
    assert.equal(firstDifference(pixels, paintFresh(allocator, scrolled)), -1);
    const other = new Uint32Array(pixels.length);
    painter.paint(allocator, scrolled, ...paintArgs(allocator, scrolled), other);
    assert.equal(painter.cellsPainted, painter.raster.cellCount);
    painter.invalidate();
    painter.paint(allocator, scrolled, ...paintArgs(allocator, scrolled), other);
    assert.equal(painter.cellsPainted, painter.raster.cellCount);
  });
});

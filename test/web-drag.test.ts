import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AllocDrag, DRAG_MIN_PX, dragLabel, draggedRange, moveDrag } from "../web/src/drag-alloc.js";
import { type MapView, pointToAddress } from "../web/src/geometry.js";

const view = (overrides: Partial<MapView> = {}): MapView => ({ base: 0, bytesPerRow: 1024, topRow: 0, widthPx: 256, heightPx: 200, ...overrides });

describe("lab map: allocate by dragging", () => {
  it("covers the bytes from the lower pixel's first byte to the higher pixel's last, either way round", () => {
    const v = view(); // 4 bytes a pixel
    const from = pointToAddress(v, 10, 0);
    const to = pointToAddress(v, 20, 0);
    assert.deepEqual(draggedRange(v, from, to), { start: 40, bytes: 44 });
    assert.deepEqual(draggedRange(v, to, from), { start: 40, bytes: 44 });
    assert.deepEqual(draggedRange(v, from, from), { start: 40, bytes: 4 });
  });

  it("runs across rows in address order, and counts single bytes when a byte is wider than a pixel", () => {
    const v = view();
    assert.deepEqual(draggedRange(v, pointToAddress(v, 250, 0), pointToAddress(v, 2, 3)), { start: 1000, bytes: 36 });
    const zoomed = view({ bytesPerRow: 16, widthPx: 256 });
    assert.deepEqual(draggedRange(zoomed, pointToAddress(zoomed, 0, 0), pointToAddress(zoomed, 255, 0)), { start: 0, bytes: 16 });
  });

  it("becomes a drag only once the pointer moved DRAG_MIN_PX, and keeps the last address on the map", () => {
    const drag: AllocDrag = { pressX: 100, pressY: 50, from: 400, to: 400, moved: false };
    assert.equal(moveDrag(drag, 101, 51, 404), false);
    assert.equal(drag.to, 404);
    assert.equal(moveDrag(drag, 100 + DRAG_MIN_PX, 50, 416), true);
    assert.equal(moveDrag(drag, 100, 50, -1), true, "once a drag, always a drag");
    assert.equal(drag.to, 416, "off the map keeps the last address");
  });

  it("says the size while dragging", () => {
    assert.equal(dragLabel(100), "allocate 100 bytes: release to malloc, Esc cancels");
    assert.equal(dragLabel(3072), "allocate 3,072 bytes (3.0 KiB): release to malloc, Esc cancels");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  MAX_ROW_HEIGHT_PX, MIN_BYTES_PER_ROW, addressToPoint, bytesPerPixel, fitWhole, forEachRowPiece, panRows, pointToAddress,
  rowHeightPx, visibleRange, visibleRows, zoomAt, type MapView,
} from "../web/src/geometry.js";

const view = (overrides: Partial<MapView> = {}): MapView => ({ base: 0, bytesPerRow: 1024, topRow: 0, widthPx: 512, heightPx: 400, ...overrides });

describe("lab map geometry: address to pixel", () => {
  it("puts the base at the top left and a row's bytes across the width", () => {
    const v = view({ base: 4096 });
    assert.deepEqual(addressToPoint(v, 4096), { x: 0, y: 0 });
    assert.deepEqual(addressToPoint(v, 4096 + 512), { x: 256, y: 0 });
    assert.deepEqual(addressToPoint(v, 4096 + 1024), { x: 0, y: rowHeightPx(v) });
    assert.equal(bytesPerPixel(v), 2);
  });

  it("counts rows from the top row after a pan", () => {
    const v = view({ topRow: 10 });
    assert.deepEqual(addressToPoint(v, 10 * 1024), { x: 0, y: 0 });
    assert.equal(addressToPoint(v, 9 * 1024).y, -rowHeightPx(v));
    assert.deepEqual(visibleRange(v), { start: 10 * 1024, end: (10 + visibleRows(v)) * 1024 });
  });

  it("row height follows the zoom: 1 px far out, capped when a byte is wide", () => {
    assert.equal(rowHeightPx(view({ bytesPerRow: 2 ** 20 })), 1);
    assert.equal(rowHeightPx(view({ bytesPerRow: 512 })), 8);
    assert.equal(rowHeightPx(view({ bytesPerRow: 16 })), MAX_ROW_HEIGHT_PX);
  });

  it("maps a point back to the address drawn there (round trip at every zoom)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 26 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.integer({ min: 64, max: 1600 }),
        (log2Row, topRow, offset, widthPx) => {
          const v = view({ base: 65536, bytesPerRow: 2 ** log2Row, topRow, widthPx });
          const start = visibleRange(v).start;
          const address = start + (offset % (visibleRows(v) * v.bytesPerRow));
          const point = addressToPoint(v, address);
          if (point.y >= v.heightPx) return;
          const back = pointToAddress(v, point.x, point.y);
          // A pixel stands for bytesPerPixel bytes: the address drawn there is within one pixel's worth.
          assert.ok(back <= address && address - back < Math.max(1, bytesPerPixel(v)), `${address} -> ${back}`);
        },
      ),
    );
  });

  it("says -1 outside the canvas", () => {
    const v = view();
    assert.equal(pointToAddress(v, -1, 0), -1);
    assert.equal(pointToAddress(v, 0, v.heightPx), -1);
    assert.equal(pointToAddress(v, v.widthPx, 0), -1);
  });

  it("cuts a span into the pieces of the rows it crosses, clipped to the canvas", () => {
    const v = view({ bytesPerRow: 100, topRow: 1, heightPx: 3 * rowHeightPx(view({ bytesPerRow: 100 })) });
    const pieces: number[][] = [];
    forEachRowPiece(v, 50, 300, (row, from, to) => pieces.push([row, from, to]));
    // Visible: rows 1..3 = [100, 400); the span [50, 350) starts above.
    assert.deepEqual(pieces, [[0, 0, 100], [1, 0, 100], [2, 0, 50]]);
    const none: number[][] = [];
    forEachRowPiece(v, 400, 10, (row, from, to) => none.push([row, from, to]));
    assert.deepEqual(none, []);
  });

  it("fits a region whole with the fewest bytes per row", () => {
    const v = fitWhole(0, 1 << 20, 800, 400);
    const { start, end } = visibleRange(v);
    assert.equal(start, 0);
    assert.ok(end >= 1 << 20);
    assert.ok(visibleRange({ ...v, bytesPerRow: v.bytesPerRow / 2 }).end < 1 << 20);
  });

  it("zooms around the address under the cursor, within the limits", () => {
    const v = view({ bytesPerRow: 4096, topRow: 3 });
    const y = 5 * rowHeightPx(v);
    const anchor = pointToAddress(v, 100, y);
    const zoomed = zoomAt(v, 2, 100, y);
    assert.equal(zoomed.bytesPerRow, 1024);
    const row = Math.floor(anchor / 1024);
    assert.equal(row - zoomed.topRow, Math.floor(y / rowHeightPx(zoomed)));
    assert.equal(zoomAt(view({ bytesPerRow: MIN_BYTES_PER_ROW }), 3, 0, 0).bytesPerRow, MIN_BYTES_PER_ROW);
    assert.equal(zoomAt(zoomed, -2, 100, y).bytesPerRow, 4096);
  });

  it("pans by rows, never above the first nor past the region's last row", () => {
    const v = view();
    assert.equal(panRows(v, -5, 1 << 20).topRow, 0);
    assert.equal(panRows(v, 7, 1 << 20).topRow, 7);
    assert.equal(panRows(v, 10_000, 1 << 20).topRow, (1 << 20) / 1024 - 1);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type MapView, rowHeightPx } from "../web/src/geometry.js";
import {
  BACKGROUND_RGB, CHANNEL_RGB, CH_FREE, CH_USED, EDGE_BLOCK, EDGE_GROUP, Raster, packRgb,
} from "../web/src/raster.js";

const view = (overrides: Partial<MapView> = {}): MapView => ({ base: 0, bytesPerRow: 64, topRow: 0, widthPx: 16, heightPx: 16, ...overrides });

describe("lab map raster", () => {
  it("adds each span's bytes to the cells it covers, shares summing to one cell per cell", () => {
    const raster = new Raster(view()); // 4 bytes a cell
    raster.add(0, 6, CH_USED, 0);
    raster.add(6, 58, CH_FREE, 0);
    assert.equal(raster.share(0, 0, CH_USED), 1);
    assert.equal(raster.share(0, 1, CH_USED), 0.5);
    assert.equal(raster.share(0, 1, CH_FREE), 0.5);
    for (let column = 2; column < 16; column++) assert.equal(raster.share(0, column, CH_FREE), 1);
    assert.equal(raster.share(1, 0, CH_FREE), 0);
  });

  it("wraps a span across rows and clips it to the visible rows", () => {
    const v = view({ topRow: 1 });
    const raster = new Raster(v);
    raster.add(32, 64, CH_USED, EDGE_BLOCK); // row 0 is off screen: the visible part starts at 64
    assert.equal(raster.share(0, 0, CH_USED), 1);
    assert.equal(raster.share(0, 7, CH_USED), 1);
    assert.equal(raster.share(0, 8, CH_USED), 0);
    assert.equal(raster.edgeAt(0, 0), 0, "the block starts off screen: no edge");
  });

  it("marks a block's first cell only when the block is wide enough to see, group starts always", () => {
    const raster = new Raster(view());
    raster.add(0, 4, CH_USED, EDGE_BLOCK);
    raster.add(4, 16, CH_USED, EDGE_BLOCK);
    raster.add(20, 4, CH_USED, EDGE_GROUP);
    assert.equal(raster.edgeAt(0, 0), 0);
    assert.equal(raster.edgeAt(0, 1), EDGE_BLOCK);
    assert.equal(raster.edgeAt(0, 5), EDGE_GROUP);
  });

  it("resolves cells to colours: a full cell its channel's, an empty one the background, a half cell a mix", () => {
    const v = view();
    const raster = new Raster(v);
    raster.add(0, 4, CH_USED, 0);
    raster.add(4, 2, CH_USED, 0);
    const pixels = new Uint32Array(v.widthPx * v.heightPx);
    raster.resolve(pixels);
    const used = CHANNEL_RGB[CH_USED]!;
    assert.equal(pixels[0], packRgb(used[0], used[1], used[2]));
    const mixed = (i: number) => (used[i]! + BACKGROUND_RGB[i]!) / 2;
    assert.equal(pixels[1], packRgb(mixed(0), mixed(1), mixed(2)));
    assert.equal(pixels[2], packRgb(...BACKGROUND_RGB));
    // Each row is rowHeightPx tall: the pixel below the first cell is the same cell.
    const below = rowHeightPx(v) > 1 ? pixels[v.widthPx] : pixels[0];
    assert.equal(below, pixels[0]);
  });
});

describe("lab number formats", () => {
  it("groups counts by thousands", async () => {
    const { formatCount, formatBytes } = await import("../web/src/format.js");
    assert.deepEqual([0, 7, 999, 1000, 1234567, -45678].map(formatCount), ["0", "7", "999", "1,000", "1,234,567", "-45,678"]);
    assert.deepEqual([512, 1536, 10 * 2 ** 20].map(formatBytes), ["512 B", "1.5 KiB", "10.0 MiB"]);
  });
});

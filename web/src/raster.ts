/**
 * Turns spans into the map's pixels without a DOM: each span adds its bytes to the cells it
 * covers (one cell = one pixel column of one row, `bytesPerRow / widthPx` bytes), per channel;
 * `resolve` mixes each cell's channels into one colour and writes RGBA pixels, each row
 * `rowHeightPx` tall. Many spans in one cell blend (zoomed out); one span over many cells fills
 * them (zoomed in). Cost: the spans given plus the cells, nothing per byte.
 *
 *   channel   what                         channel   what
 *   0 USED    a live block                 4 SLAB_USED  a live slot in a slab (group)
 *   1 FREE    a reusable hole              5 SLAB_FREE  a free slot in a slab
 *   2 META    control blocks, headers      6 HELD       freed, held back (quarantine, delayed)
 *   3 PAD     alignment, rounding          7 RED_ZONE   a debug heap's guard bytes
 *                                          8 UNTOUCHED  committed, past the last span
 */
import { type MapView, rowHeightPx, visibleRange, visibleRows } from "./geometry.js";

export const CH_USED = 0;
export const CH_FREE = 1;
export const CH_META = 2;
export const CH_PAD = 3;
export const CH_SLAB_USED = 4;
export const CH_SLAB_FREE = 5;
export const CH_HELD = 6;
export const CH_RED_ZONE = 7;
export const CH_UNTOUCHED = 8;
export const CHANNEL_COUNT = 9;

/** Cell edge marks: a block starts here (drawn as a dark line), a group starts here. */
export const EDGE_BLOCK = 1;
export const EDGE_GROUP = 2;

/** A span must be this many pixels wide before its first column is drawn as an edge. */
export const MIN_EDGE_SPAN_PX = 3;

/** Rows at least this tall get a 1 px gap below them. */
const ROW_GAP_MIN_HEIGHT_PX = 6;

/** Colours as [r, g, b], one per channel, and the background (address beyond the region). */
export const CHANNEL_RGB: readonly (readonly [number, number, number])[] = [
  [59, 130, 246], // used: blue
  [226, 232, 240], // free: light grey
  [100, 116, 139], // meta: slate
  [250, 204, 21], // pad: yellow
  [20, 184, 166], // slab used: teal
  [204, 251, 241], // slab free: pale teal
  [168, 85, 247], // held: purple
  [239, 68, 68], // red zone: red
  [241, 245, 249], // committed, untouched: near white
];
/** Past the committed bytes: the store does not have them yet. */
export const BACKGROUND_RGB = [255, 255, 255] as const;
const EDGE_RGB = [15, 23, 42] as const;
const GROUP_EDGE_RGB = [234, 88, 12] as const;

export class Raster {
  view: MapView;
  private cells = 0;
  private coverage = new Float32Array(0);
  private edges = new Uint8Array(0);
  /** Per cell: 0 untouched, c + 1 when only channel c touched it, MIXED otherwise (the fast path of resolve). */
  private solo = new Uint8Array(0);
  private rangeStart = 0;
  private rangeEnd = 0;
  private cellBytes = 1;
  private rows = 0;

  constructor(view: MapView) {
    this.view = view;
    this.begin(view);
  }

  /** Starts a frame for `view`: clears every cell. */
  begin(view: MapView): void {
    this.view = view;
    this.rows = visibleRows(view);
    this.cells = this.rows * view.widthPx;
    if (this.coverage.length < this.cells * CHANNEL_COUNT) {
      this.coverage = new Float32Array(this.cells * CHANNEL_COUNT);
      this.edges = new Uint8Array(this.cells);
      this.solo = new Uint8Array(this.cells);
    } else {
      this.coverage.fill(0, 0, this.cells * CHANNEL_COUNT);
      this.edges.fill(0, 0, this.cells);
      this.solo.fill(0, 0, this.cells);
    }
    const range = visibleRange(view);
    this.rangeStart = range.start;
    this.rangeEnd = range.end;
    this.cellBytes = view.bytesPerRow / view.widthPx;
  }

  /**
   * Adds [start, start + bytes) to `channel`, `weight` of each byte (1: all of it; a coarse bin
   * passes the share of its bytes in that channel); `edge` marks its first cell (EDGE_* bits).
   * Only cells in [cellFrom, cellTo) change (a partial redraw passes the cells it cleared): each
   * gets what a whole frame would give it, bit for bit.
   */
  add(start: number, bytes: number, channel: number, edge: number, weight = 1, cellFrom = 0, cellTo = this.cells): void {
    const from = start < this.rangeStart ? this.rangeStart : start;
    const to = start + bytes > this.rangeEnd ? this.rangeEnd : start + bytes;
    if (to <= from) return;
    const cellBytes = this.cellBytes;
    const first = (from - this.rangeStart) / cellBytes;
    const last = (to - this.rangeStart) / cellBytes;
    let cell = Math.floor(first);
    const endCell = Math.min(Math.ceil(last), this.cells, cellTo);
    if (edge !== 0 && from === start && cell >= cellFrom && cell < cellTo && (edge & EDGE_GROUP || bytes / cellBytes >= MIN_EDGE_SPAN_PX)) {
      this.edges[cell]! |= edge;
    }
    if (cell < cellFrom) cell = cellFrom;
    const coverage = this.coverage;
    const solo = this.solo;
    const mark = channel + 1;
    for (; cell < endCell; cell++) {
      const lo = cell > first ? cell : first;
      const hi = cell + 1 < last ? cell + 1 : last;
      coverage[cell * CHANNEL_COUNT + channel]! += (hi - lo) * weight;
      const was = solo[cell]!;
      if (was !== mark) solo[cell] = was === 0 ? mark : MIXED;
    }
  }

  /** The cells [start, start + bytes) touches: the first one (see `endCellOf` for one past the last). */
  firstCellOf(start: number): number {
    return Math.floor(((start < this.rangeStart ? this.rangeStart : start) - this.rangeStart) / this.cellBytes);
  }

  /** One past the last cell that a span ending at `end` touches. */
  endCellOf(end: number): number {
    return Math.min(Math.ceil(((end > this.rangeEnd ? this.rangeEnd : end) - this.rangeStart) / this.cellBytes), this.cells);
  }

  /** The address where a cell begins. */
  addressOfCell(cell: number): number {
    return this.rangeStart + cell * this.cellBytes;
  }

  /** Every cell of the frame. */
  get cellCount(): number {
    return this.cells;
  }

  /** Clears cells [from, to), for a redraw of that part of the frame. */
  clearCells(from: number, to: number): void {
    this.coverage.fill(0, from * CHANNEL_COUNT, to * CHANNEL_COUNT);
    this.edges.fill(0, from, to);
    this.solo.fill(0, from, to);
  }

  /** Marks the cell that holds `address` with EDGE_* bits (nothing if it is off screen). */
  markEdge(address: number, edge: number): void {
    if (address < this.rangeStart || address >= this.rangeEnd) return;
    const cell = Math.floor((address - this.rangeStart) / this.cellBytes);
    this.edges[cell]! |= edge;
    if (this.solo[cell] === 0) this.solo[cell] = MIXED;
  }

  /** Bytes a cell stands for. */
  get bytesPerCell(): number {
    return this.cellBytes;
  }

  /** The share of a cell that a channel covers, 0..1 (for tests and for the legend). */
  share(rowIndex: number, column: number, channel: number): number {
    return this.coverage[(rowIndex * this.view.widthPx + column) * CHANNEL_COUNT + channel]!;
  }

  /** The edge bits of a cell. */
  edgeAt(rowIndex: number, column: number): number {
    return this.edges[rowIndex * this.view.widthPx + column]!;
  }

  /** Writes the frame into RGBA pixels of `widthPx` x `heightPx` (little-endian 0xAABBGGRR words). */
  resolve(pixels: Uint32Array): void {
    const { widthPx, heightPx } = this.view;
    const rowHeight = rowHeightPx(this.view);
    const drawnHeight = rowHeight >= ROW_GAP_MIN_HEIGHT_PX ? rowHeight - 1 : rowHeight;
    pixels.fill(BACKGROUND);
    for (let row = 0; row < this.rows; row++) {
      const y0 = row * rowHeight;
      if (y0 >= heightPx) break;
      const y1 = Math.min(heightPx, y0 + drawnHeight);
      const line = y0 * widthPx;
      for (let column = 0; column < widthPx; column++) pixels[line + column] = this.cellColour(row * widthPx + column);
      for (let y = y0 + 1; y < y1; y++) pixels.copyWithin(y * widthPx, line, line + widthPx);
    }
  }

  /** Rewrites the pixels of cells [from, to) only, as `resolve` would (the rest stay as they are). */
  resolveCells(pixels: Uint32Array, from: number, to: number): void {
    const { widthPx, heightPx } = this.view;
    const rowHeight = rowHeightPx(this.view);
    const drawnHeight = rowHeight >= ROW_GAP_MIN_HEIGHT_PX ? rowHeight - 1 : rowHeight;
    let row = Math.floor(from / widthPx);
    let column = from - row * widthPx;
    for (let cell = from; cell < to; cell++) {
      const y0 = row * rowHeight;
      if (y0 >= heightPx) return;
      const colour = this.cellColour(cell);
      const y1 = Math.min(heightPx, y0 + drawnHeight);
      for (let y = y0; y < y1; y++) pixels[y * widthPx + column] = colour;
      if (++column === widthPx) {
        column = 0;
        row++;
      }
    }
  }

  private cellColour(cell: number): number {
    const solo = this.solo[cell]!;
    if (solo === 0) return BACKGROUND;
    const edge = this.edges[cell]!;
    if (edge === 0 && solo !== MIXED && this.coverage[cell * CHANNEL_COUNT + solo - 1]! >= FULL_CELL) return SOLID[solo - 1]!;
    if (edge & EDGE_GROUP) return packRgb(GROUP_EDGE_RGB[0], GROUP_EDGE_RGB[1], GROUP_EDGE_RGB[2]);
    if (edge & EDGE_BLOCK) return packRgb(EDGE_RGB[0], EDGE_RGB[1], EDGE_RGB[2]);
    const base = cell * CHANNEL_COUNT;
    let total = 0;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let channel = 0; channel < CHANNEL_COUNT; channel++) {
      const share = this.coverage[base + channel]!;
      if (share === 0) continue;
      const rgb = CHANNEL_RGB[channel]!;
      total += share;
      r += share * rgb[0];
      g += share * rgb[1];
      b += share * rgb[2];
    }
    if (total === 0) return BACKGROUND;
    const rest = total < 1 ? 1 - total : 0;
    const scale = 1 / (total + rest);
    return packRgb(
      (r + rest * BACKGROUND_RGB[0]) * scale,
      (g + rest * BACKGROUND_RGB[1]) * scale,
      (b + rest * BACKGROUND_RGB[2]) * scale,
    );
  }
}

const BACKGROUND = packRgb(BACKGROUND_RGB[0], BACKGROUND_RGB[1], BACKGROUND_RGB[2]);
const SOLID = CHANNEL_RGB.map(([r, g, b]) => packRgb(r, g, b));
const MIXED = 255;
/** A cell this full of one channel is drawn in its colour, unblended. */
const FULL_CELL = 0.999;

/** One opaque pixel as ImageData's Uint32 view stores it on little-endian machines. */
export function packRgb(r: number, g: number, b: number): number {
  return ((255 << 24) | ((b & 255) << 16) | ((g & 255) << 8) | (r & 255)) >>> 0;
}

/**
 * The heap map's one mapping from addresses to pixels, and back. The map lays the heap out in rows
 * of `bytesPerRow` bytes (a power of two), each row `rowHeightPx` tall, starting at `base`:
 *
 *   y = 0            +-----------------------------------------------+  row topRow
 *                    | base + topRow * bytesPerRow  ...               |
 *   y = rowHeightPx  +-----------------------------------------------+  row topRow + 1
 *                    |                                               |
 *                    x = 0                                  x = widthPx
 *
 *   address a  ->  row = floor((a - base) / bytesPerRow),  column = (a - base) mod bytesPerRow
 *                  x = column * widthPx / bytesPerRow,     y = (row - topRow) * rowHeightPx
 *
 * Zooming halves or doubles `bytesPerRow` around an anchor address; panning moves `topRow`.
 * Pure numbers: no DOM, so node's tests run it.
 */

export interface MapView {
  /** The first address of the region (row 0 starts here). */
  base: number;
  bytesPerRow: number;
  /** The row drawn at the top of the canvas. */
  topRow: number;
  widthPx: number;
  heightPx: number;
}

/** Fewest and most bytes in a row: 16 shows single bytes as wide cells, 2^30 a whole store. */
export const MIN_BYTES_PER_ROW = 16;
export const MAX_BYTES_PER_ROW = 2 ** 30;
/** Rows are at least 1 px and at most this tall. */
export const MAX_ROW_HEIGHT_PX = 20;

/** Rows are as tall as ROW_HEIGHT_BYTES bytes are wide, within [1, MAX_ROW_HEIGHT_PX]. */
export const ROW_HEIGHT_BYTES = 8;

/** How tall a row is: 1 px at 8 bytes a pixel, 8 px at a byte a pixel, 20 px from 2.5 px a byte. */
export function rowHeightPx(view: MapView): number {
  const bytePx = view.widthPx / view.bytesPerRow;
  return Math.min(MAX_ROW_HEIGHT_PX, Math.max(1, Math.round(ROW_HEIGHT_BYTES * bytePx)));
}

/** Whole rows that fit on the canvas (a partly visible last row counts). */
export function visibleRows(view: MapView): number {
  return Math.ceil(view.heightPx / rowHeightPx(view));
}

/** The addresses [start, end) that the canvas shows. */
export function visibleRange(view: MapView): { start: number; end: number } {
  const start = view.base + view.topRow * view.bytesPerRow;
  return { start, end: start + visibleRows(view) * view.bytesPerRow };
}

/** Bytes that one column of pixels stands for (below 1 when a byte is wider than a pixel). */
export function bytesPerPixel(view: MapView): number {
  return view.bytesPerRow / view.widthPx;
}

/** Where an address is drawn: its pixel column (fractional) and the top of its row. */
export function addressToPoint(view: MapView, address: number): { x: number; y: number } {
  const offset = address - view.base;
  const row = Math.floor(offset / view.bytesPerRow);
  const column = offset - row * view.bytesPerRow;
  return { x: (column * view.widthPx) / view.bytesPerRow, y: (row - view.topRow) * rowHeightPx(view) };
}

/** The address under a pixel, or -1 outside the canvas or before the base. */
export function pointToAddress(view: MapView, x: number, y: number): number {
  if (x < 0 || y < 0 || x >= view.widthPx || y >= view.heightPx) return -1;
  const row = view.topRow + Math.floor(y / rowHeightPx(view));
  if (row < 0) return -1;
  const column = Math.floor((x * view.bytesPerRow) / view.widthPx);
  return view.base + row * view.bytesPerRow + Math.min(column, view.bytesPerRow - 1);
}

/**
 * Cuts [start, start + bytes) into the pieces that fall in visible rows: `visit(rowIndex, from,
 * to)` with the row counted from the top of the canvas and `from`/`to` byte columns in that row.
 */
export function forEachRowPiece(
  view: MapView,
  start: number,
  bytes: number,
  visit: (rowIndex: number, fromColumn: number, toColumn: number) => void,
): void {
  const range = visibleRange(view);
  const from = Math.max(start, range.start);
  const to = Math.min(start + bytes, range.end);
  if (to <= from) return;
  const bpr = view.bytesPerRow;
  let address = from;
  while (address < to) {
    const offset = address - range.start;
    const rowIndex = Math.floor(offset / bpr);
    const rowStart = range.start + rowIndex * bpr;
    const pieceEnd = Math.min(to, rowStart + bpr);
    visit(rowIndex, address - rowStart, pieceEnd - rowStart);
    address = pieceEnd;
  }
}

/** The view that shows [base, base + bytes) whole: the fewest bytes per row whose rows fit. */
export function fitWhole(base: number, bytes: number, widthPx: number, heightPx: number): MapView {
  let view: MapView = { base, bytesPerRow: MIN_BYTES_PER_ROW, topRow: 0, widthPx, heightPx };
  while (view.bytesPerRow < MAX_BYTES_PER_ROW && visibleRows(view) * view.bytesPerRow < bytes) {
    view = { ...view, bytesPerRow: view.bytesPerRow * 2 };
  }
  return view;
}

/**
 * Zooms in (`steps` > 0, fewer bytes per row) or out around the address under (x, y), which stays
 * in the same row on screen. Clamped to [MIN_BYTES_PER_ROW, MAX_BYTES_PER_ROW].
 */
export function zoomAt(view: MapView, steps: number, x: number, y: number): MapView {
  const anchor = pointToAddress(view, Math.max(0, Math.min(x, view.widthPx - 1)), Math.max(0, Math.min(y, view.heightPx - 1)));
  let bytesPerRow = view.bytesPerRow * 2 ** -steps;
  bytesPerRow = Math.min(MAX_BYTES_PER_ROW, Math.max(MIN_BYTES_PER_ROW, bytesPerRow));
  const next: MapView = { ...view, bytesPerRow };
  if (anchor < 0) return { ...next, topRow: 0 };
  const anchorRow = Math.floor((anchor - view.base) / bytesPerRow);
  const screenRow = Math.floor(Math.max(0, y) / rowHeightPx(next));
  return { ...next, topRow: Math.max(0, anchorRow - screenRow) };
}

/** Moves the view by whole rows, never above row 0 nor past the row that holds `endAddress`. */
export function panRows(view: MapView, rows: number, endAddress: number): MapView {
  const lastRow = Math.max(0, Math.ceil((endAddress - view.base) / view.bytesPerRow) - 1);
  return { ...view, topRow: Math.max(0, Math.min(lastRow, view.topRow + Math.trunc(rows))) };
}

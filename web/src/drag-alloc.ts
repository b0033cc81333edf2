/**
 * Allocate by dragging on the map. A press on free space (a free span, or bytes no span has
 * reached yet) and a drag give a size: the bytes from the pressed pixel to the pixel under the
 * pointer, both included (a pixel stands for `bytesPerPixel` bytes, at least one). On release
 * that size is malloc'ed: the policy decides where the block goes, and the map draws what it
 * returned. The typed size and the Allocate button do the same from the keyboard.
 */
import { type MapView, bytesPerPixel } from "./geometry.js";
import { formatBytes, formatCount } from "./format.js";

/** A press becomes a drag once the pointer moved this far; a shorter one is a click. */
export const DRAG_MIN_PX = 4;

export interface AllocDrag {
  pressX: number;
  pressY: number;
  /** The addresses under the press and under the pointer now. */
  from: number;
  to: number;
  moved: boolean;
}

/** The addresses a drag covers: from the lower pixel's first byte to the higher pixel's last. */
export function draggedRange(view: MapView, from: number, to: number): { start: number; bytes: number } {
  const pixelBytes = Math.max(1, Math.floor(bytesPerPixel(view)));
  const start = Math.min(from, to);
  return { start, bytes: Math.max(from, to) + pixelBytes - start };
}

/** What the map says while dragging. */
export function dragLabel(bytes: number): string {
  const size = bytes >= 1024 ? ` (${formatBytes(bytes)})` : "";
  return `allocate ${formatCount(bytes)} bytes${size}: release to malloc, Esc cancels`;
}

/** Starts a drag at a press; moves it; says whether it now counts as a drag. */
export function moveDrag(drag: AllocDrag, x: number, y: number, address: number): boolean {
  if (address >= 0) drag.to = address;
  if (!drag.moved && Math.hypot(x - drag.pressX, y - drag.pressY) >= DRAG_MIN_PX) drag.moved = true;
  return drag.moved;
}

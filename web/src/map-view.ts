/**
 * The heap map: a canvas that draws the allocator's spans over the visible addresses only
 * (walkInto over visibleRange; painter.ts repaints the cells whose spans changed), hover
 * tooltips, click, a drag across free space to allocate (drag-alloc.ts), zoom (wheel, + and -)
 * and pan (middle or Alt drag, arrows, Page Up/Down), down to single bytes with their values
 * drawn in the cells.
 */
import type { Allocator, AllocatorStats, HeapSpan } from "heapkit";
import { type MapView, addressToPoint, bytesPerPixel, fitWhole, panRows, pointToAddress, rowHeightPx, visibleRange, zoomAt } from "./geometry.js";
import { CH_UNTOUCHED, type Raster } from "./raster.js";
import { MapPainter, spanChannel } from "./painter.js";
import { heapKey, regionOf, regionOfStats, spanAt } from "./spans.js";
import { CoarseMap } from "./coarse.js";
import { describeSpan } from "./format.js";
import { type AllocDrag, dragLabel, draggedRange, moveDrag } from "./drag-alloc.js";

/** Cells at least this wide show their byte's value in hex. */
const HEX_LABEL_MIN_PX = 18;
/** Heaps with fewer live blocks are always walked: a frame of them is cheap. */
const COARSE_MIN_BLOCKS = 100_000;
/** DebugHeap's name (with its inner's): its frames are painted whole, red zones from its object walk. */
const HAS_RED_ZONES = /^debug\b/;
/** "Show all" shows at least this many bytes, so a new heap is not one giant block. */
const MIN_FIT_BYTES = 4096;

export interface MapCallbacks {
  /** A click (or Enter) on a span. */
  activate(span: HeapSpan, event: { shiftKey: boolean }): void;
  /** The selected span changed (keyboard or click). */
  select(span: HeapSpan | undefined): void;
  /** A drag across free space asks for a block of `bytes` (maps without it do not allocate). */
  allocate?(bytes: number): void;
}

export class HeapMap {
  readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly tooltip: HTMLDivElement;
  private view: MapView;
  private readonly painter: MapPainter;
  private readonly raster: Raster;
  private image: ImageData;
  private pixels: Uint32Array;
  private followWhole = true;
  private readonly coarse = new CoarseMap();
  /** The heap's key at the last draw: the coarse map is used once it stands still. */
  private previousKey = "";
  private dragY: number | undefined;
  /** A press on free space with the primary button: a drag to allocate, once it moves. */
  private allocDrag: AllocDrag | undefined;
  /** The click that ends a drag is not a click on a span. */
  private dragEnded = false;
  selected: HeapSpan | undefined;
  /** The view or the selection changed since the last draw. */
  needsDraw = true;
  /** Spans drawn in the last frame (for the bench and the tests). */
  spansDrawn = 0;
  /** Draws so far, the cells they filled and resolved, and the cells of a whole frame (for the bench). */
  readonly painted = { draws: 0, cells: 0, frameCells: 0 };
  allocator: Allocator | undefined;

  constructor(
    container: HTMLElement,
    private readonly callbacks: MapCallbacks,
    label: string,
  ) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "heap-map";
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute("role", "img");
    const dragHelp = callbacks.allocate === undefined ? "" : "a drag across free space allocates that size, ";
    this.canvas.setAttribute("aria-label", `${label}: heap map. ${dragHelp}+ and - zoom, arrows pan, [ and ] select blocks, Enter frees, Home shows all`);
    this.tooltip = document.createElement("div");
    this.tooltip.className = "map-tooltip";
    this.tooltip.hidden = true;
    container.append(this.canvas, this.tooltip);
    this.context = this.canvas.getContext("2d")!;
    this.view = fitWhole(0, 65536, 640, 320);
    this.painter = new MapPainter(this.view);
    this.raster = this.painter.raster;
    this.image = new ImageData(1, 1);
    this.pixels = new Uint32Array(this.image.data.buffer);
    this.listen();
  }

  /** Resizes the canvas to its box; returns true when it changed. */
  resize(widthPx: number, heightPx: number): void {
    const width = Math.max(64, Math.floor(widthPx));
    const height = Math.max(64, Math.floor(heightPx));
    if (width === this.view.widthPx && height === this.view.heightPx && this.canvas.width === width) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.view = { ...this.view, widthPx: width, heightPx: height };
    this.image = new ImageData(width, height);
    this.pixels = new Uint32Array(this.image.data.buffer);
    if (this.followWhole) this.fit();
    this.needsDraw = true;
  }

  get currentView(): MapView {
    return this.view;
  }

  setAllocator(allocator: Allocator): void {
    this.allocator = allocator;
    this.previousKey = "";
    this.coarse.key = "";
    this.selected = undefined;
    this.followWhole = true;
    this.fit();
  }

  /** Shows the whole region. */
  fit(region = this.allocator === undefined ? undefined : regionOf(this.allocator)): void {
    if (region === undefined) return;
    const shown = Math.max(MIN_FIT_BYTES, region.extentEnd - region.base);
    this.view = fitWhole(region.base, shown, this.view.widthPx, this.view.heightPx);
    this.followWhole = true;
    this.needsDraw = true;
  }

  /**
   * The first pixel where the last frame differs from a whole paint of the heap as it is now, or
   * -1 (for the end-to-end test: the repaints stayed exact; not for coarse or debug-heap frames).
   */
  wholePaintDifference(): number {
    if (this.allocator === undefined) return -1;
    const region = regionOf(this.allocator);
    const walkEnd = Math.min(visibleRange(this.view).end, region.end);
    const whole = new Uint32Array(this.pixels.length);
    new MapPainter(this.view).paint(this.allocator, this.view, walkEnd, region.extentEnd, region.end, whole);
    return whole.findIndex((pixel, index) => pixel !== this.pixels[index]);
  }

  /** Zooms around a canvas point; from the keyboard, around the selection or the middle of the used bytes in view. */
  zoom(steps: number, x?: number, y?: number): void {
    const anchor = x !== undefined && y !== undefined ? { x, y } : this.keyboardAnchor();
    this.view = zoomAt(this.view, steps, anchor.x, anchor.y);
    this.followWhole = false;
    this.needsDraw = true;
  }

  private keyboardAnchor(): { x: number; y: number } {
    const { start, end } = visibleRange(this.view);
    const usedEnd = this.allocator === undefined ? end : Math.min(end, regionOf(this.allocator).extentEnd);
    const selected = this.selected;
    const address = selected !== undefined && selected.start >= start && selected.start < end ? selected.start : (start + Math.max(start, usedEnd)) / 2;
    const point = addressToPoint(this.view, address);
    return { x: point.x, y: point.y + rowHeightPx(this.view) / 2 };
  }

  pan(rows: number): void {
    if (this.allocator === undefined) return;
    this.view = panRows(this.view, rows, regionOf(this.allocator).end);
    this.followWhole = false;
    this.needsDraw = true;
  }

  /** Draws the heap as it is now; `stats` is its stats() now, where the caller has it (some policies count for it). */
  draw(stats: AllocatorStats | undefined = this.allocator?.stats()): void {
    const allocator = this.allocator;
    if (allocator === undefined || stats === undefined) return;
    this.needsDraw = false;
    const region = regionOfStats(stats);
    if (this.followWhole && visibleRange(this.view).end < region.extentEnd) this.fit(region);
    const { start, end } = visibleRange(this.view);
    const walkEnd = Math.min(end, region.end);
    const coarse = !HAS_RED_ZONES.test(allocator.name) && this.drawCoarse(allocator, stats, start, walkEnd);
    if (coarse) this.painter.invalidate();
    else {
      if (HAS_RED_ZONES.test(allocator.name)) this.painter.paintWithRedZones(allocator, this.view, walkEnd, region.extentEnd, region.end, this.pixels);
      else this.painter.paint(allocator, this.view, walkEnd, region.extentEnd, region.end, this.pixels);
      this.spansDrawn = this.painter.spansWalked;
    }
    this.painted.draws++;
    this.painted.cells += coarse ? this.raster.cellCount : this.painter.cellsPainted;
    this.painted.frameCells = this.raster.cellCount;
    this.context.putImageData(this.image, 0, 0);
    this.drawHexLabels(allocator, start, walkEnd);
    if (this.selected !== undefined) this.outline(this.selected.start, this.selected.bytes, "#f97316");
    const drag = this.allocDrag;
    if (drag?.moved) {
      const range = draggedRange(this.view, drag.from, drag.to);
      this.outline(range.start, range.bytes, "#16a34a", "rgba(22, 163, 74, 0.35)");
    }
  }

  /**
   * A big heap that did not change since the last frame is drawn from its coarse map (built once,
   * on the second frame it stands still) where the view is zoomed out enough. Returns false when
   * the spans must be walked.
   */
  private drawCoarse(allocator: Allocator, stats: AllocatorStats, start: number, end: number): boolean {
    const key = heapKey(stats);
    const still = key === this.previousKey;
    this.previousKey = key;
    if (!still || stats.liveBlocks < COARSE_MIN_BLOCKS) return false;
    const cellBytes = bytesPerPixel(this.view);
    const region = regionOfStats(stats);
    if (this.coarse.key !== key) this.coarse.build(allocator, region.base, region.end, key, spanChannel);
    if (!this.coarse.covers(cellBytes)) return false;
    this.raster.begin(this.view);
    this.coarse.drawInto(this.raster, start, end, cellBytes);
    this.drawUntouched(this.coarse.end, region.end);
    this.raster.resolve(this.pixels);
    this.spansDrawn = 0;
    return true;
  }

  /** Committed bytes past the last span: the store has them, no block ever did. */
  private drawUntouched(from: number, committedEnd: number): void {
    if (committedEnd > from) this.raster.add(from, committedEnd - from, CH_UNTOUCHED, 0);
  }

  private drawHexLabels(allocator: Allocator, start: number, end: number): void {
    const bytePx = this.view.widthPx / this.view.bytesPerRow;
    if (bytePx < HEX_LABEL_MIN_PX) return;
    const context = this.context;
    const rowHeight = rowHeightPx(this.view);
    const u8 = allocator.store.u8;
    context.font = `${Math.min(12, rowHeight - 4)}px ui-monospace, monospace`;
    context.fillStyle = "#0f172a";
    context.textAlign = "center";
    context.textBaseline = "middle";
    const last = Math.min(end, u8.length);
    for (let address = start; address < last; address++) {
      const point = addressToPoint(this.view, address);
      context.fillText(u8[address]!.toString(16).padStart(2, "0"), point.x + bytePx / 2, point.y + rowHeight / 2);
    }
  }

  /** Outlines [first, first + bytes) row by row (the selection, a drag). */
  private outline(first: number, bytes: number, colour: string, fill?: string): void {
    const context = this.context;
    const rowHeight = rowHeightPx(this.view);
    const { start, end } = visibleRange(this.view);
    const from = Math.max(first, start);
    const to = Math.min(first + bytes, end);
    if (to <= from) return;
    context.strokeStyle = colour;
    context.lineWidth = 2;
    const bpr = this.view.bytesPerRow;
    for (let address = from; address < to; ) {
      const rowEnd = Math.min(to, address - ((address - this.view.base) % bpr) + bpr);
      const a = addressToPoint(this.view, address);
      const width = Math.max(2, ((rowEnd - address) * this.view.widthPx) / bpr);
      context.strokeRect(a.x + 1, a.y + 1, width - 2, Math.max(2, rowHeight - 2));
      if (fill !== undefined) {
        context.fillStyle = fill;
        context.fillRect(a.x, a.y, width, rowHeight);
      }
      address = rowEnd;
    }
  }

  /** The span under a canvas point. */
  spanAtPoint(x: number, y: number): HeapSpan | undefined {
    if (this.allocator === undefined) return undefined;
    const address = pointToAddress(this.view, x, y);
    if (address < 0 || address >= regionOf(this.allocator).end) return undefined;
    return spanAt(this.allocator, address);
  }

  /** Selects the span before (-1) or after (+1) the selected one. */
  selectNext(direction: 1 | -1): void {
    const allocator = this.allocator;
    if (allocator === undefined) return;
    const from = this.selected ?? spanAt(allocator, visibleRange(this.view).start);
    if (from === undefined) return;
    const address = direction > 0 ? from.start + from.bytes : from.start - 1;
    const next = address < regionOf(allocator).base ? undefined : spanAt(allocator, address);
    if (next === undefined) return;
    this.selected = next;
    this.callbacks.select(next);
    this.revealSelected();
    this.needsDraw = true;
  }

  private revealSelected(): void {
    const span = this.selected;
    if (span === undefined) return;
    const { start, end } = visibleRange(this.view);
    if (span.start >= start && span.start < end) return;
    const row = Math.floor((span.start - this.view.base) / this.view.bytesPerRow);
    this.view = { ...this.view, topRow: Math.max(0, row - 2) };
    this.followWhole = false;
  }

  private listen(): void {
    const canvas = this.canvas;
    canvas.addEventListener("mousemove", (event) => {
      if (this.allocDrag !== undefined) return this.onDragMove(event.offsetX, event.offsetY);
      if (this.dragY !== undefined) {
        const rows = Math.trunc((this.dragY - event.offsetY) / rowHeightPx(this.view));
        if (rows !== 0) {
          this.pan(rows);
          this.dragY = event.offsetY;
        }
        return;
      }
      this.showTooltip(event.offsetX, event.offsetY);
    });
    canvas.addEventListener("mouseleave", () => {
      this.tooltip.hidden = true;
      this.dragY = undefined;
      this.cancelDrag();
    });
    canvas.addEventListener("mousedown", (event) => {
      this.dragEnded = false;
      if (event.button === 1 || event.altKey) this.dragY = event.offsetY;
      else if (event.button === 0 && !event.shiftKey) this.startDrag(event.offsetX, event.offsetY);
    });
    canvas.addEventListener("mouseup", () => {
      this.dragY = undefined;
      this.endDrag();
    });
    canvas.addEventListener("click", (event) => {
      if (this.dragEnded) {
        this.dragEnded = false;
        return;
      }
      if (event.altKey) return;
      const span = this.spanAtPoint(event.offsetX, event.offsetY);
      if (span === undefined) return;
      this.selected = span;
      this.needsDraw = true;
      this.callbacks.select(span);
      this.callbacks.activate(span, event);
    });
    canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        if (event.shiftKey) this.pan(Math.sign(event.deltaY) * 8);
        else this.zoom(event.deltaY < 0 ? 1 : -1, event.offsetX, event.offsetY);
      },
      { passive: false },
    );
    canvas.addEventListener("keydown", (event) => this.onKey(event));
  }

  private onKey(event: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.view.heightPx / rowHeightPx(this.view)) - 1);
    const actions: Record<string, () => void> = {
      "+": () => this.zoom(1),
      "=": () => this.zoom(1),
      "-": () => this.zoom(-1),
      ArrowUp: () => this.pan(-1),
      ArrowDown: () => this.pan(1),
      PageUp: () => this.pan(-page),
      PageDown: () => this.pan(page),
      Home: () => this.fit(),
      "[": () => this.selectNext(-1),
      "]": () => this.selectNext(1),
      ArrowLeft: () => this.selectNext(-1),
      ArrowRight: () => this.selectNext(1),
      Enter: () => this.selected !== undefined && this.callbacks.activate(this.selected, event),
      Delete: () => this.selected !== undefined && this.callbacks.activate(this.selected, event),
      Escape: () => this.cancelDrag(),
    };
    const action = actions[event.key];
    if (action === undefined) return;
    event.preventDefault();
    action();
  }

  /** A press on free space (a free span, or past the spans) may become a drag to allocate. */
  private startDrag(x: number, y: number): void {
    if (this.callbacks.allocate === undefined || this.allocator === undefined) return;
    const address = pointToAddress(this.view, x, y);
    if (address < regionOf(this.allocator).base) return;
    const span = spanAt(this.allocator, address);
    if (span !== undefined && (span.kind !== "free" || span.held !== undefined)) return;
    this.allocDrag = { pressX: x, pressY: y, from: address, to: address, moved: false };
  }

  private onDragMove(x: number, y: number): void {
    const drag = this.allocDrag!;
    if (!moveDrag(drag, x, y, pointToAddress(this.view, x, y))) return;
    this.placeTooltip(dragLabel(draggedRange(this.view, drag.from, drag.to).bytes), x, y);
    this.needsDraw = true;
  }

  private endDrag(): void {
    const drag = this.allocDrag;
    this.allocDrag = undefined;
    if (drag === undefined || !drag.moved) return;
    this.dragEnded = true;
    this.tooltip.hidden = true;
    this.needsDraw = true;
    this.callbacks.allocate?.(draggedRange(this.view, drag.from, drag.to).bytes);
  }

  private cancelDrag(): void {
    if (this.allocDrag === undefined) return;
    this.dragEnded = this.allocDrag.moved;
    this.allocDrag = undefined;
    this.tooltip.hidden = true;
    this.needsDraw = true;
  }

  private showTooltip(x: number, y: number): void {
    const span = this.spanAtPoint(x, y);
    if (span === undefined) {
      this.tooltip.hidden = true;
      return;
    }
    this.placeTooltip(describeSpan(span), x, y);
  }

  private placeTooltip(text: string, x: number, y: number): void {
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    const left = Math.min(x + 14, this.view.widthPx - 260);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${y + 14}px`;
  }
}

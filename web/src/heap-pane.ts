/**
 * One allocator on screen: the heap map, the stats beside it, the footprint plot and the hex
 * view of the selected block. `render` draws the map every time and what the allocator is now
 * beside it at most every PANEL_EVERY_MS (the numbers, the summary's whole-region walk, the plot);
 * `sample` adds a point to the plot. The summary's walk is throttled further on big heaps.
 */
import type { Allocator, AllocatorStats, HeapSpan } from "heapkit";
import { HeapMap, type MapCallbacks } from "./map-view.js";
import { renderHex } from "./hex-view.js";
import { FootprintPlot } from "./plot.js";
import { FootprintSeries } from "./series.js";
import { heapKey, regionOf, spanAt } from "./spans.js";
import { StatsPanel } from "./stats-panel.js";
import { SpanSummary } from "./summary.js";

/** Heaps with more live blocks than this walk for the summary at most every SLOW_SUMMARY_MS. */
const BIG_HEAP_BLOCKS = 50_000;
const SLOW_SUMMARY_MS = 500;
/** The numbers beside the map and the plot are redrawn at most this often (the map every frame). */
const PANEL_EVERY_MS = 100;

export class HeapPane {
  readonly map: HeapMap;
  readonly series = new FootprintSeries();
  readonly summary = new SpanSummary();
  private readonly stats: StatsPanel;
  private readonly plot: FootprintPlot;
  private readonly hex: HTMLElement;
  private readonly mapBox: HTMLElement;
  private readonly plotBox: HTMLElement;
  private lastSummaryMs = -Infinity;
  /** The counters the summary was last walked at: an unchanged heap is not walked again. */
  private summaryKey = "";
  /** The heap's key when the hex view was last drawn. */
  private hexKey = "";
  private lastPanelMs = -Infinity;
  /** Some numbers were left for a later frame: render again even if nothing changes. */
  stale = false;
  /** The stats() the panel shows now. */
  shownStats: AllocatorStats | undefined;
  allocator: Allocator | undefined;

  constructor(
    readonly root: HTMLElement,
    label: string,
    callbacks: Partial<MapCallbacks> = {},
  ) {
    root.classList.add("heap-pane");
    const title = document.createElement("h2");
    title.className = "pane-title";
    title.textContent = label;
    this.mapBox = box("map-box");
    const side = box("pane-side");
    this.plotBox = box("plot-box");
    this.hex = box("hex-view");
    this.hex.setAttribute("aria-live", "polite");
    root.append(title, this.mapBox, side, this.plotBox, this.hex);
    this.map = new HeapMap(this.mapBox, {
      activate: (span, event) => callbacks.activate?.(span, event),
      select: (span) => {
        this.showHex(span);
        callbacks.select?.(span);
      },
      ...(callbacks.allocate === undefined ? {} : { allocate: callbacks.allocate }),
    }, label);
    this.stats = new StatsPanel(side);
    this.plot = new FootprintPlot(this.plotBox, 400, 160);
    this.layout();
  }

  setTitle(text: string): void {
    const title = this.root.querySelector(".pane-title")!;
    if (title.textContent !== text) title.textContent = text;
  }

  /** Sizes the canvas and plot to their boxes. */
  layout(): void {
    this.map.resize(this.mapBox.clientWidth, this.mapBox.clientHeight);
    this.plot.resize(Math.max(200, this.plotBox.clientWidth), 160);
  }

  setAllocator(allocator: Allocator): void {
    this.allocator = allocator;
    this.map.setAllocator(allocator);
    this.series.clear();
    this.lastSummaryMs = -Infinity;
    this.lastPanelMs = -Infinity;
    this.summaryKey = "";
    this.showHex(undefined);
  }

  /** Adds the gauges after op `op` to the plot's series (stats() only when the series keeps the point). */
  sample(op: number): void {
    if (this.allocator === undefined || !this.series.wants(op)) return;
    const stats = this.allocator.stats();
    this.series.add(op, stats.liveBytes, stats.extentBytes, stats.committedBytes);
  }

  render(): void {
    const allocator = this.allocator;
    if (allocator === undefined) return;
    const stats = allocator.stats();
    this.map.draw(stats);
    const now = performance.now();
    const key = heapKey(stats);
    this.stale = false;
    if (now - this.lastPanelMs >= PANEL_EVERY_MS) {
      this.refreshSummary(allocator, stats.liveBlocks, key, now);
      this.stats.update(stats, this.summary);
      this.shownStats = stats;
      this.plot.update(this.series);
      this.lastPanelMs = now;
    } else this.stale = true;
    if (key !== this.hexKey) this.refreshSelection();
    this.hexKey = key;
  }

  /** Walks the whole region for the summary when the heap changed (on big heaps, at most every SLOW_SUMMARY_MS). */
  private refreshSummary(allocator: Allocator, liveBlocks: number, key: string, now: number): void {
    if (key === this.summaryKey) return;
    if (liveBlocks > BIG_HEAP_BLOCKS && now - this.lastSummaryMs < SLOW_SUMMARY_MS) {
      this.stale = true;
      return;
    }
    this.summary.reset();
    const region = regionOf(allocator);
    allocator.walkInto(this.summary.visit, region.base, region.end);
    this.lastSummaryMs = now;
    this.summaryKey = key;
  }

  /** The selection follows the block at its address as the heap changes. */
  private refreshSelection(): void {
    const selected = this.map.selected;
    if (selected === undefined || this.allocator === undefined) return;
    const now = spanAt(this.allocator, selected.start);
    this.map.selected = now;
    this.showHex(now);
  }

  private showHex(span: HeapSpan | undefined): void {
    if (this.allocator !== undefined) renderHex(this.hex, this.allocator, span);
  }
}

function box(className: string): HTMLElement {
  const element = document.createElement("div");
  element.className = className;
  return element;
}

/**
 * The numbers beside the map: every gauge straight from `stats()` (each cell keeps the raw value
 * in data-value, so a test can compare it with the allocator), what the walk adds (free runs,
 * metadata, free spans by size class), and bars of reserved vs committed vs extent vs live.
 */
import type { AllocatorStats } from "heapkit";
import { formatBytes, formatCount, formatPercent } from "./format.js";
import { SIZE_CLASS_COUNT, type SpanSummary } from "./summary.js";

type Field = [key: string, label: string, format: (value: number) => string];

const STAT_FIELDS: Field[] = [
  ["liveBytes", "used bytes", formatBytes],
  ["liveBlocks", "used blocks", formatCount],
  ["freeBytes", "free bytes (holes)", formatBytes],
  ["largestFreeBytes", "largest free block", formatBytes],
  ["internalFragmentationBytes", "internal fragmentation", formatBytes],
  ["externalFragmentation", "external fragmentation", formatPercent],
  ["extentBytes", "extent (highest byte used)", formatBytes],
  ["peakExtentBytes", "peak extent", formatBytes],
  ["committedBytes", "committed (physical)", formatBytes],
  ["reservedBytes", "reserved (virtual)", formatBytes],
  ["mallocCount", "mallocs", formatCount],
  ["freeCount", "frees", formatCount],
];

const SUMMARY_FIELDS: Field[] = [
  ["freeRuns", "free runs", formatCount],
  ["metaBytes", "metadata bytes", formatBytes],
  ["padBytes", "padding bytes", formatBytes],
  ["heldBytes", "held (quarantine)", formatBytes],
];

export class StatsPanel {
  private readonly cells = new Map<string, HTMLElement>();
  private readonly bars: HTMLElement;
  private readonly classes: HTMLElement;
  private barsKey = "";
  private classesKey = "";

  constructor(container: HTMLElement) {
    const table = document.createElement("dl");
    table.className = "stats";
    for (const [key, label] of [...STAT_FIELDS, ...SUMMARY_FIELDS]) {
      const term = document.createElement("dt");
      term.textContent = label;
      const value = document.createElement("dd");
      value.dataset.stat = key;
      table.append(term, value);
      this.cells.set(key, value);
    }
    this.bars = document.createElement("div");
    this.bars.className = "footprint-bars";
    this.classes = document.createElement("div");
    this.classes.className = "size-classes";
    const classTitle = document.createElement("h3");
    classTitle.textContent = "Free spans by size class";
    container.append(table, this.bars, classTitle, this.classes);
  }

  update(stats: AllocatorStats, summary: SpanSummary): void {
    const values = stats as unknown as Record<string, number>;
    for (const [key, , format] of STAT_FIELDS) this.set(key, values[key] ?? 0, format);
    this.set("freeRuns", summary.freeRuns, formatCount);
    this.set("metaBytes", summary.metaBytes, formatBytes);
    this.set("padBytes", summary.padBytes, formatBytes);
    this.set("heldBytes", summary.heldBytes, formatBytes);
    this.drawBars(stats);
    this.drawClasses(summary);
  }

  private set(key: string, value: number, format: (value: number) => string): void {
    const cell = this.cells.get(key)!;
    const raw = String(value);
    if (cell.dataset.value === raw) return;
    cell.dataset.value = raw;
    cell.textContent = format(value);
  }

  private drawBars(stats: AllocatorStats): void {
    const key = `${stats.committedBytes} ${stats.extentBytes} ${stats.liveBytes} ${stats.reservedBytes}`;
    if (key === this.barsKey) return;
    this.barsKey = key;
    const top = Math.max(1, stats.committedBytes, stats.extentBytes);
    const rows: [string, number][] = [
      ["committed", stats.committedBytes],
      ["extent", stats.extentBytes],
      ["live", stats.liveBytes],
    ];
    const reserved = `reserved ${formatBytes(stats.reservedBytes)}; bars are shares of ${formatBytes(top)}`;
    this.bars.replaceChildren(
      ...rows.map(([name, value]) => bar(name, value, top)),
      Object.assign(document.createElement("small"), { textContent: reserved }),
    );
  }

  private drawClasses(summary: SpanSummary): void {
    const key = summary.freeByClass.join(" ");
    if (key === this.classesKey) return;
    this.classesKey = key;
    let most = 1;
    for (let k = 0; k < SIZE_CLASS_COUNT; k++) most = Math.max(most, summary.freeByClass[k]!);
    const rows: HTMLElement[] = [];
    for (let k = 0; k < SIZE_CLASS_COUNT; k++) {
      const count = summary.freeByClass[k]!;
      if (count === 0) continue;
      const label = `≤ ${formatBytes(2 ** k)}: ${formatCount(count)} (${formatBytes(summary.freeBytesByClass[k]!)})`;
      rows.push(bar(label, count, most, "class"));
    }
    if (rows.length === 0) rows.push(Object.assign(document.createElement("small"), { textContent: "no free spans" }));
    this.classes.replaceChildren(...rows);
  }
}

function bar(label: string, value: number, top: number, kind = "footprint"): HTMLElement {
  const row = document.createElement("div");
  row.className = `bar bar-${kind}`;
  const fill = document.createElement("span");
  fill.className = "bar-fill";
  fill.style.width = `${Math.min(100, (100 * value) / top)}%`;
  const text = document.createElement("span");
  text.className = "bar-label";
  text.textContent = kind === "footprint" ? `${label} ${formatBytes(value)}` : label;
  row.append(fill, text);
  return row;
}

/** Footprint over time (live, extent and committed bytes against the op index), drawn by uPlot. */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatBytes } from "./format.js";
import type { FootprintSeries } from "./series.js";

export class FootprintPlot {
  private readonly plot: uPlot;
  private shown = "";

  constructor(container: HTMLElement, widthPx: number, heightPx: number) {
    this.plot = new uPlot(
      {
        width: widthPx,
        height: heightPx,
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [{ label: "op" }, { values: (_plot, ticks) => ticks.map((tick) => formatBytes(tick)), size: 70 }],
        series: [
          { label: "op" },
          { label: "live", stroke: "#2563eb", width: 1.5, value: (_plot, v) => (v == null ? "" : formatBytes(v)) },
          { label: "extent", stroke: "#ea580c", width: 1.5, value: (_plot, v) => (v == null ? "" : formatBytes(v)) },
          { label: "committed", stroke: "#64748b", width: 1, dash: [4, 3], value: (_plot, v) => (v == null ? "" : formatBytes(v)) },
        ],
      },
      [[], [], [], []],
      container,
    );
  }

  /** Redraws when the series gained or lost points since the last call. */
  update(series: FootprintSeries): void {
    const key = `${series.ops.length} ${series.ops.at(-1)} ${series.stride}`;
    if (key === this.shown) return;
    this.shown = key;
    this.plot.setData([series.ops, series.live, series.extent, series.committed]);
  }

  resize(widthPx: number, heightPx: number): void {
    this.plot.setSize({ width: widthPx, height: heightPx });
  }
}

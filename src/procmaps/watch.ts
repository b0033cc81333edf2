/**
 * `heapkit maps --watch PID`: samples a process's VSZ and RSS every interval (from maps and
 * smaps_rollup, which cost far less than a full smaps), and draws both over time, in text and
 * as an HTML page built on the report's SVG line chart.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { asciiPlot } from "./ascii-plot.js";
import { NoAddressSpaceError, ProcessNotFoundError } from "./errors.js";
import { shortBytes } from "./format.js";
import { readProcessTotals, type ReadOptions } from "./read.js";
import { escapeXml, lineChart, PALETTE } from "../report/svg.js";
import { formatBinary } from "../cli/format.js";

export interface WatchSample {
  /** Milliseconds since the first sample. */
  timeMs: number;
  vszBytes: number;
  rssBytes: number;
}

export interface WatchOptions extends ReadOptions {
  intervalMs: number;
  samples: number;
  /** Called with each sample as it is taken. */
  onSample?(sample: WatchSample): void;
}

export interface WatchResult {
  pid: number;
  intervalMs: number;
  samples: WatchSample[];
  /** True when the process exited before the last sample. */
  exited: boolean;
}

/** Samples `pid` until `samples` are taken or it exits. A PID missing at the start is an error. */
export async function watchProcess(pid: number, options: WatchOptions): Promise<WatchResult> {
  const samples: WatchSample[] = [];
  const t0 = performance.now();
  for (let i = 0; i < options.samples; i++) {
    if (i > 0) await sleep(Math.max(0, t0 + i * options.intervalMs - performance.now()));
    let totals;
    try {
      totals = readProcessTotals(pid, options);
    } catch (error) {
      const gone = error instanceof ProcessNotFoundError || (error instanceof NoAddressSpaceError && error.zombie);
      if (gone && samples.length > 0) return { pid, intervalMs: options.intervalMs, samples, exited: true };
      throw error;
    }
    const sample = { timeMs: Math.round(performance.now() - t0), ...totals };
    samples.push(sample);
    options.onSample?.(sample);
  }
  return { pid, intervalMs: options.intervalMs, samples, exited: false };
}

export function sampleLine(sample: WatchSample): string {
  return `${(sample.timeMs / 1000).toFixed(1).padStart(7)} s  VSZ ${shortBytes(sample.vszBytes).padStart(8)}  RSS ${shortBytes(sample.rssBytes).padStart(8)}`;
}

/** VSZ and RSS as two text plots (each on its own scale: VSZ is often a hundred times RSS). */
export function watchText(result: WatchResult): string {
  const times = result.samples.map((s) => s.timeMs);
  const plot = (title: string, values: number[]): string[] => asciiPlot({ title, times, values, format: shortBytes });
  const end = result.exited ? `process ${result.pid} exited after ${result.samples.length} samples` : `${result.samples.length} samples of process ${result.pid}`;
  return [...plot("VSZ", result.samples.map((s) => s.vszBytes)), "", ...plot("RSS", result.samples.map((s) => s.rssBytes)), "", end, ""].join("\n");
}

/** One self-contained page: the VSZ and RSS charts and the samples' range. */
export function watchHtml(result: WatchResult, generatedAt: Date): string {
  const xs = result.samples.map((s) => s.timeMs / 1000);
  const chart = (title: string, label: string, ys: number[], color: string): string =>
    lineChart({ title, xLabel: "seconds", series: [{ label, color, xs, ys }], yFormat: formatBinary, yBinary: true });
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>heapkit maps --watch ${result.pid}</title>`,
    "<style>body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; } svg { border: 1px solid #eee; }</style></head><body>",
    `<h1>Process ${result.pid}: VSZ and RSS over time</h1>`,
    `<p>${escapeXml(`${result.samples.length} samples every ${result.intervalMs} ms, taken ${generatedAt.toISOString()}${result.exited ? "; the process exited" : ""}. VSZ: the address space the process has reserved; RSS: the part of it in physical memory.`)}</p>`,
    chart("VSZ (virtual size: reserved address space)", "VSZ", result.samples.map((s) => s.vszBytes), PALETTE[0]!),
    chart("RSS (resident set: pages in physical memory)", "RSS", result.samples.map((s) => s.rssBytes), PALETTE[1]!),
    "</body></html>",
    "",
  ].join("\n");
}

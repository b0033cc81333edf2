/**
 * The `heapkit report` page: one self-contained HTML file (inline CSS and SVG, no script, no
 * network), with the comparison table first and then, per trace, four plots: footprint and live
 * bytes over time per allocator, external fragmentation over time, the request size histogram
 * and the block lifetime histogram (both log scale).
 */
import { formatBinary, formatCount } from "./numbers.js";
import { bestValue, MEASURES, resultText, shortName, type ComparisonRow } from "./rows.js";
import { blockLifetimes, log2Histogram, requestSizes, type HistogramBucket } from "../trace/stats.js";
import type { TimeSeries } from "../trace/samples.js";
import type { Trace } from "../trace/trace.js";
import { barChart, escapeXml, formatShort, lineChart, PALETTE, type LineSeries } from "./svg.js";

export interface ReportInput {
  traces: Trace[];
  rows: ComparisonRow[];
  generatedAt: Date;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
td.best { font-weight: bold; background: #e8f5e9; }
td.note { text-align: left; color: #666; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
svg { border: 1px solid #eee; background: #fff; }
`;

export function reportHtml(input: ReportInput): string {
  return [
    "<!DOCTYPE html>",
    `<html lang="en"><head><meta charset="utf-8"><title>heapkit report</title><style>${STYLE}</style></head><body>`,
    "<h1>heapkit report</h1>",
    `<p>Generated ${escapeXml(input.generatedAt.toISOString())} from ${input.traces.length} trace(s). Bold: best for its trace.</p>`,
    "<h2>Comparison</h2>",
    comparisonTable(input.rows),
    ...input.traces.map((trace) => traceSection(trace, input.rows.filter((row) => row.trace === trace.name))),
    "</body></html>",
    "",
  ].join("\n");
}

function comparisonTable(rows: ComparisonRow[]): string {
  const head = `<tr><th>trace</th><th>allocator</th>${MEASURES.map((m) => `<th>${escapeXml(m.head)}</th>`).join("")}</tr>`;
  const traceNames = [...new Set(rows.map((row) => row.trace))];
  const body = traceNames.flatMap((name) => {
    const traceRows = rows.filter((row) => row.trace === name);
    const best = MEASURES.map((measure) => bestValue(traceRows, measure));
    return traceRows.map((row) => `<tr><td>${escapeXml(shortName(row.trace))}</td><td>${escapeXml(row.allocator)}</td>${measureCells(row, best)}</tr>`);
  });
  return `<table id="comparison">\n${head}\n${body.join("\n")}\n</table>`;
}

function measureCells(row: ComparisonRow, best: (number | null)[]): string {
  if (row.status !== "ok") {
    return `<td class="note" colspan="${MEASURES.length}">${escapeXml(resultText(row))}</td>`;
  }
  return MEASURES.map((measure, i) => {
    const value = measure.value(row.result!);
    if (value === null) return "<td>-</td>";
    return `<td${value === best[i] ? ' class="best"' : ""}>${escapeXml(measure.text(value))}</td>`;
  }).join("");
}

function traceSection(trace: Trace, rows: ComparisonRow[]): string {
  const replayed = rows.filter((row) => row.result !== null);
  const summary = `${formatCount(trace.opCount)} ops, peak live ${formatBinary(trace.peakLiveBytes)}, ${formatCount(trace.finalLiveBlocks)} blocks live at the end`;
  return [
    `<section class="trace"><h2>${escapeXml(shortName(trace.name))}</h2><p>${escapeXml(summary)}</p><div class="plots">`,
    footprintChart(replayed),
    fragmentationChart(replayed),
    histogramChart("Request sizes (bytes, log scale)", "request size", log2Histogram(requestSizes(trace))),
    histogramChart("Block lifetimes (ops from malloc to free, log scale)", "lifetime in ops", log2Histogram(blockLifetimes(trace))),
    "</div></section>",
  ].join("\n");
}

function footprintChart(rows: ComparisonRow[]): string {
  const series: LineSeries[] = rows.map((row, i) => ({
    label: `${row.allocator} extent`,
    color: PALETTE[i % PALETTE.length]!,
    xs: row.result!.series.op,
    ys: row.result!.series.extentBytes,
  }));
  // Live bytes come from the trace, so any row has them: take the one that got furthest.
  const longest = rows.map((row) => row.result!.series).reduce<TimeSeries | undefined>((best, s) => (best === undefined || s.op.length > best.op.length ? s : best), undefined);
  if (longest !== undefined) series.push({ label: "live bytes", color: "#000", xs: longest.op, ys: longest.liveBytes, dashed: true });
  return lineChart({ title: "Footprint (heap extent) and live bytes over time", xLabel: "ops", series, yFormat: formatBinary, yBinary: true });
}

function fragmentationChart(rows: ComparisonRow[]): string {
  const series: LineSeries[] = rows.map((row, i) => ({
    label: row.allocator,
    color: PALETTE[i % PALETTE.length]!,
    xs: row.result!.series.op,
    ys: row.result!.series.externalFragmentation,
  }));
  const yFormat = (v: number): string => `${Math.round(v * 100)} %`;
  return lineChart({ title: "External fragmentation over time (1 - largest hole / free bytes)", xLabel: "ops", series, yFormat, yMax: 1 });
}

function histogramChart(title: string, xLabel: string, buckets: HistogramBucket[]): string {
  const bars = buckets.map((bucket) => ({ label: bucket.from === bucket.to ? formatShort(bucket.from) : `${formatShort(bucket.from)}-${formatShort(bucket.to)}`, value: bucket.count }));
  return barChart({ title, xLabel, bars, logScale: true });
}

/**
 * Hand-written inline SVG plots for the HTML report: a line chart (several series over one x
 * axis) and a bar chart with an optional log-scale y axis. No dependencies; every piece of text
 * goes through `escapeXml`.
 *
 *   +--------------------------------------------+
 *   | title                                      |
 *   |   y ticks |  plot area (PLOT_W x PLOT_H)   |  legend below the x axis
 *   |           +--------------------------------|
 *   |              x ticks, x label, legend      |  (a bar chart: slanted labels, x label)
 *   +--------------------------------------------+
 */

const WIDTH = 720;
const HEIGHT = 350;
const MARGIN = { left: 80, right: 20, top: 34, bottom: 94 } as const;
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const PLOT_BOTTOM = MARGIN.top + PLOT_H;
const TICKS = 5;

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

export interface LineSeries {
  label: string;
  color: string;
  xs: number[];
  ys: number[];
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  series: LineSeries[];
  yFormat(value: number): string;
  /** Fix the y range to [0, yMax] (e.g. 1 for ratios); otherwise it fits the data. */
  yMax?: number;
  /** Round the y ticks in powers of 1024 (for bytes) rather than of 10. */
  yBinary?: boolean;
}

export interface Bar {
  label: string;
  value: number;
}

export interface BarChart {
  title: string;
  xLabel: string;
  bars: Bar[];
  logScale: boolean;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function lineChart(chart: LineChart): string {
  const xMax = Math.max(1, ...chart.series.flatMap((s) => s.xs));
  const yUnit = chart.yBinary ? binaryUnit(Math.max(0, ...chart.series.flatMap((s) => s.ys))) : 1;
  const yMax = chart.yMax ?? niceCeiling(Math.max(0, ...chart.series.flatMap((s) => s.ys)) / yUnit) * yUnit;
  const x = (v: number): number => MARGIN.left + (v / xMax) * PLOT_W;
  const y = (v: number): number => MARGIN.top + PLOT_H - (yMax === 0 ? 0 : (v / yMax) * PLOT_H);
  const lines = chart.series.map((s) => {
    const points = s.xs.map((xv, i) => `${x(xv).toFixed(1)},${y(s.ys[i]!).toFixed(1)}`).join(" ");
    const dash = s.dashed ? ` stroke-dasharray="5 3"` : "";
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5"${dash} points="${points}"><title>${escapeXml(s.label)}</title></polyline>`;
  });
  const yTicks = linearTicks(yMax / yUnit).map((v) => yTick(y(v * yUnit), chart.yFormat(v * yUnit)));
  const xTicks = linearTicks(xMax).map((v) => xTick(x(v), formatShort(v)));
  return svg(chart.title, chart.xLabel, PLOT_BOTTOM + 32, [...yTicks, ...xTicks, ...lines, legend(chart.series)]);
}

export function barChart(chart: BarChart): string {
  const max = Math.max(1, ...chart.bars.map((b) => b.value));
  const top = chart.logScale ? 10 ** Math.ceil(Math.log10(max)) : niceCeiling(max);
  const scale = (v: number): number => chart.logScale ? (v <= 0 ? 0 : Math.log10(1 + v) / Math.log10(1 + top)) : v / top;
  const slot = PLOT_W / Math.max(1, chart.bars.length);
  const bars = chart.bars.map((bar, i) => {
    const h = scale(bar.value) * PLOT_H;
    const left = MARGIN.left + i * slot;
    const label = i % Math.ceil(chart.bars.length / 16) === 0 ? xTick(left + slot / 2, bar.label, true) : "";
    return `<rect x="${(left + 1).toFixed(1)}" y="${(MARGIN.top + PLOT_H - h).toFixed(1)}" width="${Math.max(1, slot - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${PALETTE[0]}"><title>${escapeXml(`${bar.label}: ${bar.value}`)}</title></rect>${label}`;
  });
  const ticks = chart.logScale
    ? Array.from({ length: Math.log10(top) + 1 }, (_, k) => 10 ** k)
    : linearTicks(top);
  const yTicks = ticks.map((v) => yTick(MARGIN.top + PLOT_H - scale(v) * PLOT_H, formatShort(v)));
  return svg(chart.title, chart.xLabel, HEIGHT - 10, [...yTicks, ...bars]);
}

function svg(title: string, xLabel: string, xLabelY: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(title)}">`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_H}" x2="${MARGIN.left + PLOT_W}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`,
    ...body,
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${xLabelY}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`,
    `</svg>`,
  ].join("\n");
}

function yTick(yPos: number, label: string): string {
  return `<line x1="${MARGIN.left - 4}" y1="${yPos.toFixed(1)}" x2="${MARGIN.left + PLOT_W}" y2="${yPos.toFixed(1)}" stroke="#ddd"/>` +
    `<text x="${MARGIN.left - 6}" y="${(yPos + 4).toFixed(1)}" text-anchor="end" font-size="11">${escapeXml(label)}</text>`;
}

function xTick(xPos: number, label: string, rotated = false): string {
  const base = MARGIN.top + PLOT_H + 14;
  const transform = rotated ? ` transform="rotate(-30 ${xPos.toFixed(1)} ${base})"` : "";
  return `<text x="${xPos.toFixed(1)}" y="${base}" text-anchor="${rotated ? "end" : "middle"}" font-size="11"${transform}>${escapeXml(label)}</text>`;
}

function legend(series: LineSeries[]): string {
  return series.map((s, i) => {
    const lx = MARGIN.left + (i % 4) * (PLOT_W / 4);
    const ly = PLOT_BOTTOM + 52 + Math.floor(i / 4) * 16;
    const dash = s.dashed ? ` stroke-dasharray="5 3"` : "";
    return `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>` +
      `<text x="${lx + 22}" y="${ly + 4}" font-size="11">${escapeXml(s.label)}</text>`;
  }).join("\n");
}

/** 0, step, 2 step, ... up to max, with a round step. */
function linearTicks(max: number): number[] {
  if (max <= 0) return [0];
  const step = niceStep(max / TICKS);
  const ticks: number[] = [];
  for (let v = 0; v <= max * (1 + 1e-9); v += step) ticks.push(v);
  return ticks;
}

/** The power of 1024 that `max` bytes are best counted in (1, 1024, 1024^2, ...). */
function binaryUnit(max: number): number {
  let unit = 1;
  while (max / unit >= 1024) unit *= 1024;
  return unit;
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function niceCeiling(max: number): number {
  if (max <= 0) return 1;
  const step = niceStep(max / TICKS);
  return Math.ceil(max / step) * step;
}

/** 1200 -> "1.2k", 3400000 -> "3.4M". */
export function formatShort(value: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [size, suffix] of units) if (Math.abs(value) >= size) return `${+(value / size).toFixed(1)}${suffix}`;
  return `${+value.toFixed(2)}`;
}

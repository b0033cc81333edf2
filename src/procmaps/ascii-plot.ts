/**
 * A line plot in text, for a terminal: one series, its y axis labelled at the top and bottom,
 * time along the x axis. Each column shows the last sample that falls into it as a "*" (a column
 * no sample falls into repeats the one before), and a rise or fall as a vertical run of "|".
 *
 *   RSS  96.0M |                *********
 *              |               |
 *              |       ********
 *        48.0M |*******
 *              +-------------------------
 *               0 s                  4.5 s
 */

export interface AsciiPlot {
  title: string;
  /** Sample times, in ms, ascending. */
  times: number[];
  values: number[];
  format(value: number): string;
  width?: number;
  height?: number;
}

const DEFAULT_WIDTH = 72;
const DEFAULT_HEIGHT = 10;

export function asciiPlot(plot: AsciiPlot): string[] {
  const width = plot.width ?? DEFAULT_WIDTH;
  const height = plot.height ?? DEFAULT_HEIGHT;
  const low = Math.min(...plot.values);
  const high = Math.max(...plot.values);
  const rowOf = (value: number): number => (high === low ? height - 1 : Math.round(((value - low) / (high - low)) * (height - 1)));
  const grid = Array.from({ length: height }, () => Array<string>(width).fill(" "));
  const columns = columnValues(plot.times, plot.values, width);
  let previousRow: number | undefined;
  columns.forEach((value, column) => {
    if (value === undefined) return;
    const row = rowOf(value);
    if (previousRow !== undefined) for (let r = Math.min(row, previousRow) + 1; r < Math.max(row, previousRow); r++) grid[r]![column] = "|";
    grid[row]![column] = "*";
    previousRow = row;
  });
  const labels = [`${plot.title} ${plot.format(high)}`, `${plot.format(low)}`];
  const labelWidth = Math.max(...labels.map((label) => label.length));
  const lines = grid.reverse().map((cells, i) => {
    const label = i === 0 ? labels[0]! : i === height - 1 ? labels[1]! : "";
    return `${label.padStart(labelWidth)} |${cells.join("")}`.trimEnd();
  });
  const span = plot.times.length === 0 ? 0 : plot.times.at(-1)! - plot.times[0]!;
  const axis = `${" ".repeat(labelWidth)} +${"-".repeat(width)}`;
  const start = "0 s";
  const end = `${(span / 1000).toFixed(1)} s`;
  return [...lines, axis, `${" ".repeat(labelWidth + 2)}${start}${end.padStart(width - start.length)}`];
}

/** The value shown in each column: the last sample whose time falls into it, or the column before's. */
function columnValues(times: number[], values: number[], width: number): (number | undefined)[] {
  const columns = Array<number | undefined>(width).fill(undefined);
  if (times.length === 0) return columns;
  const t0 = times[0]!;
  const span = Math.max(1, times.at(-1)! - t0);
  times.forEach((t, i) => {
    columns[Math.min(width - 1, Math.floor(((t - t0) / span) * (width - 1)))] = values[i];
  });
  for (let column = 1; column < width; column++) columns[column] ??= columns[column - 1];
  return columns;
}

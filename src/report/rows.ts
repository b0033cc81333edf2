/**
 * The rows of a comparison (one per trace and allocator), the table's measures, which value is
 * best per trace, and what a row that has no numbers says: the one wording that `compare` and
 * the HTML report share. No Node modules here, so that the report can be bundled for a browser.
 */
import type { ReplayResult } from "../trace/replay.js";
import { formatBinary, formatNs, formatPercent } from "./numbers.js";

/** skipped: the policy cannot replay traces; stopped: it hit the time limit (too slow, not wrong). */
export type RowStatus = "ok" | "failed" | "skipped" | "stopped";

/** One allocator on one trace. */
export interface ComparisonRow {
  trace: string;
  allocator: string;
  status: RowStatus;
  /** Why the row failed, was skipped or was stopped; null when ok. */
  reason: string | null;
  result: ReplayResult | null;
}

/** "ok", "n/a: why" for a policy that cannot replay traces or a job stopped at the time limit, "FAILED kind: message". */
export function resultText(row: ComparisonRow): string {
  if (row.status === "skipped") return `n/a: ${row.reason}`;
  if (row.status === "stopped") return `n/a: too slow: ${row.reason}`;
  if (row.status === "failed") return `FAILED ${row.reason}`;
  return "ok";
}

/** The file name without directories, for tables and plots. */
export function shortName(tracePath: string): string {
  return tracePath.slice(tracePath.lastIndexOf("/") + 1);
}

/** A measure of the comparison table, and which way is better. */
export interface Measure {
  head: string;
  better: "lower" | "higher";
  value(result: ReplayResult): number | null;
  text(value: number): string;
}

/** The comparison table's columns of numbers. */
export const MEASURES: Measure[] = [
  { head: "ns/op", better: "lower", value: (r) => r.nsPerOp, text: formatNs },
  { head: "peak extent", better: "lower", value: (r) => r.peakExtentBytes, text: formatBinary },
  { head: "utilization", better: "higher", value: (r) => r.utilization, text: formatPercent },
  { head: "committed at peak", better: "lower", value: (r) => r.atPeak?.committedBytes ?? null, text: formatBinary },
  { head: "internal frag. at peak", better: "lower", value: (r) => r.atPeak?.internalFragmentationBytes ?? null, text: formatBinary },
  { head: "external frag. at peak", better: "lower", value: (r) => r.atPeak?.externalFragmentation ?? null, text: formatPercent },
];

/** The best value of `measure` among the successful rows of one trace (null if none). */
export function bestValue(rows: ComparisonRow[], measure: Measure): number | null {
  let best: number | null = null;
  for (const row of rows) {
    const value = row.status === "ok" ? measure.value(row.result!) : null;
    if (value === null) continue;
    if (best === null || (measure.better === "lower" ? value < best : value > best)) best = value;
  }
  return best;
}

/** The rows as --json shows them: results without their time series. */
export function rowsForJson(rows: ComparisonRow[]): unknown[] {
  return rows.map((row) => {
    if (row.result === null) return row;
    const { series: _series, ...result } = row.result;
    return { ...row, result };
  });
}

/**
 * Every chosen policy on every trace, on the worker pool, with progress on stderr: the rows
 * behind `compare` and `report`. Policies that cannot replay a general trace get a "skipped" row
 * that says why. Also the table's measures, and which value is best per trace.
 */
import path from "node:path";
import { readTraceFile } from "../trace/reader.js";
import type { ReplayResult } from "../trace/replay.js";
import type { Trace } from "../trace/trace.js";
import { formatBinary, formatNs, formatPercent } from "./format.js";
import type { PolicyChoice } from "./policy-list.js";
import { Progress } from "./progress.js";
import { runReplayJobs, type JobOutcome, type ReplayJob } from "./replay-pool.js";

/** skipped: the policy cannot replay traces; stopped: it hit the time limit (too slow, not wrong). */
export type RowStatus = "ok" | "failed" | "skipped" | "stopped";

export interface ComparisonRow {
  trace: string;
  allocator: string;
  status: RowStatus;
  /** Why the row failed, was skipped or was stopped; null when ok. */
  reason: string | null;
  result: ReplayResult | null;
}

/** Reads the traces one after another (one of them may be stdin). */
export async function readTraces(paths: string[]): Promise<Trace[]> {
  const traces: Trace[] = [];
  for (const tracePath of paths) traces.push(await readTraceFile(tracePath));
  return traces;
}

export interface ComparisonOptions {
  sampleCount: number;
  timeLimitMs: number;
}

export async function compareAllocators(traces: Trace[], policies: PolicyChoice[], options: ComparisonOptions): Promise<ComparisonRow[]> {
  const jobs: ReplayJob[] = [];
  traces.forEach((_, traceIndex) => {
    for (const policy of policies) if (policy.cannotReplay === null) jobs.push({ traceIndex, policy: policy.name });
  });
  const label = (job: ReplayJob): string => `${shortName(traces[job.traceIndex]!.name)} × ${job.policy}`;
  const progress = new Progress(jobs.length);
  const outcomes = await runReplayJobs(traces, jobs, {
    ...options,
    onStart: (job) => progress.started(label(job)),
    onDone: (outcome) => progress.finished(label(outcome.job), outcome.elapsedMs, outcomeStatus(outcome)),
  });
  progress.end();
  return traces.flatMap((trace, traceIndex) => policies.map((policy): ComparisonRow => {
    if (policy.cannotReplay !== null) return { trace: trace.name, allocator: policy.name, status: "skipped", reason: policy.cannotReplay, result: null };
    const outcome = outcomes.find((o) => o.job.traceIndex === traceIndex && o.job.policy === policy.name)!;
    return rowOf(trace, policy.name, outcome);
  }));
}

function rowOf(trace: Trace, allocator: string, outcome: JobOutcome): ComparisonRow {
  const { result, error } = outcome;
  if (result === null) return { trace: trace.name, allocator, status: "failed", reason: error, result: null };
  const failure = result.failure;
  if (failure === null) return { trace: trace.name, allocator, status: "ok", reason: null, result };
  if (failure.kind === "time-limit") return { trace: trace.name, allocator, status: "stopped", reason: failure.message, result };
  return { trace: trace.name, allocator, status: "failed", reason: `${failure.kind}: ${failure.message}`, result };
}

function outcomeStatus(outcome: JobOutcome): string {
  const failure = outcome.result?.failure;
  if (outcome.result === null) return "failed (the worker died)";
  if (failure === null || failure === undefined) return "ok";
  return failure.kind === "time-limit" ? "stopped at the time limit" : `failed (${failure.kind})`;
}

/** The file name without directories, for tables and plots. */
export function shortName(tracePath: string): string {
  return path.basename(tracePath);
}

/** A measure of the comparison table, and which way is better. */
export interface Measure {
  head: string;
  better: "lower" | "higher";
  value(result: ReplayResult): number | null;
  text(value: number): string;
}

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

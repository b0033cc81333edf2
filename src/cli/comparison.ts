/**
 * Every chosen policy on every trace, on the worker pool, with progress on stderr: the rows
 * behind `compare` and `report`. Policies that cannot replay a general trace get a "skipped" row
 * that says why. The rows, the table's measures and their wording are in src/report/rows.ts.
 */
import { shortName, type ComparisonRow } from "../report/rows.js";
import { readTraceFile } from "../trace/reader.js";
import type { Trace } from "../trace/trace.js";
import type { PolicyChoice } from "./policy-list.js";
import { Progress } from "./progress.js";
import { runReplayJobs, type JobOutcome, type ReplayJob } from "./replay-pool.js";

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

/**
 * The lab's own costs, on the four shared traces:
 *   1. reading a trace (gunzip + parse into typed arrays) against replaying it under the Heap:
 *      the checked pass alone, the whole replay (checked pass and three timed passes) and one
 *      bare timed pass, medians measured in this same run;
 *   2. the wall time of `heapkit compare` over the four traces with every policy in the registry
 *      (the real binary, its default per-job time limit, worker threads on every core).
 *
 *   npm run build && node dist/bench/trace.js [--runs N] [--skip-compare]
 *
 * Targets (issue 5): reading at least 3x faster than replaying; compare within a minute on 2 cores.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Heap } from "../src/heap/heap.js";
import { readTraceFile } from "../src/trace/reader.js";
import { replayTrace } from "../src/trace/replay.js";
import type { Trace } from "../src/trace/trace.js";
import { fmt, printSection, progress, ratio } from "./harness.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TRACES_DIR = path.resolve(REPO_ROOT, "../shared/traces");
const TRACES = ["git-log-p", "perl-wordfreq", "python-json-regex", "sqlite3-workload"].map((name) => path.join(TRACES_DIR, `${name}.rep.gz`));

async function medianAsyncMs<T>(runs: number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const times: number[] = [];
  let value!: T;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    value = await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, value };
}

async function readVersusReplay(runs: number): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const file of TRACES) {
    progress(`read and replay ${path.basename(file)}`);
    await readTraceFile(file); // warm up the parser
    const read = await medianAsyncMs(runs, () => readTraceFile(file));
    const trace: Trace = read.value;
    const checked = await medianAsyncMs(runs, async () => replayTrace(trace, () => new Heap(), { sampleCount: 0, timedRuns: 0 }));
    const full = await medianAsyncMs(runs, async () => replayTrace(trace, () => new Heap(), { sampleCount: 0 }));
    const bareMs = (full.value.nsPerOp! * trace.opCount) / 1e6;
    rows.push([
      path.basename(file),
      trace.opCount.toLocaleString("en-US"),
      fmt(read.ms),
      fmt((read.ms * 1e6) / trace.opCount),
      fmt(checked.ms),
      ratio(checked.ms, read.ms),
      fmt(full.ms),
      ratio(full.ms, read.ms),
      fmt(bareMs),
      fmt(full.value.nsPerOp!),
    ]);
  }
  printSection({
    title: `Reading a trace vs replaying it under Heap (median of ${runs})`,
    columns: ["trace", "ops", "read ms", "read ns/op", "checked pass ms", "checked / read", "heapkit replay ms", "replay / read", "bare pass ms", "heap ns/op"],
    rows,
    notes: [
      "read: gunzip and parse into typed arrays. checked pass: every block's pattern written and verified on free and realloc.",
      "heapkit replay: the checked pass and three timed passes of the bare calls; heap ns/op and bare pass ms are from the fastest of them.",
    ],
  });
}

function compareWallTime(): void {
  progress("heapkit compare over the four traces (progress below)");
  const start = performance.now();
  const run = spawnSync(process.execPath, [path.join(REPO_ROOT, "bin/heapkit.js"), "compare", ...TRACES, "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 << 20,
  });
  const seconds = (performance.now() - start) / 1000;
  if (run.status !== 0 && run.status !== 1) throw new Error(`heapkit compare exited with ${run.status}`);
  const rows = (JSON.parse(run.stdout) as { rows: { trace: string; allocator: string; status: string }[] }).rows;
  const policies = (status: string): string => [...new Set(rows.filter((r) => r.status === status).map((r) => r.allocator))].join(", ") || "-";
  const jobs = (status: string): string => rows.filter((r) => r.status === status).map((r) => `${path.basename(r.trace, ".rep.gz")} × ${r.allocator}`).join(", ") || "-";
  printSection({
    title: "heapkit compare over the four shared traces",
    columns: ["wall time", "exit code", "cores", "jobs", "policies ok somewhere", "failed", "stopped at the time limit", "skipped (cannot replay)"],
    rows: [[`${fmt(seconds)} s`, run.status, availableParallelism(), rows.filter((r) => r.status !== "skipped").length, policies("ok"), jobs("failed"), jobs("stopped"), policies("skipped")]],
    notes: [`Command: node bin/heapkit.js compare ${TRACES.map((t) => path.relative(REPO_ROOT, t)).join(" ")}`],
  });
}

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
await readVersusReplay(runs);
if (!args.includes("--skip-compare")) compareWallTime();

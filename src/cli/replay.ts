/** `heapkit replay TRACE [--allocator NAME]`: one trace, one allocator, every block checked. */
import type { Command } from "commander";
import Table from "cli-table3";
import type { AllocatorStats } from "../allocator.js";
import { readTraceFile } from "../trace/reader.js";
import { DEFAULT_TIMED_RUNS, replayTrace, type ReplayResult } from "../trace/replay.js";
import { formatBytes, formatCount, formatNs, formatPercent, PLAIN_TABLE } from "./format.js";
import { DEFAULT_POLICY, replayablePolicy } from "./policy-list.js";
import { EXIT_FAILURE, EXIT_OK, printJson } from "./usage.js";

/** Samples kept for --json (the text output shows no series). */
const JSON_SAMPLE_COUNT = 100;

interface ReplayOptions {
  allocator: string;
  json?: boolean;
}

export function registerReplay(program: Command): void {
  program
    .command("replay")
    .description("replay a trace under one allocator, checking every block's contents on free and realloc")
    .argument("<trace>", "a malloc-lab trace, plain or gzipped (- reads stdin)")
    .option("-a, --allocator <name>", "the policy to replay under (see: heapkit policies)", DEFAULT_POLICY)
    .option("--json", "print the result as JSON")
    .action(async (tracePath: string, options: ReplayOptions) => {
      process.exitCode = await runReplay(tracePath, options);
    });
}

async function runReplay(tracePath: string, options: ReplayOptions): Promise<number> {
  const policy = replayablePolicy(options.allocator);
  const trace = await readTraceFile(tracePath);
  const result = replayTrace(trace, () => policy.create(), { sampleCount: options.json ? JSON_SAMPLE_COUNT : 0 });
  if (options.json) printJson(result);
  else process.stdout.write(`${resultTable(result).toString()}\n`);
  return result.failure === null ? EXIT_OK : EXIT_FAILURE;
}

function resultTable(result: ReplayResult): Table.Table {
  const table = new Table(PLAIN_TABLE);
  const peak = result.atPeak;
  table.push(
    { trace: result.trace },
    { allocator: result.allocator },
    { ops: formatCount(result.opCount) },
    { "ns per op": result.nsPerOp === null ? "-" : `${formatNs(result.nsPerOp)} (bare calls, fastest of up to ${DEFAULT_TIMED_RUNS} timed passes)` },
    { "peak live": formatBytes(result.peakLiveBytes) },
    { "peak extent": formatBytes(result.peakExtentBytes) },
    { utilization: result.utilization === null ? "-" : `${formatPercent(result.utilization)} (peak live / peak extent)` },
    { committed: peak === null ? "-" : `${formatBytes(peak.committedBytes)} at the peak, ${formatBytes(result.final.committedBytes)} at the end` },
    { "internal frag. at peak": peak === null ? "-" : internalText(peak) },
    { "external frag. at peak": peak === null ? "-" : formatPercent(peak.externalFragmentation) },
    { "final stats": finalText(result.final) },
    { result: result.failure === null ? "ok: every block kept its contents" : `FAILED (${result.failure.kind}): ${result.failure.message}` },
  );
  return table;
}

function internalText(stats: AllocatorStats): string {
  const share = stats.liveBytes === 0 ? 0 : stats.internalFragmentationBytes / stats.liveBytes;
  return `${formatBytes(stats.internalFragmentationBytes)}, ${formatPercent(share)} of live bytes`;
}

function finalText(stats: AllocatorStats): string {
  return Object.entries(stats)
    .map(([key, value]) => `${key} ${formatStat(value)}`)
    .join("\n");
}

function formatStat(value: unknown): string {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? formatCount(value) : value.toFixed(4);
}

/** `heapkit trace-stats TRACE`: what a trace is made of, without any allocator. */
import type { Command } from "commander";
import Table from "cli-table3";
import { streamTraceFile } from "../trace/reader.js";
import { type HistogramBucket, type TraceStats, TraceStatsCollector } from "../trace/stats.js";
import { formatBytes, formatCount, formatPercent, PLAIN_TABLE } from "./format.js";
import { EXIT_OK, printJson } from "./usage.js";

const BAR_WIDTH = 40;

export function registerTraceStats(program: Command): void {
  program
    .command("trace-stats")
    .description("what a trace is made of: ops by kind, request sizes, block lifetimes, live peak")
    .argument("<trace>", "a malloc-lab trace, plain or gzipped (- reads stdin)")
    .option("--json", "print the statistics as JSON")
    .action(async (tracePath: string, options: { json?: boolean }) => {
      const collector = new TraceStatsCollector();
      const stats = collector.result(await streamTraceFile(tracePath, collector));
      if (options.json) printJson(stats);
      else process.stdout.write(statsText(stats));
      process.exitCode = EXIT_OK;
    });
}

function statsText(stats: TraceStats): string {
  const summary = new Table(PLAIN_TABLE);
  const { ops, normalised, sizes, lifetimes } = stats;
  summary.push(
    { trace: stats.name },
    { ops: `${formatCount(ops.total)}: ${formatCount(ops.alloc)} malloc, ${formatCount(ops.realloc)} realloc, ${formatCount(ops.free)} free` },
    { normalised: `${formatCount(normalised.freeNullDropped)} free(NULL) dropped, ${formatCount(normalised.reusedIds)} ids reused, ${formatCount(normalised.repeatedSizes)} sizes repeated` },
    { requests: `${formatCount(sizes.requests)}, ${formatBytes(sizes.totalBytes)} in all, mean ${formatCount(sizes.meanBytes)} B, max ${formatBytes(sizes.maxBytes)}` },
    { lifetimes: `${formatCount(lifetimes.freedBlocks)} blocks freed, median ${formatCount(lifetimes.medianOps)} ops, mean ${formatCount(lifetimes.meanOps)} ops` },
    { "peak live": `${formatBytes(stats.peakLiveBytes)} after op ${formatCount(stats.peakLiveAfterOps)}` },
    { "live at end": `${formatCount(stats.liveBlocksAtEnd)} blocks, ${formatBytes(stats.liveBytesAtEnd)}` },
  );
  return [
    summary.toString(),
    "request sizes (bytes)",
    histogramTable(sizes.histogram).toString(),
    "block lifetimes (ops from malloc to free)",
    histogramTable(lifetimes.histogram).toString(),
    "",
  ].join("\n");
}

function histogramTable(buckets: HistogramBucket[]): Table.Table {
  const table = new Table({ ...PLAIN_TABLE, head: ["from", "to", "count", "share", ""], colAligns: ["right", "right", "right", "right", "left"] });
  const total = buckets.reduce((sum, bucket) => sum + bucket.count, 0);
  const most = Math.max(1, ...buckets.map((bucket) => bucket.count));
  for (const bucket of buckets) {
    const bar = "#".repeat(Math.round((bucket.count / most) * BAR_WIDTH));
    table.push([formatCount(bucket.from), formatCount(bucket.to), formatCount(bucket.count), formatPercent(bucket.count / total), bar]);
  }
  return table;
}

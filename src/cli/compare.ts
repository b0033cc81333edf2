/** `heapkit compare TRACE... [--allocators a,b]`: every allocator on every trace, in one table. */
import type { Command } from "commander";
import Table from "cli-table3";
import type { Trace } from "../trace/trace.js";
import { bestValue, MEASURES, resultText, rowsForJson, shortName, type ComparisonRow } from "../report/rows.js";
import { compareAllocators, readTraces } from "./comparison.js";
import { BOXED_TABLE } from "./format.js";
import { choosePolicies } from "./policy-list.js";
import { EXIT_FAILURE, EXIT_OK, printJson, timeLimitOption } from "./usage.js";

const BEST_MARK = " *";

interface CompareOptions {
  allocators?: string;
  timeLimit: number;
  json?: boolean;
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("replay every trace under every allocator (on worker threads) and compare them in one table")
    .argument("<traces...>", "malloc-lab traces, plain or gzipped")
    .option("-a, --allocators <list>", "comma-separated policies (default: all; those that cannot replay traces are listed as n/a)")
    .addOption(timeLimitOption())
    .option("--json", "print the comparison as JSON")
    .action(async (tracePaths: string[], options: CompareOptions) => {
      const policies = choosePolicies(options.allocators);
      const traces = await readTraces(tracePaths);
      const rows = await compareAllocators(traces, policies, { sampleCount: 0, timeLimitMs: options.timeLimit });
      if (options.json) printJson({ traces: traces.map(traceSummary), rows: rowsForJson(rows) });
      else process.stdout.write(`${comparisonTable(rows).toString()}\n${BEST_MARK.trim()} best for its trace\n`);
      process.exitCode = rows.some((row) => row.status === "failed") ? EXIT_FAILURE : EXIT_OK;
    });
}

export function traceSummary(trace: Trace): { name: string; opCount: number; peakLiveBytes: number } {
  return { name: trace.name, opCount: trace.opCount, peakLiveBytes: trace.peakLiveBytes };
}

function comparisonTable(rows: ComparisonRow[]): Table.Table {
  const table = new Table({
    ...BOXED_TABLE,
    head: ["trace", "allocator", ...MEASURES.map((m) => m.head), "result"],
    colAligns: ["left", "left", ...MEASURES.map(() => "right" as const), "left"],
  });
  for (const traceRows of groupByTrace(rows)) {
    const best = MEASURES.map((measure) => bestValue(traceRows, measure));
    for (const row of traceRows) table.push([shortName(row.trace), row.allocator, ...measureCells(row, best), resultText(row)]);
  }
  return table;
}

function measureCells(row: ComparisonRow, best: (number | null)[]): string[] {
  return MEASURES.map((measure, i) => {
    const value = row.status === "ok" ? measure.value(row.result!) : null;
    if (value === null) return "-";
    return measure.text(value) + (value === best[i] ? BEST_MARK : "");
  });
}

function groupByTrace(rows: ComparisonRow[]): ComparisonRow[][] {
  const groups = new Map<string, ComparisonRow[]>();
  for (const row of rows) {
    const group = groups.get(row.trace) ?? [];
    group.push(row);
    groups.set(row.trace, group);
  }
  return [...groups.values()];
}

/** `heapkit report TRACE... --out report.html`: the comparison and its plots in one HTML file. */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { reportHtml } from "../report/html.js";
import { traceSummary } from "./compare.js";
import { rowsForJson } from "../report/rows.js";
import { compareAllocators, readTraces } from "./comparison.js";
import { choosePolicies } from "./policy-list.js";
import { EXIT_FAILURE, EXIT_OK, printJson, timeLimitOption, UsageError } from "./usage.js";

/** Points per line in the over-time plots. */
const REPORT_SAMPLE_COUNT = 200;

interface ReportOptions {
  out: string;
  timeLimit: number;
  allocators?: string;
  json?: boolean;
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("compare allocators on traces and write one self-contained HTML page with plots")
    .argument("<traces...>", "malloc-lab traces, plain or gzipped")
    .requiredOption("-o, --out <file>", "the HTML file to write")
    .option("-a, --allocators <list>", "comma-separated policies (default: all)")
    .addOption(timeLimitOption())
    .option("--json", "print the comparison as JSON (the page is written all the same)")
    .action(async (tracePaths: string[], options: ReportOptions) => {
      const policies = choosePolicies(options.allocators);
      const traces = await readTraces(tracePaths);
      const rows = await compareAllocators(traces, policies, { sampleCount: REPORT_SAMPLE_COUNT, timeLimitMs: options.timeLimit });
      await writePage(options.out, reportHtml({ traces, rows, generatedAt: new Date() }));
      if (options.json) printJson({ out: options.out, traces: traces.map(traceSummary), rows: rowsForJson(rows) });
      else process.stdout.write(`wrote ${options.out}: ${traces.length} trace(s) x ${policies.length} allocator(s)\n`);
      process.exitCode = rows.some((row) => row.status === "failed") ? EXIT_FAILURE : EXIT_OK;
    });
}

export async function writePage(file: string, html: string): Promise<void> {
  try {
    await writeFile(file, html);
  } catch (error) {
    throw new UsageError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

/**
 * `heapkit`: the lab on the command line. One module per command registers itself on the
 * program; this file parses, runs, and turns errors into exit codes (see usage.ts).
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { TraceFormatError } from "../trace/errors.js";
import { registerCompare } from "./compare.js";
import { registerPolicies } from "./policies.js";
import { registerRecord } from "./record.js";
import { registerReplay } from "./replay.js";
import { registerReport } from "./report.js";
import { registerTraceStats } from "./trace-stats.js";
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from "./usage.js";

const PACKAGE = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

function buildProgram(): Command {
  const program = new Command("heapkit")
    .description("Real memory allocators for JavaScript: replay, compare and report on malloc traces")
    .version(PACKAGE.version)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerReplay(program);
  registerCompare(program);
  registerReport(program);
  registerTraceStats(program);
  registerPolicies(program);
  registerRecord(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
    if (error instanceof TraceFormatError || error instanceof UsageError) {
      process.stderr.write(`heapkit: ${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`heapkit: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv);

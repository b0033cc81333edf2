/**
 * `heapkit`: the lab on the command line. One module per command registers itself on the
 * program; this file parses, runs, and turns errors into exit codes (see usage.ts).
 */
import { Command, CommanderError } from "commander";
import { TraceFormatError } from "../trace/errors.js";
import { registerCompare } from "./compare.js";
import { registerMaps } from "./maps.js";
import { registerPolicies } from "./policies.js";
import { registerRecord } from "./record.js";
import { registerReplay } from "./replay.js";
import { registerReport } from "./report.js";
import { registerTraceStats } from "./trace-stats.js";
import { EXIT_FAILURE, EXIT_USAGE, printJson, UsageError } from "./usage.js";

/** The package's version, put in by the bundler (scripts/bundle-cli.mjs): the bundle is the command. */
declare const HEAPKIT_VERSION: string;

function buildProgram(): Command {
  const program = new Command("heapkit")
    .description("Real memory allocators for JavaScript: replay, compare and report on malloc traces")
    .version(HEAPKIT_VERSION)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerReplay(program);
  registerCompare(program);
  registerReport(program);
  registerTraceStats(program);
  registerPolicies(program);
  registerMaps(program);
  registerRecord(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    const code = exitCodeOf(error);
    if (argv.includes("--json") && code !== 0) printJson({ error: errorJson(error, code) });
    return code;
  }
}

/** The exit code of an error, its one line on stderr written (commander writes its own). */
function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  if (error instanceof TraceFormatError || error instanceof UsageError) {
    process.stderr.write(`heapkit: ${error.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`heapkit: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
  return EXIT_FAILURE;
}

/** What `--json` prints on stdout for an error: `{ "error": { name, message, exitCode } }`. */
function errorJson(error: unknown, exitCode: number): { name: string; message: string; exitCode: number } {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), exitCode };
  const name = error instanceof CommanderError ? "UsageError" : error.name;
  return { name, message: error.message.replace(/^error: /, ""), exitCode };
}

process.exitCode = await main(process.argv);

/** `heapkit record [--out FILE] -- CMD ARGS...`: a native program's malloc calls as a trace. */
import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { RecordError } from "../node/record/errors.js";
import { record, type ProcessChoice } from "../node/record/record.js";
import { formatBytes, formatCount } from "./format.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printJson } from "./usage.js";

/** The cap of the shared traces' recorder: enough for a realistic heap, small enough to replay in seconds. */
const DEFAULT_MAX_OPS = 2_000_000;

interface RecordCliOptions {
  out?: string;
  maxOps: number;
  process: ProcessChoice;
  json?: boolean;
}

export function registerRecord(program: Command): void {
  program
    .command("record")
    .description("run a native program with an LD_PRELOAD shim (built with the machine's cc) and write its malloc/calloc/realloc/free/memalign calls as a trace, with a .meta file")
    .argument("<command...>", "the program and its arguments (put -- before them)")
    .option("-o, --out <file>", "the trace to write (gzipped if it ends in .gz); default: PROGRAM.rep.gz")
    .option("--max-ops <n>", "keep the first n trace lines (0: all)", parseCount, DEFAULT_MAX_OPS)
    .addOption(new Option("--process <which>", "the process to keep: the command's own, or the one that made the most calls (e.g. cc1 under gcc)").choices(["root", "busiest"]).default("root"))
    .option("--json", "print the counters as JSON")
    .action(async (command: string[], options: RecordCliOptions) => {
      process.exitCode = await runRecord(command, options);
    });
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number >= 0");
  return n;
}

async function runRecord([command, ...args]: string[], options: RecordCliOptions): Promise<number> {
  const out = options.out ?? `${path.basename(command!)}.rep.gz`;
  try {
    const result = await record({ command: command!, args, out, maxOps: options.maxOps, process: options.process });
    if (options.json) printJson(result);
    else {
      const c = result.counters;
      process.stderr.write(
        `heapkit record: ${result.out}: ${formatCount(c.ops)} ops (${formatCount(c.allocs)} a, ${formatCount(c.reallocs)} r, ${formatCount(c.frees)} f), ` +
          `peak live ${formatBytes(c.peak_live_bytes)}, ${result.threads} thread(s), ${result.images} process image(s) recorded; meta in ${result.metaFile}\n`,
      );
    }
    if (result.exitCode !== 0) process.stderr.write(`heapkit record: the command exited with code ${result.exitCode}\n`);
    return result.exitCode === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    process.stderr.write(`heapkit record: ${error.message}\n`);
    return EXIT_USAGE;
  }
}

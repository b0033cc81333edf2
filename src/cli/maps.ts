/**
 * `heapkit maps [PID]`: a process's memory map, grouped, with virtual and resident sizes.
 * Without a PID: the demonstration of heapkit's own stores in this process's map.
 * `--watch PID`: VSZ and RSS sampled over time, drawn in the terminal and optionally as HTML.
 */
import { existsSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { DEMO_CASES, runDemo } from "../procmaps/demo.js";
import { demoJson, demoText } from "../procmaps/demo-format.js";
import { ProcMapsError } from "../procmaps/errors.js";
import { mapJson, mapText } from "../procmaps/format.js";
import { checkPid, readProcessMap } from "../procmaps/read.js";
import { sampleLine, watchHtml, watchProcess, watchText } from "../procmaps/watch.js";
import { writePage } from "./report.js";
import { EXIT_OK, printJson, UsageError } from "./usage.js";

interface MapsOptions {
  json?: boolean;
  watch?: boolean;
  interval: number;
  samples: number;
  html?: string;
  writeMib: number;
  kinds?: string;
}

export function registerMaps(program: Command): void {
  program
    .command("maps")
    .description("a process's memory map: text, data, heap, mmaps, libraries, stacks; virtual size vs Rss, Pss, dirty, swap")
    .argument("[pid]", "the process to show (default: a demonstration of heapkit's stores in this process)")
    .option("--json", "print the map (or the demonstration, or the samples) as JSON")
    .option("-w, --watch", "sample VSZ and RSS of PID over time and plot them")
    .option("-i, --interval <ms>", "with --watch: milliseconds between samples", positiveInteger, 500)
    .option("-n, --samples <count>", "with --watch: how many samples to take", positiveInteger, 20)
    .option("--html <file>", "with --watch: also write the plots as an HTML page")
    .option("--write-mib <mib>", "demonstration: MiB to malloc and write in each heap", positiveInteger, 32)
    .option("--kinds <list>", `demonstration: comma-separated cases (${DEMO_CASES.map((c) => c.name).join(", ")}; default: all)`)
    .action(async (pid: string | undefined, options: MapsOptions) => {
      try {
        if (options.watch) await watch(pid, options);
        else if (pid !== undefined) showMap(checkPid(pid), options);
        else demonstrate(options);
      } catch (error) {
        if (error instanceof ProcMapsError) throw new UsageError(error.message);
        throw error;
      }
      process.exitCode = EXIT_OK;
    });
}

function showMap(pid: number, options: MapsOptions): void {
  const map = readProcessMap(pid);
  if (options.json) printJson(mapJson(map));
  else process.stdout.write(mapText(map));
}

function demonstrate(options: MapsOptions): void {
  if (!existsSync("/proc/self/smaps")) throw new UsageError("the demonstration reads /proc/self/smaps, which this system does not have (Linux has it)");
  const names = options.kinds?.split(",").map((name) => name.trim());
  const unknown = names?.filter((name) => !DEMO_CASES.some((c) => c.name === name)) ?? [];
  if (unknown.length > 0) throw new UsageError(`unknown demonstration case ${JSON.stringify(unknown[0])}: use ${DEMO_CASES.map((c) => c.name).join(", ")}`);
  const results = runDemo(options.writeMib * 2 ** 20, names);
  if (options.json) printJson(demoJson(results));
  else process.stdout.write(demoText(results));
}

async function watch(pid: string | undefined, options: MapsOptions): Promise<void> {
  if (pid === undefined) throw new UsageError("--watch needs a PID: heapkit maps --watch PID");
  const onSample = options.json ? undefined : (sample: Parameters<typeof sampleLine>[0]) => process.stdout.write(`${sampleLine(sample)}\n`);
  const result = await watchProcess(checkPid(pid), { intervalMs: options.interval, samples: options.samples, onSample });
  if (options.html !== undefined) await writePage(options.html, watchHtml(result, new Date()));
  if (options.json) printJson(result);
  else process.stdout.write(`\n${watchText(result)}${options.html === undefined ? "" : `wrote ${options.html}\n`}`);
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/**
 * `heapkit record`'s engine: runs a command with the preload library (build.ts) in
 * LD_PRELOAD, waits for it, picks one recorded process image, turns its events into a trace
 * (convert.ts) and writes it, gzipped when the name ends in .gz, with a .meta file beside it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { preloadLibrary } from "./build.js";
import { TraceBuilder, type TraceCounters } from "./convert.js";
import { RecordError } from "./errors.js";
import { readEvents, readProcessHeader, type ProcessHeader } from "./events.js";

/** `root`: the command's own process (its last image if it exec'd); `busiest`: the image with the most calls. */
export type ProcessChoice = "root" | "busiest";

export interface RecordOptions {
  command: string;
  args: string[];
  /** The trace file; gzipped if it ends in .gz. */
  out: string;
  /** Trace lines kept; 0 keeps all. */
  maxOps: number;
  process: ProcessChoice;
  /** Where the command's stdout and stderr go. @defaultValue "inherit" */
  stdio?: "inherit" | "ignore";
}

export interface RecordResult {
  out: string;
  metaFile: string;
  counters: TraceCounters;
  image: ProcessHeader;
  /** Process images that made at least one call (exec'd images count apart). */
  images: number;
  threads: number;
  exitCode: number;
}

/** Raw events kept per process, as a multiple of the op cap: room for free(NULL) and the like. */
const EVENTS_PER_OP_CAP = 4;
const GZIP_LEVEL = 9;

export async function record(options: RecordOptions): Promise<RecordResult> {
  const library = preloadLibrary();
  const dir = mkdtempSync(path.join(tmpdir(), "heapkit-record-"));
  try {
    const { pid, exitCode } = await run(options, library, dir);
    const images = readdirSync(dir).filter((name) => name.endsWith(".events")).sort(bySeq).map((name) => path.join(dir, name));
    const image = chooseImage(images, pid, options.process);
    const builder = new TraceBuilder(options.maxOps);
    readEvents(image, builder.event);
    const { text, counters } = builder.finish();
    writeFileSync(options.out, options.out.endsWith(".gz") ? gzipSync(text, { level: GZIP_LEVEL }) : text);
    const header = readProcessHeader(image);
    const threads = builder.threadEvents.filter((n) => n > 0).length;
    const metaFile = metaPath(options.out);
    writeFileSync(metaFile, metaText(options, header, counters, builder.threadEvents, images.length, exitCode));
    return { out: options.out, metaFile, counters, image: header, images: images.length, threads, exitCode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(options: RecordOptions, library: string, dir: string): Promise<{ pid: number; exitCode: number }> {
  const preload = [library, process.env.LD_PRELOAD].filter((p) => p !== undefined && p !== "").join(":");
  const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: preload, HEAPKIT_RECORD_DIR: dir };
  if (options.maxOps > 0) env.HEAPKIT_RECORD_MAX_EVENTS = String(options.maxOps * EVENTS_PER_OP_CAP);
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, options.args, { env, stdio: ["inherit", options.stdio ?? "inherit", options.stdio ?? "inherit"] });
    child.on("error", (error) => reject(new RecordError(`cannot run ${JSON.stringify(options.command)}: ${error.message}`)));
    child.on("close", (code, signal) => resolve({ pid: child.pid!, exitCode: code ?? (signal === null ? 1 : 128) }));
  });
}

/** PID-SEQ.events in the order the images ran: by pid as written, then by exec sequence. */
function bySeq(a: string, b: string): number {
  const [pa, sa] = a.split(/[-.]/).map(Number) as [number, number];
  const [pb, sb] = b.split(/[-.]/).map(Number) as [number, number];
  return pa - pb || sa - sb;
}

function chooseImage(images: string[], rootPid: number, choice: ProcessChoice): string {
  if (images.length === 0) throw new RecordError("the command made no allocator call the recorder saw (a static binary, or one that clears LD_PRELOAD?)");
  if (choice === "root") {
    const own = images.filter((file) => path.basename(file).startsWith(`${rootPid}-`));
    if (own.length === 0) throw new RecordError(`the command's own process (pid ${rootPid}) made no allocator call the recorder saw`);
    return own[own.length - 1]!;
  }
  let busiest = images[0]!;
  let most = -1;
  for (const file of images) {
    const count = readEvents(file, () => {});
    if (count > most) [busiest, most] = [file, count];
  }
  return busiest;
}

export function metaPath(out: string): string {
  const stem = out.replace(/\.rep\.gz$|\.rep$|\.gz$/, "");
  return `${stem === out ? out : stem}.meta`;
}

function metaText(options: RecordOptions, image: ProcessHeader, counters: TraceCounters, threadEvents: number[], images: number, exitCode: number): string {
  const perThread = threadEvents.map((n, thread) => (n > 0 ? `${thread}:${n}` : "")).filter((s) => s !== "");
  const lines = Object.entries(counters).map(([key, value]) => `${key}=${value}`);
  lines.push(
    `program=${image.argv[0] ?? options.command}`,
    `args=${JSON.stringify(image.argv.slice(1))}`,
    `recorded_command=${JSON.stringify([options.command, ...options.args])}`,
    `process=${options.process}`,
    `pid=${image.pid}`,
    `process_images=${images}`,
    `threads=${perThread.length}`,
    `events_per_thread=${perThread.join(",")}`,
    `exit_code=${exitCode}`,
    `date=${new Date().toISOString()}`,
    "recorder=heapkit record (native/record/preload.c, LD_PRELOAD)",
  );
  return `${lines.join("\n")}\n`;
}

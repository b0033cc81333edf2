/**
 * Garbage collection: 5 million live 64-byte records held in one Heap versus as 5 million
 * `Uint8Array(64)` objects. Each side runs in its own process (so neither sees the other's
 * garbage): it fills the records, replaces a fifth of them at random (churn), and reports the
 * worst and total GC pause seen by a PerformanceObserver and the memory in use after a full GC.
 * Run: `npm run bench -- gc`.
 */
import { execFileSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Heap } from "../src/index.js";
import { fmt, progress, ratio, rng, type Section } from "./harness.js";

const RECORDS = 5_000_000;
const RECORD_BYTES = 64;
const CHURN = RECORDS / 5;

interface GcResult {
  worstPauseMs: number;
  totalPauseMs: number;
  pauses: number;
  rssBytes: number;
  jsHeapBytes: number;
}

function holdInHeap(): () => void {
  const heap = new Heap({ maxBytes: 2 ** 31 });
  const records = new Uint32Array(RECORDS);
  for (let i = 0; i < RECORDS; i++) {
    records[i] = heap.malloc(RECORD_BYTES);
    heap.u32[records[i]! >>> 2] = i;
  }
  const random = rng(1);
  for (let i = 0; i < CHURN; i++) {
    const victim = Math.floor(random() * RECORDS);
    heap.free(records[victim]!);
    records[victim] = heap.malloc(RECORD_BYTES);
  }
  return () => void heap.stats();
}

function holdAsObjects(): () => void {
  const records: Uint8Array[] = new Array(RECORDS);
  for (let i = 0; i < RECORDS; i++) {
    records[i] = new Uint8Array(RECORD_BYTES);
    records[i]![0] = i;
  }
  const random = rng(1);
  for (let i = 0; i < CHURN; i++) records[Math.floor(random() * RECORDS)] = new Uint8Array(RECORD_BYTES);
  return () => void records.length;
}

/** In the child: runs one side and prints its GcResult as JSON. */
function child(side: string): void {
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => pauses.push(...list.getEntries().map((e) => e.duration)));
  observer.observe({ entryTypes: ["gc"] });
  const keepAlive = side === "heap" ? holdInHeap() : holdAsObjects();
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  keepAlive();
  setTimeout(() => {
    observer.disconnect();
    const result: GcResult = {
      worstPauseMs: Math.max(0, ...pauses),
      totalPauseMs: pauses.reduce((a, b) => a + b, 0),
      pauses: pauses.length,
      rssBytes: memory.rss,
      jsHeapBytes: memory.heapUsed,
    };
    console.log(JSON.stringify(result));
  }, 100);
}

function runSide(side: string): GcResult {
  progress(`GC: 5 million records as ${side}`);
  const out = execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=8192", fileURLToPath(import.meta.url), "child", side], { encoding: "utf8" });
  return JSON.parse(out) as GcResult;
}

export function gc(): Section {
  const heap = runSide("heap");
  const objects = runSide("objects");
  const mb = (n: number) => fmt(n / 2 ** 20, 0);
  const row = (name: string, r: GcResult) => [name, fmt(r.worstPauseMs, 1), fmt(r.totalPauseMs, 0), r.pauses, mb(r.rssBytes), mb(r.jsHeapBytes)];
  return {
    title: `GC: ${RECORDS.toLocaleString("en-US")} live ${RECORD_BYTES}-byte records, then ${CHURN.toLocaleString("en-US")} replaced`,
    columns: ["held as", "worst GC pause ms", "total GC ms", "GCs", "RSS MB", "JS heap MB"],
    rows: [row("offsets into one Heap", heap), row("Uint8Array(64) objects", objects)],
    notes: [`Worst pause: objects ${ratio(objects.worstPauseMs, heap.worstPauseMs)} the heap's; resident memory: objects ${ratio(objects.rssBytes, heap.rssBytes)} the heap's (the heap's records live outside the JS heap, in its buffer).`],
  };
}

export const sections = [gc];

if (process.argv[2] === "child") child(process.argv[3]!);

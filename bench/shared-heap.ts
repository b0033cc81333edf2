/**
 * `npm run bench -- shared-heap`: SharedHeap against the plain Heap behind one global lock (the
 * design of the existing JS attempts) and against a plain Heap of each Worker's own, sharing
 * nothing (the machine's ceiling: decision 10 of ../shared/notes/decisions.md), at 1 and 2 Workers, on four workloads:
 * thread-local small blocks, and ports of mimalloc-bench's larson, xmalloc-test and
 * cache-scratch. Every allocator kind runs in Workers of its own (monomorphic loops), fresh for
 * each measurement: a warm-up as long as a timed pass, then PASSES timed passes of about PASS_MS
 * each (the operations per Worker are set per configuration by a first, short calibration
 * round). Kinds are interleaved, REPS rounds of every configuration; each figure is the median
 * of all its passes, with their spread (min..max).
 *
 * Two clocks: wall time (what the bars are about: work done per second while the Workers run
 * together) and each Worker thread's own time on a CPU (Linux schedstat), which another
 * process's load on the machine does not inflate. The share of time the Workers waited for a CPU
 * says how far the wall figures can be trusted: near 0 on a quiet machine.
 *
 * Fresh Workers matter more than passes: V8 inlines the allocator's malloc and free into the
 * workload's loop differently from one isolate to the next (--trace-turbo-inlining: Heap.free
 * inlined or called), which gives one heap 11 or 20 ns per op; passes in one Worker share its
 * choice, so the default is many rounds of one pass.
 *
 *   node dist/bench/shared-heap.js [ms per pass, default 250] [reps, default 7] [passes, default 1]
 */
import { Worker } from "node:worker_threads";
import { Heap } from "../src/heap/heap.js";
import { ByteStore } from "../src/memory/store.js";
import { SharedHeap } from "../src/shared/shared-heap.js";
import { fmt, printSection } from "./harness.js";
import type { BenchJob, PassTime } from "./shared-heap-job.js";

const PASS_MS = Number(process.argv[2] ?? 250);
const REPS = Number(process.argv[3] ?? 7);
const PASSES = Number(process.argv[4] ?? 1);
const LARSON_SLOTS = 2000;
/** Operations per Worker of the calibration round, and the fewest a timed pass may have. */
const CALIBRATION_OPS = 200_000;
const WORKER = new URL("./shared-heap-worker.js", import.meta.url);
type Kind = BenchJob["kind"];
type Workload = BenchJob["workload"];

/** One timed pass of a configuration: all its Workers together. */
interface Sample {
  /** Million operations per second, wall clock (malloc and free each count). */
  mops: number;
  /** Nanoseconds a Worker's thread ran on a CPU per operation. */
  cpuNs: number;
  /** Share of the Workers' time spent waiting for a CPU. */
  waitShare: number;
}

function makeHandle(kind: Kind): SharedArrayBuffer {
  const maxBytes = 512 << 20;
  if (kind === "shared") return new SharedHeap({ maxBytes }).store.handle as SharedArrayBuffer;
  const heap = new Heap({ store: ByteStore.create({ kind: "shared", maxBytes }) });
  heap.root = heap.calloc(1, 64); // the global lock's word, for the "locked" kind
  return heap.store.handle as SharedArrayBuffer;
}

/** Runs one configuration in fresh Workers; one Sample per timed pass. */
async function measure(kind: Kind, workload: Workload, workers: number, ops: number, passes: number): Promise<Sample[]> {
  const control = new SharedArrayBuffer((8 + workers * LARSON_SLOTS) * 4);
  const base = { kind, workload, handle: makeHandle(kind), control, ring: new SharedArrayBuffer(workers * 1026 * 4), larsonSlots: LARSON_SLOTS, workers, ops, passes };
  const pool = Array.from({ length: workers }, (_, id) => new Worker(WORKER, { workerData: { ...base, id } satisfies BenchJob }));
  const times = pool.map((w) => new Promise<PassTime[]>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); }));
  const flags = new Int32Array(control);
  while (Atomics.load(flags, 1) < workers) await new Promise((r) => setTimeout(r, 2));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  try {
    const perWorker = await Promise.all(times);
    return perWorker[0]!.map((_, pass) => {
      const ofPass = perWorker.map((t) => t[pass]!);
      const cpu = ofPass.reduce((sum, t) => sum + t.cpuMs, 0);
      const wait = ofPass.reduce((sum, t) => sum + t.waitMs, 0);
      const all = 2 * ops * workers;
      return { mops: all / Math.max(...ofPass.map((t) => t.ms)) / 1000, cpuNs: (cpu * 1e6) / all, waitShare: wait / (wait + cpu) };
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate())); // also the Workers a failed one left waiting
  }
}

const results = new Map<string, Sample[]>();
const failures = new Map<string, string>();
/** Operations per Worker and pass, per configuration: what takes about PASS_MS (calibrated). */
const opsOf = new Map<string, number>();

async function calibrate(kind: Kind, workload: Workload, workers: number): Promise<void> {
  const key = `${kind}/${workload}/${workers}`;
  let mops = NaN;
  try {
    [{ mops }] = (await measure(kind, workload, workers, CALIBRATION_OPS, 1)) as [Sample];
  } catch (error) {
    failures.set(key, (error as Error).message);
  }
  const ops = Number.isFinite(mops) ? (PASS_MS * mops * 1000) / (2 * workers) : CALIBRATION_OPS;
  opsOf.set(key, Math.max(CALIBRATION_OPS, Math.round(ops / 10_000) * 10_000));
}

async function sample(kind: Kind, workload: Workload, workers: number): Promise<void> {
  const key = `${kind}/${workload}/${workers}`;
  process.stderr.write(`  ${key}: ${opsOf.get(key)!.toLocaleString("en-US")} ops per Worker and pass\n`);
  const list = results.get(key) ?? [];
  try {
    list.push(...(await measure(kind, workload, workers, opsOf.get(key)!, PASSES)));
  } catch (error) {
    failures.set(key, (error as Error).message); // reported under the table; the run goes on
  }
  results.set(key, list);
}

const configs: Array<[Workload, number[]]> = [["local", [1, 2]], ["larson", [1, 2]], ["xmalloc", [2]], ["cache-scratch", [1, 2]]];
/** A private Heap each is the ceiling only where the work is thread-local. */
const kindsOf = (workload: Workload, workers: number): Kind[] => [
  ...(workload === "local" || workload === "cache-scratch" ? (["private"] as const) : []),
  "locked", "shared",
  ...(workload === "local" && workers === 1 ? (["heap", "heap-unguarded"] as const) : []),
];
const everyConfig = configs.flatMap(([workload, counts]) => counts.flatMap((workers) => kindsOf(workload, workers).map((kind) => [kind, workload, workers] as const)));
const started = performance.now();
process.stderr.write("shared-heap bench: calibration round\n");
for (const [kind, workload, workers] of everyConfig) await calibrate(kind, workload, workers);
failures.clear(); // a failure that happens again is reported by the rounds below
for (let rep = 0; rep < REPS; rep++) {
  process.stderr.write(`shared-heap bench: round ${rep + 1} of ${REPS}\n`);
  for (const [kind, workload, workers] of everyConfig) await sample(kind, workload, workers);
}

function stat(key: string, field: keyof Sample): { median: number; min: number; max: number } {
  const v = (results.get(key) ?? []).map((s) => s[field]).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = v.length >> 1;
  return { median: v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, min: v[0]!, max: v[v.length - 1]! };
}
const med = (key: string, field: keyof Sample = "mops"): number => stat(key, field).median;
const spread = (key: string): string => {
  const s = stat(key, "mops");
  return Number.isNaN(s.median) ? "n/a" : `${fmt(s.median)} (${fmt(s.min)}..${fmt(s.max)})`;
};

const rows: (string | number)[][] = [];
const cpuRows: (string | number)[][] = [];
for (const [workload, counts] of configs) {
  for (const workers of counts) {
    const at = (kind: Kind, n = workers): string => `${kind}/${workload}/${n}`;
    const hasCeiling = results.has(at("private"));
    let scaling = "";
    if (workers === 2 && counts.includes(1)) {
      const shared = med(at("shared")) / med(at("shared", 1));
      const ceiling = hasCeiling ? med(at("private")) / med(at("private", 1)) : NaN;
      scaling = `${fmt(shared)}x` + (hasCeiling ? ` (ceiling ${fmt(ceiling)}x: ${fmt(shared / ceiling)} of it)` : "");
    }
    rows.push([workload, workers, hasCeiling ? spread(at("private")) : "n/a (blocks cross Workers)", spread(at("locked")), spread(at("shared")), `${fmt(med(at("shared")) / med(at("locked")))}x`, scaling]);
    const cpu = (kind: Kind): string => (results.has(at(kind)) ? fmt(med(at(kind), "cpuNs"), 1) : "n/a");
    const waits = kindsOf(workload, workers).map((kind) => med(at(kind), "waitShare")).filter((x) => !Number.isNaN(x));
    cpuRows.push([workload, workers, cpu("private"), cpu("locked"), cpu("shared"), waits.length === 0 ? "n/a" : `${fmt(100 * Math.min(...waits), 0)}..${fmt(100 * Math.max(...waits), 0)}%`]);
  }
}
const one = (kind: Kind, field: keyof Sample): number => med(`${kind}/local/1`, field);
const minutes = (performance.now() - started) / 60000;
printSection({
  title: `SharedHeap vs one global lock over the Heap (M ops/s, wall clock, median (min..max) of ${REPS} rounds x ${PASSES} passes of about ${PASS_MS} ms)`,
  columns: ["workload", "Workers", "a private Heap each (ceiling)", "Heap + global lock", "SharedHeap", "SharedHeap / lock", "SharedHeap 2 vs 1 Worker"],
  rows,
  notes: [
    `One Worker, thread-local, wall clock: SharedHeap ${fmt(one("shared", "mops"))} M ops/s; the plain Heap on the same shared store with its concurrent-use guard off ${fmt(one("heap-unguarded", "mops"))} (SharedHeap takes ${fmt(one("heap-unguarded", "mops") / one("shared", "mops"))}x its time), as shipped with the guard on ${fmt(one("heap", "mops"))} (${fmt(one("heap", "mops") / one("shared", "mops"))}x).`,
    ...[...failures].map(([key, message]) => `${key} failed in a round (its figures are of the others): ${message}`),
    "local: malloc+free of 16..256 B, 64 live per Worker; larson: slot arrays passed between Workers each round (remote frees); xmalloc: one Worker allocates, its partner frees; cache-scratch: 8-byte blocks written 100 times each (one malloc+free per 10 ops counted).",
  ],
});
printSection({
  title: "The same runs on each Worker thread's own clock: ns on a CPU per operation (median), and how long the Workers waited for a CPU",
  columns: ["workload", "Workers", "a private Heap each", "Heap + global lock", "SharedHeap", "waited for a CPU (range over kinds)"],
  rows: cpuRows,
  notes: [
    `One Worker, thread-local, CPU time: SharedHeap ${fmt(one("shared", "cpuNs"), 1)} ns/op, the plain Heap guard off ${fmt(one("heap-unguarded", "cpuNs"), 1)} (SharedHeap ${fmt(one("shared", "cpuNs") / one("heap-unguarded", "cpuNs"))}x), guard on ${fmt(one("heap", "cpuNs"), 1)}. ` +
      "A Worker asleep on the global lock (Atomics.wait) spends no CPU: compare the lock's figures on the wall clock.",
    `Whole run: ${fmt(minutes, 1)} min.`,
  ],
});

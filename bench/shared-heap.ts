/**
 * `npm run bench -- shared-heap`: SharedHeap against the plain Heap behind one global lock (the
 * design of the existing JS attempts) and against a plain Heap of each Worker's own, sharing
 * nothing (the machine's ceiling: decision 10 of ../shared/notes/decisions.md), at 1 and 2 Workers, on four workloads:
 * thread-local small blocks, and ports of mimalloc-bench's larson, xmalloc-test and
 * cache-scratch. Every allocator kind runs in Workers of its own (monomorphic loops); each
 * configuration is timed REPS times, kinds interleaved, and the median throughput reported.
 *
 *   node dist/bench/shared-heap.js [ops per Worker, default 400000] [reps, default 3]
 */
import { Worker } from "node:worker_threads";
import { Heap } from "../src/heap/heap.js";
import { ByteStore } from "../src/memory/store.js";
import { SharedHeap } from "../src/shared/shared-heap.js";
import { fmt, printSection } from "./harness.js";
import type { BenchJob } from "./shared-heap-job.js";

const OPS = Number(process.argv[2] ?? 400_000);
const REPS = Number(process.argv[3] ?? 3);
const LARSON_SLOTS = 2000;
const WORKER = new URL("./shared-heap-worker.js", import.meta.url);
type Kind = BenchJob["kind"];
type Workload = BenchJob["workload"];

function makeHandle(kind: Kind): SharedArrayBuffer {
  const maxBytes = 512 << 20;
  if (kind === "shared") return new SharedHeap({ maxBytes }).store.handle as SharedArrayBuffer;
  const heap = new Heap({ store: ByteStore.create({ kind: "shared", maxBytes }) });
  heap.root = heap.calloc(1, 64); // the global lock's word, for the "locked" kind
  return heap.store.handle as SharedArrayBuffer;
}

/** Runs one configuration; returns million operations per second (malloc and free each count). */
async function measure(kind: Kind, workload: Workload, workers: number): Promise<number> {
  const control = new SharedArrayBuffer((8 + workers * LARSON_SLOTS) * 4);
  const base = { kind, workload, handle: makeHandle(kind), control, ring: new SharedArrayBuffer(workers * 1026 * 4), larsonSlots: LARSON_SLOTS, workers, ops: OPS };
  const pool = Array.from({ length: workers }, (_, id) => new Worker(WORKER, { workerData: { ...base, id } satisfies BenchJob }));
  const times = pool.map((w) => new Promise<number>((resolve, reject) => { w.once("message", resolve); w.once("error", reject); }));
  const flags = new Int32Array(control);
  while (Atomics.load(flags, 1) < workers) await new Promise((r) => setTimeout(r, 2));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  try {
    const ms = Math.max(...(await Promise.all(times)));
    return (2 * OPS * workers) / ms / 1000;
  } finally {
    await Promise.all(pool.map((w) => w.terminate())); // also the Workers a failed one left waiting
  }
}

async function median(kind: Kind, workload: Workload, workers: number, results: Map<string, number[]>): Promise<void> {
  const key = `${kind}/${workload}/${workers}`;
  process.stderr.write(`  ${key}\n`);
  const list = results.get(key) ?? [];
  try {
    list.push(await measure(kind, workload, workers));
  } catch (error) {
    failures.set(key, (error as Error).message); // reported under the table; the run goes on
    list.push(NaN);
  }
  results.set(key, list);
}

const configs: Array<[Workload, number[]]> = [["local", [1, 2]], ["larson", [1, 2]], ["xmalloc", [2]], ["cache-scratch", [1, 2]]];
const results = new Map<string, number[]>();
const failures = new Map<string, string>();
for (let rep = 0; rep < REPS; rep++) {
  process.stderr.write(`shared-heap bench: pass ${rep + 1} of ${REPS}\n`);
  for (const [workload, counts] of configs) {
    for (const workers of counts) {
      // A private Heap each is the ceiling only where the work is thread-local.
      const kinds = workload === "local" || workload === "cache-scratch" ? (["private", "locked", "shared"] as const) : (["locked", "shared"] as const);
      for (const kind of kinds) await median(kind, workload, workers, results);
      if (workload === "local" && workers === 1) {
        await median("heap", workload, 1, results);
        await median("heap-unguarded", workload, 1, results);
      }
    }
  }
}
const med = (key: string): number => {
  const v = results.get(key)!.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor(v.length / 2)]!;
};

const rows: (string | number)[][] = [];
for (const [workload, counts] of configs) {
  for (const workers of counts) {
    const shared = med(`shared/${workload}/${workers}`);
    const locked = med(`locked/${workload}/${workers}`);
    const local = results.has(`private/${workload}/${workers}`);
    const ceiling = local ? med(`private/${workload}/${workers}`) : NaN;
    const ceilingScaling = local && workers === 2 ? ` (ceiling ${fmt(ceiling / med(`private/${workload}/1`))}x)` : "";
    const scaling = workers === 2 && counts.includes(1) ? `${fmt(shared / med(`shared/${workload}/1`))}x${ceilingScaling}` : "";
    rows.push([workload, workers, local ? fmt(ceiling) : "n/a (blocks cross Workers)", fmt(locked), fmt(shared), `${fmt(shared / locked)}x`, scaling]);
  }
}
const heap1 = med("heap/local/1");
const unguarded1 = med("heap-unguarded/local/1");
printSection({
  title: `SharedHeap vs one global lock over the Heap (M ops/s, median of ${REPS}, ${OPS.toLocaleString("en-US")} malloc+free per Worker)`,
  columns: ["workload", "Workers", "a private Heap each (ceiling)", "Heap + global lock", "SharedHeap", "SharedHeap / lock", "SharedHeap 2 vs 1 Worker"],
  rows,
  notes: [
    `One Worker, thread-local: SharedHeap ${fmt(med("shared/local/1"))} M ops/s; the plain Heap on the same shared store, as shipped (its concurrent-use guard on), ${fmt(heap1)}: SharedHeap takes ${fmt(heap1 / med("shared/local/1"))}x its time; with the guard off ${fmt(unguarded1)}: ${fmt(unguarded1 / med("shared/local/1"))}x.`,
    ...[...failures].map(([key, message]) => `${key} failed in a pass (its median is of the other passes): ${message}`),
    "local: malloc+free of 16..256 B, 64 live per Worker; larson: slot arrays passed between Workers each round (remote frees); xmalloc: one Worker allocates, its partner frees; cache-scratch: 8-byte blocks written 100 times each (one malloc+free per 10 ops counted).",
  ],
});

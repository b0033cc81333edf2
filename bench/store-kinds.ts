/**
 * What each byte store costs, for the default-store question of issue 11 (decision 1 of
 * ../shared/notes/decisions.md). Three measurements, each case in a process of its own (one
 * kind of typed array per process, so V8's feedback stays monomorphic), on this Node and on any
 * other Node binary named in HEAPKIT_BENCH_NODES (colon-separated paths):
 *
 *   access   a read-modify-write loop at pseudo-random word indices of a 256 KiB Uint32Array
 *            (cache-resident: the cost of the access, not of a miss) over each store, each
 *            store's loop compiled from its own source (new Function), so its feedback is its own: fixed ArrayBuffer; resizable ArrayBuffer with a length-tracking
 *            view; a fixed-length view over a resizable ArrayBuffer; growable SharedArrayBuffer
 *            (length-tracking view); WebAssembly.Memory; a 2 GiB fixed ArrayBuffer
 *   churn    the Heap's churn (bench/heap-case.ts: 100,000 live blocks of 16..4096 B, random
 *            free + malloc) on each store kind the Heap takes, the fixed one 2 GiB up front, a
 *            process per case (one store kind per process keeps the Heap's code monomorphic)
 *   rss      RSS after creating a 2 GiB fixed ArrayBuffer, after touching one page in 16 MiB,
 *            and after writing all of 256 MiB: whether untouched pages are committed
 *
 *   npm run build && node dist/bench/store-kinds.js
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { fmt, printSection, progress, ratio } from "./harness.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const VIEW_BYTES = 16 << 20;
/** The loop's share of the view: small enough to stay in the L2 cache. */
const HOT_BYTES = 256 << 10;
const LARGE_BYTES = 2 ** 31;
const ACCESSES = 20_000_000;
const ROUNDS = 5;
const CHURN_ROUNDS = 3;
const MIB = 1 << 20;
const PAGE = 4096;

/** Each store's view: what a Heap's `u32` would be on it. */
const STORES: Record<string, { label: string; make: () => Uint32Array }> = {
  fixed: { label: "fixed ArrayBuffer, 16 MiB", make: () => new Uint32Array(new ArrayBuffer(VIEW_BYTES)) },
  "large-fixed": { label: "fixed ArrayBuffer, 2 GiB", make: () => new Uint32Array(new ArrayBuffer(LARGE_BYTES), 0, VIEW_BYTES / 4) },
  resizable: { label: "resizable ArrayBuffer, length-tracking view", make: () => new Uint32Array(new ArrayBuffer(VIEW_BYTES, { maxByteLength: 2 ** 30 })) },
  "resizable-fixed-view": {
    label: "resizable ArrayBuffer, fixed-length view",
    make: () => new Uint32Array(new ArrayBuffer(VIEW_BYTES, { maxByteLength: 2 ** 30 }), 0, VIEW_BYTES / 4),
  },
  shared: { label: "growable SharedArrayBuffer, length-tracking view", make: () => new Uint32Array(new SharedArrayBuffer(VIEW_BYTES, { maxByteLength: 2 ** 30 })) },
  "shared-fixed-view": {
    label: "growable SharedArrayBuffer, fixed-length view",
    make: () => new Uint32Array(new SharedArrayBuffer(VIEW_BYTES, { maxByteLength: 2 ** 30 }), 0, VIEW_BYTES / 4),
  },
  wasm: { label: "WebAssembly.Memory", make: () => new Uint32Array(new WebAssembly.Memory({ initial: VIEW_BYTES / 65536, maximum: 16384 }).buffer) },
};

/**
 * The Heap's churn on the store kinds it takes, in the row of the view it uses: ByteStore makes
 * fixed-length views over every kind (src/memory/store.ts); heap-case.ts gives the fixed kind
 * 2 GiB up front.
 */
const HEAP_KINDS: [string, string][] = [
  ["large-fixed", "array-buffer"],
  ["resizable-fixed-view", "resizable"],
  ["shared-fixed-view", "shared"],
  ["wasm", "wasm"],
];
const CHURN_ARGS = ["100000", "16", "4096", "2000000", "42"];

/** The loop's source: each store gets a fresh copy, so no store's typed array shares its feedback. */
const LOOP_SOURCE = `
  const mask = ${HOT_BYTES / 4 - 1};
  let x = 12345;
  let sum = 0;
  for (let i = 0; i < ${ACCESSES}; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    const at = (x >>> 8) & mask;
    const v = (view[at] + i) | 0;
    view[at] = v;
    sum = (sum + v) | 0;
  }
  return sum;`;

/** ns per access of every store, each the median of ROUNDS interleaved rounds. */
function accessTimes(): Record<string, number> {
  const cases = Object.entries(STORES).map(([name, { make }]) => ({ name, view: make(), loop: new Function("view", LOOP_SOURCE) as (view: Uint32Array) => number, ms: [] as number[] }));
  for (let round = 0; round < ROUNDS + 1; round++) {
    for (const c of cases) {
      const start = performance.now();
      c.loop(c.view);
      if (round > 0) c.ms.push(performance.now() - start); // round 0 warms up
    }
  }
  return Object.fromEntries(cases.map((c) => [c.name, (median(c.ms) * 1e6) / ACCESSES]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function rss(): Record<string, number> {
  const before = process.memoryUsage().rss;
  const big = new Uint8Array(new ArrayBuffer(LARGE_BYTES));
  const created = process.memoryUsage().rss;
  for (let at = 0; at < LARGE_BYTES; at += 16 * MIB) big[at] = 1;
  const sparse = process.memoryUsage().rss;
  big.fill(7, 0, 256 * MIB);
  const written = process.memoryUsage().rss;
  return { createdMiB: (created - before) / MIB, sparseMiB: (sparse - before) / MIB, writtenMiB: (written - before) / MIB, touchedSparseMiB: (LARGE_BYTES / (16 * MIB)) * PAGE / MIB };
}

function child(node: string, args: string[]): Record<string, number> {
  return JSON.parse(execFileSync(node, args, { encoding: "utf8" })) as Record<string, number>;
}

function nodes(): string[] {
  const extra = (process.env.HEAPKIT_BENCH_NODES ?? "").split(":").filter((p) => p !== "");
  return [process.execPath, ...extra];
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  for (const node of nodes()) {
    const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
    progress(`store kinds on Node ${version}`);
    const times = child(node, [self, "access"]);
    const access = Object.keys(STORES).map((name) => times[name]!);
    const churnRounds: number[][] = HEAP_KINDS.map(() => []);
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      HEAP_KINDS.forEach(([, kind], k) => churnRounds[k]!.push(child(node, [path.join(here, "heap-case.js"), "churn", `heap:${kind}`, ...CHURN_ARGS]).nsPerOp!));
    }
    const churn = churnRounds.map(median);
    const memory = child(node, [self, "rss"]);
    const rows = Object.entries(STORES).map(([name, { label }], i) => {
      const k = HEAP_KINDS.findIndex(([store]) => store === name);
      return [label, fmt(access[i]!), ratio(access[i]!, access[0]!), k < 0 ? "-" : fmt(churn[k]!), k < 0 ? "-" : ratio(churn[k]!, churn[0]!)];
    });
    printSection({
      title: `Store kinds on Node ${version}: typed-array access and the Heap's churn, ratios to a fixed ArrayBuffer`,
      columns: ["store", "ns/access", "vs fixed 16 MiB", "Heap churn ns/op (the Heap's view)", "vs the Heap on a fixed ArrayBuffer"],
      rows,
      notes: [
        `Access: ${ACCESSES.toLocaleString("en-US")} read-modify-writes at pseudo-random indices of the first 256 KiB of a 16 MiB view, median of ${ROUNDS} interleaved rounds. Churn: bench/heap-case.ts churn ${CHURN_ARGS.join(" ")} (the fixed store is 2 GiB up front; each the median of 5 passes), median of ${CHURN_ROUNDS} interleaved rounds.`,
        `RSS of a 2 GiB fixed ArrayBuffer: +${fmt(memory.createdMiB!)} MiB when created, +${fmt(memory.sparseMiB!)} MiB after touching one page in 16 MiB (${fmt(memory.touchedSparseMiB!)} MiB of pages), +${fmt(memory.writtenMiB!)} MiB after writing 256 MiB.`,
      ],
    });
  }
}

const [mode] = process.argv.slice(2);
if (mode === "access") console.log(JSON.stringify(accessTimes()));
else if (mode === "rss") console.log(JSON.stringify(rss()));
else parent();

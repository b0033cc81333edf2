/**
 * Heap speed against @thi.ng/malloc (the best-known JS malloc), `new Uint8Array`, a bare free
 * list (the ceiling for typed-array code) and, for the churns, native allocators on the same
 * workload. Every measurement runs in a fresh process (bench/heap-case.ts) with one allocator on
 * one store kind; every figure is compared with others taken in this run.
 * Run: `npm run bench -- heap`.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { fmt, progress, ratio, type Section } from "./harness.js";
import { nativeAllocators } from "./native.js";

const CASE = fileURLToPath(new URL("./heap-case.js", import.meta.url));
/** The default store first (reserved: a fixed ArrayBuffer committed logically), then the other fixed-view stores. */
const HEAPS = [
  ["heapkit Heap, reserved ArrayBuffer (default)", "heap:reserved"],
  ["heapkit Heap, fixed ArrayBuffer", "heap:array-buffer"],
  ["heapkit Heap, WebAssembly.Memory", "heap:wasm"],
] as const;

function measure(...args: (string | number)[]): number {
  const out = execFileSync(process.execPath, [CASE, ...args.map(String)], { encoding: "utf8", maxBuffer: 1 << 20 });
  return (JSON.parse(out) as { nsPerOp: number }).nsPerOp;
}

/** Fresh processes per pairs configuration: V8 inlines the loop differently from one process to the next (up to 1.6x apart). */
const PAIR_PROCESSES = 7;

/** 1e6 malloc(32)/free pairs: each configuration in PAIR_PROCESSES fresh processes, interleaved; the median and the range. */
export function pairs(): Section {
  const configs: [string, string][] = [
    ...HEAPS.map(([label, name]): [string, string] => [label, name]),
    ["@thi.ng/malloc 6.1 (MemPool, fixed ArrayBuffer)", "thi.ng"],
    ["new Uint8Array(32), left to the GC", "uint8array"],
    ["bare free list in an Int32Array: no checks, no stats", "bare"],
  ];
  const runs = configs.map((): number[] => []);
  for (let round = 0; round < PAIR_PROCESSES; round++) {
    progress(`malloc(32)/free pairs, round ${round + 1} of ${PAIR_PROCESSES}`);
    configs.forEach(([, name], i) => runs[i]!.push(measure("pairs", name)));
  }
  const sorted = runs.map((r) => [...r].sort((a, b) => a - b));
  const median = sorted.map((r) => r[r.length >> 1]!);
  const thing = median[3]!;
  return {
    title: `1e6 pairs of malloc(32) + free (median of ${PAIR_PROCESSES} fresh processes each, interleaved)`,
    columns: ["allocator", "ns/pair (min..max)", "M pairs/s", "pairs/s vs @thi.ng/malloc"],
    rows: configs.map(([label], i) => [label, `${fmt(median[i]!, 1)} (${fmt(sorted[i]![0]!, 1)}..${fmt(sorted[i]!.at(-1)!, 1)})`, fmt(1e3 / median[i]!, 1), ratio(thing, median[i]!)]),
  };
}

interface ChurnCase {
  live: number;
  minBytes: number;
  maxBytes: number;
  ops: number;
  seed: number;
  /** Write each block's first word when it is got and read it before its free (TOUCH 1). */
  touch: boolean;
}

interface ChurnResult {
  label: string;
  ops: number;
  nsPerOp: number;
}

/** One churn under every heap (the default store first), @thi.ng/malloc if asked (few ops: its free walks a list) and the natives. */
function churnAll(c: ChurnCase, withThing: boolean): ChurnResult[] {
  const run = (name: string, ops: number) => measure("churn", name, c.live, c.minBytes, c.maxBytes, ops, c.seed, c.touch ? 1 : 0);
  const results: ChurnResult[] = HEAPS.map(([label, name]) => ({ label, ops: c.ops, nsPerOp: run(name, c.ops) }));
  if (withThing) results.push({ label: "@thi.ng/malloc 6.1", ops: 4000, nsPerOp: run("thi.ng", 4000) });
  for (const native of nativeAllocators()) {
    results.push({ label: native.name, ops: c.ops, nsPerOp: native.churn(c.live, c.minBytes, c.maxBytes, c.ops, c.seed, c.touch) });
  }
  return results;
}

const NATIVE_NOTE = "Native rows: bench/native/churn.c, the same seeded workload in C (-O2), with jemalloc, mimalloc and tcmalloc through LD_PRELOAD where installed.";

/** 100,000 live blocks of 16..4096 bytes, then random free + malloc. */
export function churn(): Section {
  progress("churn with 100,000 live blocks of 16..4096 B");
  const results = churnAll({ live: 100_000, minBytes: 16, maxBytes: 4096, ops: 2_000_000, seed: 1, touch: false }, true);
  const base = results[0]!.nsPerOp;
  return {
    title: "Churn: 100,000 live blocks of 16..4096 B, then random free + malloc",
    columns: ["allocator", "ops timed", "ns/op", "M ops/s", "time vs the default Heap"],
    rows: results.map((r) => [r.label, r.ops.toLocaleString("en-US"), fmt(r.nsPerOp, 1), fmt(1e3 / r.nsPerOp, 2), ratio(r.nsPerOp, base)]),
    notes: [NATIVE_NOTE],
  };
}

/**
 * The same churn with 1,000 and with 1,000,000 live blocks: O(1) means no list grows with them.
 * With `touch`, the workload writes each block it gets and reads it before freeing it, as real
 * programs do (mimalloc-bench's workloads all use their memory): the block's line and page are
 * then in the caches when the allocator looks at them.
 */
function scalingOf(touch: boolean): Section {
  const what = touch ? "each block written when got and read before its free" : "no block touched";
  const [few, many] = [1_000, 1_000_000].map((live) => {
    progress(`churn with ${live.toLocaleString("en-US")} live blocks of 16..512 B, ${what}`);
    const access = measure("churn", "none", live, 16, 512, 2_000_000, 2);
    const results = churnAll({ live, minBytes: 16, maxBytes: 512, ops: 2_000_000, seed: 2, touch }, false);
    return [...results, { label: "no allocator: one random block's first word read and written per pair", ops: 2_000_000, nsPerOp: access }];
  });
  return {
    title: `Scaling: ns per op with 1,000 vs 1,000,000 live blocks (16..512 B, random free + malloc, ${what})`,
    columns: ["allocator", "ns/op, 1,000 live", "ns/op, 1,000,000 live", "1,000,000 vs 1,000"],
    rows: few!.map((r, i) => [r.label, fmt(r.nsPerOp, 1), fmt(many![i]!.nsPerOp, 1), ratio(many![i]!.nsPerOp, r.nsPerOp)]),
    notes: [
      "1,000 blocks (about 260 KB) fit in the L2 cache; 1,000,000 span ~270 MB, so every op misses the caches and the TLB. " +
        "No heap operation walks a list: the rise is the memory hierarchy, which the native allocators meet too. " + NATIVE_NOTE,
      "The last row has no allocator: the same blocks laid end to end, and per free + malloc pair one read and one write of the victim block's first word (what the touching workload adds), " +
        "so it is what one random access to the blocks costs per op.",
    ],
  };
}

export const scaling = (): Section => scalingOf(false);
export const scalingTouched = (): Section => scalingOf(true);

/** The concurrent-use guard's cost: a Heap on a growable SharedArrayBuffer with and without it. */
export function guard(): Section {
  progress("the concurrent-use guard on a shared store");
  const on = [measure("pairs", "heap:shared"), measure("churn", "heap:shared", 100_000, 16, 4096, 2_000_000, 1)];
  const off = [measure("pairs", "heap:shared-unguarded"), measure("churn", "heap:shared-unguarded", 100_000, 16, 4096, 2_000_000, 1)];
  return {
    title: "Concurrent-use guard: a Heap on a growable SharedArrayBuffer (unshared stores have no guard)",
    columns: ["workload", "ns/op, guard off", "ns/op, guard on", "time, on vs off"],
    rows: [["1e6 malloc(32)/free pairs", fmt(off[0]!, 1), fmt(on[0]!, 1), ratio(on[0]!, off[0]!)],
      ["churn, 100,000 live blocks of 16..4096 B", fmt(off[1]!, 1), fmt(on[1]!, 1), ratio(on[1]!, off[1]!)]],
  };
}

export const sections = [pairs, churn, scaling, scalingTouched, guard];

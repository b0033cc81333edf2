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
/** The default store first (growable, resizable), then the two fixed-view stores. */
const HEAPS = [
  ["heapkit Heap, resizable ArrayBuffer (default)", "heap:resizable"],
  ["heapkit Heap, fixed ArrayBuffer", "heap:array-buffer"],
  ["heapkit Heap, WebAssembly.Memory", "heap:wasm"],
] as const;

function measure(...args: (string | number)[]): number {
  const out = execFileSync(process.execPath, [CASE, ...args.map(String)], { encoding: "utf8", maxBuffer: 1 << 20 });
  return (JSON.parse(out) as { nsPerOp: number }).nsPerOp;
}

/** 1e6 malloc(32)/free pairs. */
export function pairs(): Section {
  progress("malloc(32)/free pairs");
  const rows: [string, number][] = [
    ...HEAPS.map(([label, name]): [string, number] => [label, measure("pairs", name)]),
    ["@thi.ng/malloc 6.1 (MemPool, fixed ArrayBuffer)", measure("pairs", "thi.ng")],
    ["new Uint8Array(32), left to the GC", measure("pairs", "uint8array")],
    ["bare free list in an Int32Array: no checks, no stats", measure("pairs", "bare")],
  ];
  const thing = rows[3]![1];
  return {
    title: "1e6 pairs of malloc(32) + free",
    columns: ["allocator", "ns/pair", "M pairs/s", "pairs/s vs @thi.ng/malloc"],
    rows: rows.map(([label, ns]) => [label, fmt(ns, 1), fmt(1e3 / ns, 1), ratio(thing, ns)]),
  };
}

interface ChurnCase {
  live: number;
  minBytes: number;
  maxBytes: number;
  ops: number;
  seed: number;
}

function churnRow(label: string, ns: number, base: number, ops: number): (string | number)[] {
  return [label, ops.toLocaleString("en-US"), fmt(ns, 1), fmt(1e3 / ns, 2), ratio(ns, base)];
}

/** One churn under every heap, @thi.ng/malloc (few ops: its free walks a list) and the natives. */
function churnRows(c: ChurnCase, withThing: boolean): { rows: (string | number)[][]; heapNs: number[] } {
  const args = (name: string, ops: number) => measure("churn", name, c.live, c.minBytes, c.maxBytes, ops, c.seed);
  const heapNs = HEAPS.map(([, name]) => args(name, c.ops));
  const base = heapNs[0]!;
  const rows = HEAPS.map(([label], i) => churnRow(label, heapNs[i]!, base, c.ops));
  if (withThing) rows.push(churnRow("@thi.ng/malloc 6.1", args("thi.ng", 4000), base, 4000));
  for (const native of nativeAllocators()) rows.push(churnRow(native.name, native.churn(c.live, c.minBytes, c.maxBytes, c.ops, c.seed), base, c.ops));
  return { rows, heapNs };
}

const CHURN_COLUMNS = ["allocator", "ops timed", "ns/op", "M ops/s", "time vs the default Heap"];
const NATIVE_NOTE = "Native rows: bench/native/churn.c, the same seeded workload in C (-O2), with jemalloc, mimalloc and tcmalloc through LD_PRELOAD where installed.";

/** 100,000 live blocks of 16..4096 bytes, then random free + malloc. */
export function churn(): Section {
  progress("churn with 100,000 live blocks of 16..4096 B");
  const { rows } = churnRows({ live: 100_000, minBytes: 16, maxBytes: 4096, ops: 2_000_000, seed: 1 }, true);
  return {
    title: "Churn: 100,000 live blocks of 16..4096 B, then random free + malloc",
    columns: CHURN_COLUMNS,
    rows,
    notes: [NATIVE_NOTE],
  };
}

/** The same churn with 1,000 and with 1,000,000 live blocks: O(1) means no list grows with them. */
export function scaling(): Section {
  const rows: (string | number)[][] = [];
  const at: number[][] = [];
  for (const live of [1_000, 1_000_000]) {
    progress(`churn with ${live.toLocaleString("en-US")} live blocks of 16..512 B`);
    const result = churnRows({ live, minBytes: 16, maxBytes: 512, ops: 2_000_000, seed: 2 }, false);
    at.push(result.rows.map((row) => Number(String(row[2]).replace(/,/g, ""))));
    rows.push(...result.rows.map((row) => [live.toLocaleString("en-US"), row[0]!, row[2]!]));
  }
  const labels = rows.slice(0, at[0]!.length).map((row) => row[1]!);
  return {
    title: "Scaling: ns per op with 1,000 vs 1,000,000 live blocks (16..512 B, random free + malloc)",
    columns: ["allocator", "ns/op, 1,000 live", "ns/op, 1,000,000 live", "1,000,000 vs 1,000"],
    rows: labels.map((label, i) => [label, fmt(at[0]![i]!, 1), fmt(at[1]![i]!, 1), ratio(at[1]![i]!, at[0]![i]!)]),
    notes: [
      "1,000 blocks (about 260 KB) fit in the L2 cache; 1,000,000 span ~270 MB, so every op misses the caches and the TLB. " +
        "No heap operation walks a list: the rise is the memory hierarchy, which the native allocators meet too. " + NATIVE_NOTE,
    ],
  };
}

export const sections = [pairs, churn, scaling];

/**
 * Heap speed against @thi.ng/malloc (the best-known JS malloc) and against `new Uint8Array`,
 * every figure a ratio of two measurements taken in this run. Run: `npm run bench -- heap`.
 */
import { MemPool } from "@thi.ng/malloc";
import { Heap } from "../src/index.js";
import { fmt, medianMs, progress, ratio, rng, type Section } from "./harness.js";

const REPS = 5;

/** 1e6 malloc(32)/free pairs. */
export function pairs(): Section {
  const n = 1_000_000;
  progress("malloc(32)/free pairs");
  const heap = new Heap();
  const pool = new MemPool({ size: 1 << 24 });
  let sink = 0;
  const heapMs = medianMs(REPS, () => {
    for (let i = 0; i < n; i++) {
      const p = heap.malloc(32);
      heap.free(p);
    }
  });
  const thingMs = medianMs(REPS, () => {
    for (let i = 0; i < n; i++) {
      const p = pool.malloc(32);
      pool.free(p);
    }
  });
  const typedMs = medianMs(REPS, () => {
    for (let i = 0; i < n; i++) sink += new Uint8Array(32).length;
  });
  if (sink === 0) throw new Error("unreachable");
  const perSec = (ms: number) => fmt(n / ms / 1000, 1);
  return {
    title: "1e6 pairs of malloc(32) + free",
    columns: ["allocator", "M pairs/s", "Heap is"],
    rows: [
      ["heapkit Heap", perSec(heapMs), "1.00x"],
      ["@thi.ng/malloc", perSec(thingMs), `${ratio(thingMs, heapMs)} faster`],
      ["new Uint8Array(32)", perSec(typedMs), `${ratio(typedMs, heapMs)} faster`],
    ],
  };
}

interface Churn {
  malloc(size: number): number;
  free(ptr: number): unknown;
}

/** Fills `live` blocks of random sizes, then replaces random ones; returns ns per malloc or free. */
function churnHeap(heap: Heap, live: number, ops: number, minSize: number, maxSize: number, seed: number): number {
  const random = rng(seed);
  const ptrs = new Uint32Array(live);
  const sizes = Uint32Array.from({ length: 1 << 16 }, () => minSize + Math.floor(random() * (maxSize - minSize + 1)));
  const victims = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(random() * live));
  for (let i = 0; i < live; i++) ptrs[i] = heap.malloc(sizes[i & 0xffff]!);
  const ms = medianMs(REPS, () => {
    for (let i = 0; i < ops; i += 2) {
      const v = victims[(i >>> 1) & 0xffff]!;
      heap.free(ptrs[v]!);
      ptrs[v] = heap.malloc(sizes[(i * 7) & 0xffff]!);
    }
  });
  return (ms * 1e6) / ops;
}

function churnThing(pool: Churn, live: number, ops: number, minSize: number, maxSize: number, seed: number): number {
  const random = rng(seed);
  const ptrs = new Uint32Array(live);
  const sizes = Uint32Array.from({ length: 1 << 16 }, () => minSize + Math.floor(random() * (maxSize - minSize + 1)));
  const victims = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(random() * live));
  for (let i = 0; i < live; i++) ptrs[i] = pool.malloc(sizes[i & 0xffff]!);
  const ms = medianMs(3, () => {
    for (let i = 0; i < ops; i += 2) {
      const v = victims[(i >>> 1) & 0xffff]!;
      pool.free(ptrs[v]!);
      ptrs[v] = pool.malloc(sizes[(i * 7) & 0xffff]!);
    }
  });
  return (ms * 1e6) / ops;
}

/** 100,000 live blocks of 16..4096 bytes, then random free + malloc. */
export function churn(): Section {
  progress("churn with 100,000 live blocks");
  const heapNs = churnHeap(new Heap(), 100_000, 2_000_000, 16, 4096, 1);
  progress("churn under @thi.ng/malloc (its free walks a list: few ops)");
  const thingNs = churnThing(new MemPool({ size: 1 << 30 }), 100_000, 4_000, 16, 4096, 1);
  return {
    title: "Churn: 100,000 live blocks of 16..4096 B, random free + malloc",
    columns: ["allocator", "ns/op", "M ops/s", "Heap is"],
    rows: [
      ["heapkit Heap (2e6 ops)", fmt(heapNs, 1), fmt(1e3 / heapNs, 1), "1.00x"],
      ["@thi.ng/malloc (4e3 ops)", fmt(thingNs, 0), fmt(1e3 / thingNs, 3), `${ratio(thingNs, heapNs)} faster`],
    ],
  };
}

/** The same churn with 1,000 and with 1,000,000 live blocks: O(1) means flat cost. */
export function scaling(): Section {
  const rows: (string | number)[][] = [];
  let base = 0;
  for (const live of [1_000, 1_000_000]) {
    progress(`churn with ${live.toLocaleString("en-US")} live blocks`);
    const ns = churnHeap(new Heap({ maxBytes: 2 ** 31 }), live, 2_000_000, 16, 512, 2);
    base ||= ns;
    rows.push([live.toLocaleString("en-US"), fmt(ns, 1), ratio(ns, base)]);
  }
  return {
    title: "Scaling: cost per op with 1,000 vs 1,000,000 live blocks (16..512 B, random free + malloc)",
    columns: ["live blocks", "ns/op", "vs 1,000"],
    rows,
    notes: ["The rise at 1,000,000 is cache misses (the blocks span ~270 MB), not the algorithm: no operation walks a list."],
  };
}

export const sections = [pairs, churn, scaling];

/**
 * Pool and Arena against what a JavaScript program would do instead, measured in the same run:
 *
 *   pool:  N × (malloc 48 bytes, write a word), then N × free    vs  N × new Uint8Array(48)
 *          (dropped afterwards: the GC's work is timed)            and Heap malloc/free
 *   churn: the same N mallocs and frees, 1000 live at a time     vs  Heap (cache-resident: the
 *                                                                    allocators' own work shows)
 *   both, also for a bare free list of 48-byte slots in a Uint32Array (no checks, no stats):
 *   the ceiling for any allocator that keeps its state in typed arrays.
 *   arena: N × malloc(48), write a word, then reset()            vs  a bare `top += 48` bump
 *                                                                    writing into a Uint32Array
 *
 * Pool, Heap and Arena run on each byte store kind (the kind decides how fast a typed-array
 * access is); the baselines do not depend on it. Each case runs `reps` times after a warm-up;
 * the median counts. Run: node --expose-gc dist/bench/pool-arena.js [objects] [reps] [kinds,...]
 * (each kind in a process of its own, so the JIT's type feedback never mixes typed arrays of several kinds).
 */
import { performance } from "node:perf_hooks";
import { execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Arena } from "../src/allocators/arena.js";
import { Pool } from "../src/allocators/pool.js";
import { Heap } from "../src/heap/heap.js";
import type { StoreKind } from "../src/memory/store.js";

const OBJECT_BYTES = 48;
const CHURN_LIVE = 1000;
const KINDS: readonly StoreKind[] = ["array-buffer", "wasm", "resizable", "shared"];

export interface PoolArenaKindResult {
  kind: StoreKind;
  /** Median milliseconds. */
  poolMs: number;
  heapMs: number;
  poolChurnMs: number;
  heapChurnMs: number;
  arenaMs: number;
  /** How many times faster Pool is (higher is better). */
  poolVsUint8Array: number;
  poolVsHeap: number;
  poolVsHeapChurn: number;
  /** Arena time over bare-bump time (1 is the floor; the bar is 2). */
  arenaVsBareBump: number;
}

export interface PoolArenaResult {
  objects: number;
  objectBytes: number;
  reps: number;
  gcExposed: boolean;
  uint8arrayMs: number;
  bareBumpMs: number;
  bareFreeListMs: number;
  bareFreeListChurnMs: number;
  kinds: PoolArenaKindResult[];
}

export function benchPoolArena(objects = 1_000_000, reps = 7, kinds: readonly StoreKind[] = KINDS): PoolArenaResult {
  const ptrs = new Uint32Array(objects);
  const held: (Uint8Array | undefined)[] = new Array(objects);
  const bumpWords = new Uint32Array((objects * OBJECT_BYTES) / 4);
  let sink = 0;
  const uint8arrayMs = medianMs(reps, () => {
    for (let i = 0; i < objects; i++) {
      const a = new Uint8Array(OBJECT_BYTES);
      a[0] = i;
      held[i] = a;
    }
    for (let i = 0; i < objects; i++) held[i] = undefined;
  }, true);
  const bareBumpMs = medianMs(reps, () => {
    let top = 0;
    for (let i = 0; i < objects; i++) {
      bumpWords[top >>> 2] = i;
      top += OBJECT_BYTES;
    }
    sink += top;
  });

  const slots = new Uint32Array((objects * OBJECT_BYTES) / 4 + OBJECT_BYTES);
  slots[0] = OBJECT_BYTES; // word 0 is the head; slot k (from 1) links to slot k + 1
  for (let slot = OBJECT_BYTES; slot < objects * OBJECT_BYTES; slot += OBJECT_BYTES) slots[slot >>> 2] = slot + OBJECT_BYTES;
  const bareFreeList = (live: number) => () => {
    for (let done = 0; done < objects; done += live) {
      for (let i = 0; i < live; i++) {
        const p = slots[0]!;
        slots[0] = slots[p >>> 2]!;
        slots[(p >>> 2) + 1] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < live; i++) {
        const p = ptrs[i]!;
        slots[p >>> 2] = slots[0]!;
        slots[0] = p;
      }
    }
  };
  const bareFreeListMs = medianMs(reps, bareFreeList(objects));
  const bareFreeListChurnMs = medianMs(reps, bareFreeList(CHURN_LIVE));

  const results = kinds.map((kind): PoolArenaKindResult => {
    // Fixed stores get room for everything; the others start small and grow.
    const store = { kind, initialBytes: kind === "array-buffer" ? objects * 128 + (1 << 20) : 65536, maxBytes: 2 ** 31 };
    const pool = new Pool({ objectBytes: OBJECT_BYTES, ...store });
    const heap = new Heap(store);
    const arena = new Arena(store);
    const poolMs = medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = pool.malloc(OBJECT_BYTES);
        pool.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < objects; i++) pool.free(ptrs[i]!);
    });
    const heapMs = medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = heap.malloc(OBJECT_BYTES);
        heap.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < objects; i++) heap.free(ptrs[i]!);
    });
    const churn = (allocator: Pool | Heap) => () => {
      for (let done = 0; done < objects; done += CHURN_LIVE) {
        for (let i = 0; i < CHURN_LIVE; i++) {
          const p = allocator.malloc(OBJECT_BYTES);
          allocator.store.u32[p >>> 2] = i;
          ptrs[i] = p;
        }
        for (let i = 0; i < CHURN_LIVE; i++) allocator.free(ptrs[i]!);
      }
    };
    const poolChurnMs = medianMs(reps, churn(pool));
    const heapChurnMs = medianMs(reps, churn(heap));
    const arenaMs = medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = arena.malloc(OBJECT_BYTES);
        arena.store.u32[p >>> 2] = i;
      }
      arena.reset();
    });
    pool.check();
    arena.check();
    return {
      kind,
      poolMs,
      heapMs,
      poolChurnMs,
      heapChurnMs,
      arenaMs,
      poolVsUint8Array: uint8arrayMs / poolMs,
      poolVsHeap: heapMs / poolMs,
      poolVsHeapChurn: heapChurnMs / poolChurnMs,
      arenaVsBareBump: arenaMs / bareBumpMs,
    };
  });
  if (sink < 0) console.log(sink);
  return { objects, objectBytes: OBJECT_BYTES, reps, gcExposed: gc() !== undefined, uint8arrayMs, bareBumpMs, bareFreeListMs, bareFreeListChurnMs, kinds: results };
}

function gc(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

/** Median duration of `fn` in ms after one warm-up run; with `collect`, a GC (if exposed) is timed after each run. */
function medianMs(reps: number, fn: () => void, collect = false): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc()?.();
    const start = performance.now();
    fn();
    if (collect) gc()?.();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * One store kind per process: with several kinds, this script runs itself once per kind (`--json`
 * prints one kind's result) and prints one table, each row with the baselines of its own process.
 */
function main(args: string[]): void {
  const json = args.includes("--json");
  const [objectsArg, repsArg, kindsArg] = args.filter((a) => a !== "--json");
  const objects = Number(objectsArg ?? 1_000_000);
  const reps = Number(repsArg ?? 7);
  const kinds = (kindsArg?.split(",") as StoreKind[] | undefined) ?? KINDS;
  if (json) {
    console.log(JSON.stringify(benchPoolArena(objects, reps, kinds)));
    return;
  }
  const results = kinds.map((kind) => {
    const out = execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), String(objects), String(reps), kind, "--json"], { encoding: "utf8" });
    return JSON.parse(out) as PoolArenaResult;
  });
  const f = (n: number) => n.toFixed(2);
  console.log(`${objects.toLocaleString("en-US")} objects of ${OBJECT_BYTES} bytes, median of ${reps}, each store kind in a process of its own with its own baselines`);
  if (!results[0]?.gcExposed) console.log("(run with --expose-gc to time the GC of the Uint8Arrays)");
  console.log("| store kind | pool ms | heap ms | new Uint8Array(48) ms | pool vs Uint8Array | pool vs heap | churn: pool / heap ms | churn: pool vs heap | bare free list ms | arena ms | bare bump ms | arena / bare bump |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const k = r.kinds[0]!;
    console.log(`| ${k.kind} | ${f(k.poolMs)} | ${f(k.heapMs)} | ${f(r.uint8arrayMs)} | ${f(k.poolVsUint8Array)}x faster | ${f(k.poolVsHeap)}x faster | ${f(k.poolChurnMs)} / ${f(k.heapChurnMs)} | ${f(k.poolVsHeapChurn)}x faster | ${f(r.bareFreeListMs)} | ${f(k.arenaMs)} | ${f(r.bareBumpMs)} | ${f(k.arenaVsBareBump)}x |`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));

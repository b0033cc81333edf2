/**
 * Pool and Arena against what a JavaScript program would do instead, each pair measured
 * interleaved (baseline, then subject, in every repetition) and reported as the median of the
 * per-repetition ratios, so a slow patch of this shared machine hits both sides alike:
 *
 *   pool:  N × (malloc 48 bytes, write a word), then N × free    vs  N × new Uint8Array(48)
 *          (dropped afterwards: the GC's work is timed)            and Heap malloc/free
 *   churn: the same N mallocs and frees, 1000 live at a time     vs  Heap (cache-resident: the
 *                                                                    allocators' own work shows)
 *   bare:  both workloads on a free list of 48-byte slots in a Uint32Array with no checks, no
 *          stats and no slabs, against Heap: the ceiling for any allocator in typed arrays.
 *   arena: N × malloc(48), write a word, then reset()            vs  a bare `top += 48` bump
 *                                                                    writing into a Uint32Array
 *   and that bump with its top read and written in a Uint32Array, as Arena's must be.
 *
 * Every allocator's loop is a function literal of its own: V8 keeps type feedback per literal,
 * and one loop shared by Pool and Heap would make both calls polymorphic (slower, and not alike
 * for both). Pool, Heap and Arena run on each byte store kind (the kind decides how fast a
 * typed-array access is); each kind runs in a process of its own, so the JIT's feedback never
 * mixes typed arrays of several kinds.
 *
 * Run: node --expose-gc dist/bench/pool-arena.js [objects] [reps] [kinds,...] [--json]
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

/** A baseline and a subject timed in turn, `reps` times. */
export interface Pairing {
  /** Median milliseconds of each side. */
  baseMs: number;
  subjectMs: number;
  /** Median over the repetitions of baseMs / subjectMs: above 1, the subject is faster. */
  speedup: number;
}

export interface PoolArenaResult {
  kind: StoreKind;
  objects: number;
  objectBytes: number;
  reps: number;
  gcExposed: boolean;
  /** Base: N × new Uint8Array(48) (GC timed); subject: Pool, N live. */
  poolVsUint8Array: Pairing;
  /** Base: Heap; subject: Pool. */
  poolVsHeap: Pairing;
  poolVsHeapChurn: Pairing;
  /** Base: Heap; subject: the bare free list (the ceiling for Pool's speed-up). */
  bareVsHeap: Pairing;
  bareVsHeapChurn: Pairing;
  /** Base: the bare bump; subject: Arena (speedup below 1: the bar is 0.5). */
  arenaVsBareBump: Pairing;
  /** Base: the bare bump; subject: the same bump with its top in a Uint32Array. */
  storedBumpVsBareBump: Pairing;
}

export function benchPoolArena(kind: StoreKind, objects = 1_000_000, reps = 7): PoolArenaResult {
  const ptrs = new Uint32Array(objects);
  // Fixed stores get room for everything; the others start small and grow.
  const store = { kind, initialBytes: kind === "array-buffer" ? objects * 128 + (1 << 20) : 65536, maxBytes: 2 ** 31 };
  const pool = new Pool({ objectBytes: OBJECT_BYTES, ...store });
  const heap = new Heap(store);
  const arena = new Arena(store);

  // `live` objects at a time: malloc them (writing a word into each), then free them all.
  const poolRounds = (live: number) => () => {
    for (let done = 0; done < objects; done += live) {
      for (let i = 0; i < live; i++) {
        const p = pool.malloc(OBJECT_BYTES);
        pool.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < live; i++) pool.free(ptrs[i]!);
    }
  };
  const heapRounds = (live: number) => () => {
    for (let done = 0; done < objects; done += live) {
      for (let i = 0; i < live; i++) {
        const p = heap.malloc(OBJECT_BYTES);
        heap.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < live; i++) heap.free(ptrs[i]!);
    }
  };
  const slots = new Uint32Array((objects * OBJECT_BYTES) / 4 + OBJECT_BYTES);
  slots[0] = OBJECT_BYTES; // word 0 is the head; slot k (from 1) links to slot k + 1
  for (let slot = OBJECT_BYTES; slot < objects * OBJECT_BYTES; slot += OBJECT_BYTES) slots[slot >>> 2] = slot + OBJECT_BYTES;
  const bareRounds = (live: number) => () => {
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
  const held: (Uint8Array | undefined)[] = new Array(objects);
  const uint8Arrays = () => {
    for (let i = 0; i < objects; i++) {
      const a = new Uint8Array(OBJECT_BYTES);
      a[0] = i;
      held[i] = a;
    }
    for (let i = 0; i < objects; i++) held[i] = undefined;
  };
  const bumpWords = new Uint32Array((objects * OBJECT_BYTES) / 4);
  const bareBump = () => {
    let top = 0;
    for (let i = 0; i < objects; i++) {
      bumpWords[top >>> 2] = i;
      top += OBJECT_BYTES;
    }
    if (top !== objects * OBJECT_BYTES) throw new Error("unreachable");
  };
  // The same bump with its top kept in a typed array, as an allocator whose state lives in its
  // byte store must: how much of Arena's gap is that rule, not Arena's own work.
  const storedTop = new Uint32Array(2);
  const storedBump = () => {
    storedTop[0] = 0;
    for (let i = 0; i < objects; i++) {
      const p = storedTop[0]!;
      storedTop[0] = p + OBJECT_BYTES;
      bumpWords[p >>> 2] = i;
    }
  };
  const arenaFill = () => {
    for (let i = 0; i < objects; i++) {
      const p = arena.malloc(OBJECT_BYTES);
      arena.store.u32[p >>> 2] = i;
    }
    arena.reset();
  };

  const result: PoolArenaResult = {
    kind,
    objects,
    objectBytes: OBJECT_BYTES,
    reps,
    gcExposed: gc() !== undefined,
    poolVsUint8Array: interleaved(reps, uint8Arrays, poolRounds(objects), true),
    poolVsHeap: interleaved(reps, heapRounds(objects), poolRounds(objects)),
    poolVsHeapChurn: interleaved(reps, heapRounds(CHURN_LIVE), poolRounds(CHURN_LIVE)),
    bareVsHeap: interleaved(reps, heapRounds(objects), bareRounds(objects)),
    bareVsHeapChurn: interleaved(reps, heapRounds(CHURN_LIVE), bareRounds(CHURN_LIVE)),
    arenaVsBareBump: interleaved(reps, bareBump, arenaFill),
    storedBumpVsBareBump: interleaved(reps, bareBump, storedBump),
  };
  pool.check();
  heap.check();
  arena.check();
  return result;
}

function gc(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

/** Runs of each side before timing: V8 reaches its optimized code after two or three. */
const WARM_UP_RUNS = 3;

/**
 * Times `base` then `subject` in each of `reps` repetitions, after warm-up runs of each; with
 * `collectBase`, a GC (if exposed) is timed after each base run (the garbage is its cost).
 */
function interleaved(reps: number, base: () => void, subject: () => void, collectBase = false): Pairing {
  const time = (fn: () => void, collect: boolean) => {
    gc()?.();
    const start = performance.now();
    fn();
    if (collect) gc()?.();
    return performance.now() - start;
  };
  for (let i = 0; i < WARM_UP_RUNS; i++) {
    base();
    subject();
  }
  const baseMs: number[] = [];
  const subjectMs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < reps; i++) {
    baseMs.push(time(base, collectBase));
    subjectMs.push(time(subject, false));
    ratios.push(baseMs[i]! / subjectMs[i]!);
  }
  return { baseMs: median(baseMs), subjectMs: median(subjectMs), speedup: median(ratios) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** One store kind per process: this script runs itself once per kind (`--json` prints one kind's result). */
function main(args: string[]): void {
  const json = args.includes("--json");
  const [objectsArg, repsArg, kindsArg] = args.filter((a) => a !== "--json");
  const objects = Number(objectsArg ?? 1_000_000);
  const reps = Number(repsArg ?? 7);
  const kinds = (kindsArg?.split(",") as StoreKind[] | undefined) ?? KINDS;
  if (!(Number.isSafeInteger(objects) && objects >= CHURN_LIVE && objects % CHURN_LIVE === 0 && Number.isSafeInteger(reps) && reps >= 1)) {
    console.error(`usage: pool-arena.js [objects, a multiple of ${CHURN_LIVE}] [reps >= 1] [kinds,...] [--json]; got ${objectsArg} ${repsArg}`);
    process.exit(2);
  }
  if (json) {
    console.log(JSON.stringify(kinds.map((kind) => benchPoolArena(kind, objects, reps))));
    return;
  }
  const results = kinds.map((kind) => {
    process.stderr.write(`  pool-arena: ${kind}\n`);
    const out = execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), String(objects), String(reps), kind, "--json"], { encoding: "utf8" });
    return (JSON.parse(out) as PoolArenaResult[])[0]!;
  });
  printTable(results);
}

function printTable(results: PoolArenaResult[]): void {
  const x = (p: Pairing) => `${p.speedup.toFixed(2)}x`;
  const ms = (p: Pairing) => `${p.subjectMs.toFixed(1)} / ${p.baseMs.toFixed(1)}`;
  const { objects, reps, gcExposed } = results[0]!;
  console.log(`${objects.toLocaleString("en-US")} objects of ${OBJECT_BYTES} bytes; each pair timed in turn ${reps} times, the median of the ratios shown; each store kind in a process of its own.`);
  if (!gcExposed) console.log("(run with --expose-gc to time the GC of the Uint8Arrays)");
  console.log("");
  console.log("| store kind | pool vs Uint8Array(48) | pool vs heap | bare free list vs heap | churn: pool vs heap | churn: bare free list vs heap | arena / bare bump | bump with top in store / bare bump | ms: pool / heap, churn pool / heap, arena / bump |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of results) {
    const arena = r.arenaVsBareBump;
    console.log(`| ${r.kind} | ${x(r.poolVsUint8Array)} | ${x(r.poolVsHeap)} | ${x(r.bareVsHeap)} | ${x(r.poolVsHeapChurn)} | ${x(r.bareVsHeapChurn)} | ${(1 / arena.speedup).toFixed(2)}x | ${(1 / r.storedBumpVsBareBump.speedup).toFixed(2)}x | ${ms(r.poolVsHeap)}, ${ms(r.poolVsHeapChurn)}, ${ms(arena)} |`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));

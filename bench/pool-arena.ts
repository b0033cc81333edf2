/**
 * Pool and Arena against what a JavaScript program would do instead, measured in the same run:
 *
 *   pool:  N × (malloc 48 bytes, write a word), then N × free    vs  N × new Uint8Array(48)
 *          (dropped afterwards, so the GC pays)                    and Heap malloc/free
 *   arena: N × malloc(48), write a word, then reset()            vs  a bare `top += 48` bump
 *                                                                    writing into a Uint32Array
 *
 * Each case runs `reps` times; the median counts. Run: node --expose-gc dist/bench/pool-arena.js
 */
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Arena } from "../src/allocators/arena.js";
import { Pool } from "../src/allocators/pool.js";
import { Heap } from "../src/heap/heap.js";

export interface PoolArenaResult {
  objects: number;
  objectBytes: number;
  reps: number;
  /** Median milliseconds per case. */
  ms: Record<"pool" | "uint8array" | "heap" | "arena" | "bareBump", number>;
  /** How many times faster Pool is than the alternative (higher is better). */
  poolVsUint8Array: number;
  poolVsHeap: number;
  /** How many times slower Arena is than a bare bump (lower is better; 1 is the floor). */
  arenaVsBareBump: number;
}

const OBJECT_BYTES = 48;

export function benchPoolArena(objects = 1_000_000, reps = 7): PoolArenaResult {
  const storeBytes = { initialBytes: 65536, maxBytes: 2 ** 30 };
  const pool = new Pool({ objectBytes: OBJECT_BYTES, ...storeBytes });
  const heap = new Heap(storeBytes);
  const arena = new Arena(storeBytes);
  const ptrs = new Uint32Array(objects);
  const held: (Uint8Array | undefined)[] = new Array(objects);
  const bumpWords = new Uint32Array((objects * OBJECT_BYTES) / 4);
  let sink = 0;

  const ms = {
    pool: medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = pool.malloc(OBJECT_BYTES);
        pool.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < objects; i++) pool.free(ptrs[i]!);
    }),
    uint8array: medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const a = new Uint8Array(OBJECT_BYTES);
        a[0] = i;
        held[i] = a;
      }
      for (let i = 0; i < objects; i++) held[i] = undefined;
    }, true),
    heap: medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = heap.malloc(OBJECT_BYTES);
        heap.store.u32[p >>> 2] = i;
        ptrs[i] = p;
      }
      for (let i = 0; i < objects; i++) heap.free(ptrs[i]!);
    }),
    arena: medianMs(reps, () => {
      for (let i = 0; i < objects; i++) {
        const p = arena.malloc(OBJECT_BYTES);
        arena.store.u32[p >>> 2] = i;
      }
      arena.reset();
    }),
    bareBump: medianMs(reps, () => {
      let top = 0;
      for (let i = 0; i < objects; i++) {
        bumpWords[top >>> 2] = i;
        top += OBJECT_BYTES;
      }
      sink += top;
    }),
  };
  if (sink < 0) console.log(sink);
  pool.check();
  arena.check();
  return {
    objects,
    objectBytes: OBJECT_BYTES,
    reps,
    ms,
    poolVsUint8Array: ms.uint8array / ms.pool,
    poolVsHeap: ms.heap / ms.pool,
    arenaVsBareBump: ms.arena / ms.bareBump,
  };
}

/** Median duration of `fn` in milliseconds; with `collect`, a GC (if exposed) runs inside the timing after each rep. */
function medianMs(reps: number, fn: () => void, collect = false): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  fn(); // warm up: compile, and grow the stores once
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc?.();
    const start = performance.now();
    fn();
    if (collect) gc?.();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = benchPoolArena();
  const f = (n: number) => n.toFixed(2);
  console.log(`${r.objects} objects of ${r.objectBytes} bytes, median of ${r.reps} (gc ${typeof (globalThis as { gc?: unknown }).gc === "function" ? "exposed" : "not exposed: run with --expose-gc"})`);
  console.log(`  pool alloc+free       ${f(r.ms.pool)} ms`);
  console.log(`  new Uint8Array(48)    ${f(r.ms.uint8array)} ms   pool is ${f(r.poolVsUint8Array)}x faster`);
  console.log(`  heap malloc+free      ${f(r.ms.heap)} ms   pool is ${f(r.poolVsHeap)}x faster`);
  console.log(`  arena malloc + reset  ${f(r.ms.arena)} ms`);
  console.log(`  bare top += 48 bump   ${f(r.ms.bareBump)} ms   arena is ${f(r.arenaVsBareBump)}x the bare bump`);
}

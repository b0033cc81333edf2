/**
 * One measurement of bench/heap.ts, run in a process of its own so that V8 sees one allocator on
 * one kind of store (several kinds in one process make the allocator's code polymorphic, and
 * slower). Prints the median ns per operation as JSON.
 *
 *   node dist/bench/heap-case.js pairs ALLOCATOR
 *   node dist/bench/heap-case.js churn ALLOCATOR LIVE MIN_BYTES MAX_BYTES OPS SEED [TOUCH]
 *   node dist/bench/heap-case.js create heap:KIND   (a new Heap and its first malloc/free, default sizes)
 *
 * ALLOCATOR: heap:KIND (a Heap on that store kind; heap:shared-unguarded without the concurrent-use guard), thi.ng (@thi.ng/malloc's MemPool), uint8array
 * (pairs only: `new Uint8Array(32)`, left to the GC), bare (pairs only: a free list of 32-byte
 * slots in an Int32Array, with no checks and no stats, the ceiling for typed-array code).
 * TOUCH 1 (heap:KIND only): the churn writes the first word of each block it gets and reads it
 * back before freeing it, as bench/native/churn.c does with TOUCH 1. ALLOCATOR `none` (churn
 * only): no allocator, the blocks laid end to end, and per free + malloc pair only one read and
 * one write of the victim block's first word: what one random access to the blocks costs.
 */
import { MemPool } from "@thi.ng/malloc";
import { Heap } from "../src/heap/heap.js";
import type { StoreKind } from "../src/memory/store.js";
import { medianMs, rng } from "./harness.js";

interface MallocFree {
  malloc(size: number): number;
  free(ptr: number): unknown;
}

const PAIRS = 1_000_000;
const PAIR_BYTES = 32;
const REPS = 5;

/** The allocator named on the command line, sized to hold `bytes` of blocks. */
function allocatorFor(name: string, bytes: number): MallocFree {
  if (name === "thi.ng") return new MemPool({ size: Math.min(2 ** 31, Math.max(1 << 24, bytes)) });
  if (name === "bare") return new BareFreeList();
  if (name.startsWith("heap:")) {
    // heap:shared-unguarded: a shared store with `concurrencyGuard: false`.
    const unguarded = name.endsWith("-unguarded");
    const kind = name.slice(5).replace(/-unguarded$/, "") as StoreKind;
    const maxBytes = 2 ** 31;
    // A fixed ArrayBuffer cannot grow: give it the room up front, as MemPool gets.
    return new Heap({ kind, maxBytes, concurrencyGuard: !unguarded, initialBytes: kind === "array-buffer" ? Math.min(maxBytes, Math.max(1 << 24, bytes)) : 1 << 16 });
  }
  throw new Error(`unknown allocator ${name}`);
}

/** A free list of 32-byte slots threaded through an Int32Array: what a pair costs at the least. */
class BareFreeList implements MallocFree {
  private readonly words = new Int32Array(1 << 16);
  private top = 64;

  malloc(): number {
    const words = this.words;
    const head = words[0]!;
    if (head === 0) return (this.top += PAIR_BYTES) - PAIR_BYTES;
    words[0] = words[head >>> 2]!;
    return head;
  }

  free(ptr: number): void {
    this.words[ptr >>> 2] = this.words[0]!;
    this.words[0] = ptr;
  }
}

function pairs(name: string): number {
  let ms: number;
  if (name === "uint8array") {
    let sink = 0;
    ms = medianMs(REPS, () => {
      for (let i = 0; i < PAIRS; i++) sink += new Uint8Array(PAIR_BYTES).length;
    });
    if (sink === 0) throw new Error("unreachable");
  } else {
    const a = allocatorFor(name, 0);
    ms = medianMs(REPS, () => {
      for (let i = 0; i < PAIRS; i++) a.free(a.malloc(PAIR_BYTES));
    });
  }
  return (ms * 1e6) / PAIRS;
}

interface ChurnSetup {
  a: MallocFree;
  sizes: Uint32Array;
  victims: Uint32Array;
  ptrs: Uint32Array;
}

/** The allocator with `live` blocks of random sizes, and the seeded size and victim tables. */
function churnSetup(name: string, live: number, minBytes: number, maxBytes: number, seed: number): ChurnSetup {
  const a = allocatorFor(name, live * (maxBytes + 64) * 1.25);
  const random = rng(seed);
  const sizes = Uint32Array.from({ length: 1 << 16 }, () => minBytes + Math.floor(random() * (maxBytes - minBytes + 1)));
  const victims = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(random() * live));
  const ptrs = new Uint32Array(live);
  for (let i = 0; i < live; i++) ptrs[i] = a.malloc(sizes[i & 0xffff]!);
  return { a, sizes, victims, ptrs };
}

/** Fills `live` blocks of random sizes, then frees a random one and mallocs another, `ops` times in all. */
function churn(name: string, live: number, minBytes: number, maxBytes: number, ops: number, seed: number): number {
  const { a, sizes, victims, ptrs } = churnSetup(name, live, minBytes, maxBytes, seed);
  const ms = medianMs(REPS, () => {
    for (let i = 0; i < ops; i += 2) {
      const v = victims[(i >>> 1) & 0xffff]!;
      a.free(ptrs[v]!);
      ptrs[v] = a.malloc(sizes[(i * 7) & 0xffff]!);
    }
  });
  return (ms * 1e6) / ops;
}

/** `churn`, writing the first word of each block when it is got and reading it before its free. */
function touchingChurn(name: string, live: number, minBytes: number, maxBytes: number, ops: number, seed: number): number {
  const { a, sizes, victims, ptrs } = churnSetup(name, live, minBytes, maxBytes, seed);
  if (!(a instanceof Heap)) throw new Error(`${name}: TOUCH needs a heap:KIND allocator`);
  // a.u32 is read at each use: a WebAssembly.Memory's view is remade when it grows.
  for (let i = 0; i < live; i++) a.u32[ptrs[i]! >>> 2] = i;
  let sum = 0;
  const ms = medianMs(REPS, () => {
    for (let i = 0; i < ops; i += 2) {
      const v = victims[(i >>> 1) & 0xffff]!;
      sum += a.u32[ptrs[v]! >>> 2]!;
      a.free(ptrs[v]!);
      const p = a.malloc(sizes[(i * 7) & 0xffff]!);
      a.u32[p >>> 2] = i;
      ptrs[v] = p;
    }
  });
  if (sum < 0) throw new Error("unreachable: a sum of u32 words");
  return (ms * 1e6) / ops;
}

/** The blocks of `churnSetup` laid end to end, and per pair only a read and a write of the victim's first word. */
function randomAccess(live: number, minBytes: number, maxBytes: number, ops: number, seed: number): number {
  const random = rng(seed);
  const sizes = Uint32Array.from({ length: 1 << 16 }, () => minBytes + Math.floor(random() * (maxBytes - minBytes + 1)));
  const victims = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(random() * live));
  const starts = new Uint32Array(live);
  let end = 0;
  for (let i = 0; i < live; i++, end += (sizes[i & 0xffff]! + 15) & ~7) starts[i] = end >>> 2;
  const words = new Uint32Array((end >>> 2) + 1);
  let sum = 0;
  const ms = medianMs(REPS, () => {
    for (let i = 0; i < ops; i += 2) {
      const w = starts[victims[(i >>> 1) & 0xffff]!]!;
      sum += words[w]!;
      words[w] = i;
    }
  });
  if (sum < 0) throw new Error("unreachable: a sum of u32 words");
  return (ms * 1e6) / ops;
}

/** `new Heap({ kind })` with the default reservation and one malloc/free, the last few heaps kept alive. */
function create(name: string): number {
  const kind = name.slice(5) as StoreKind;
  const kept: Heap[] = [];
  const count = 100;
  const ms = medianMs(REPS, () => {
    for (let i = 0; i < count; i++) {
      const heap = new Heap({ kind });
      heap.free(heap.malloc(PAIR_BYTES));
      kept.push(heap);
      if (kept.length > 4) kept.shift();
    }
  });
  return (ms * 1e6) / count;
}

const [what, name, ...args] = process.argv.slice(2);
const [live, minBytes, maxBytes, ops, seed, touch] = args.map(Number) as [number, number, number, number, number, number | undefined];
/** The churn the command line names: without an allocator, touching its blocks, or plain. */
function churnCase(): number {
  if (name === "none") return randomAccess(live, minBytes, maxBytes, ops, seed);
  return (touch === 1 ? touchingChurn : churn)(name!, live, minBytes, maxBytes, ops, seed);
}

const nsPerOp = what === "pairs" ? pairs(name!) : what === "create" ? create(name!) : churnCase();
console.log(JSON.stringify({ nsPerOp }));

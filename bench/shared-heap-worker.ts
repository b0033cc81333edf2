/**
 * One Worker of the SharedHeap benchmark. Each Worker makes one allocator kind, so its loops
 * see one receiver type (monomorphic: no other kind ever runs in this isolate), runs one warm-up
 * pass of the workload (as long as a timed one: V8 has tiered the loops up by its end), then
 * `passes` timed passes, each after a barrier with the other Workers, and posts their times:
 * wall clock, and the time its thread ran on a CPU and waited for one (so a reader can tell a
 * slow allocator from a machine busy with other work).
 *
 *   kind    "shared": SharedHeap.attach;  "locked": the plain Heap (guard off) behind one
 *           Atomics lock (the design of the existing JS attempts, the baseline: decision 10);  "private": a plain Heap of the
 *           Worker's own on an unshared buffer, no shared data at all (the machine's ceiling for
 *           the scaling ratio, decision 10);
 *           "heap" / "heap-unguarded": the plain Heap with no lock, with and without its
 *           concurrent-use guard, for one Worker only (what SharedHeap costs).
 */
import { workerData, parentPort } from "node:worker_threads";
import { Heap } from "../src/heap/heap.js";
import { Word } from "../src/heap/layout.js";
import { SharedHeap } from "../src/shared/shared-heap.js";
import { rng } from "../src/util/random.js";
import { readFileSync } from "node:fs";
import type { BenchJob, PassTime } from "./shared-heap-job.js";

const job = workerData as BenchJob;
const control = new Int32Array(job.control); // [0] start flag, [1] arrivals, [2] round barrier, [3] pass barrier, 8.. larson slots

/**
 * The plain Heap behind one lock word (at the heap's root): every call takes the lock, and so
 * does attach, which reads the blocks other Workers change (the root word is read first).
 */
class GlobalLockHeap {
  private readonly lockWord: Int32Array;
  readonly heap: Heap;
  constructor(handle: SharedArrayBuffer) {
    this.lockWord = new Int32Array(handle, new Uint32Array(handle)[Word.ROOT]!, 1);
    while (Atomics.compareExchange(this.lockWord, 0, 0, 1) !== 0);
    try { this.heap = Heap.attach(handle, { concurrencyGuard: false }); } finally { Atomics.store(this.lockWord, 0, 0); }
  }
  malloc(size: number): number {
    while (Atomics.compareExchange(this.lockWord, 0, 0, 1) !== 0);
    try { return this.heap.malloc(size); } finally { Atomics.store(this.lockWord, 0, 0); }
  }
  free(ptr: number): void {
    while (Atomics.compareExchange(this.lockWord, 0, 0, 1) !== 0);
    try { this.heap.free(ptr); } finally { Atomics.store(this.lockWord, 0, 0); }
  }
  get u8(): Uint8Array { return this.heap.store.u8; }
}

type Alloc = { malloc(size: number): number; free(ptr: number): void; readonly u8: Uint8Array };

function open(): Alloc {
  if (job.kind === "shared") return SharedHeap.attach(job.handle);
  if (job.kind === "locked") return new GlobalLockHeap(job.handle);
  if (job.kind === "heap") return Heap.attach(job.handle); // as shipped: with its concurrent-use guard
  if (job.kind === "heap-unguarded") return Heap.attach(job.handle, { concurrencyGuard: false });
  return new Heap({ kind: "array-buffer", initialBytes: 64 << 20 }); // "private"
}

function barrier(word: number, parties: number, generation: number): void {
  if (Atomics.add(control, word, 1) + 1 === parties * generation) Atomics.notify(control, word);
  else for (let v = Atomics.load(control, word); v < parties * generation; v = Atomics.load(control, word)) Atomics.wait(control, word, v, 5);
}

const sizes = new Int32Array(4096);
const random = rng(job.id + 7);
for (let i = 0; i < sizes.length; i++) sizes[i] = 16 + Math.floor(random() * 241);

/** malloc+free of 16..256 B against a window of 64 live blocks, all thread-local. */
function local(a: Alloc, ops: number): void {
  const live = new Int32Array(64);
  for (let i = 0; i < 64; i++) live[i] = a.malloc(sizes[i]!);
  for (let i = 0; i < ops; i++) {
    const k = i & 63;
    a.free(live[k]!);
    live[k] = a.malloc(sizes[i & 4095]!);
  }
  for (let i = 0; i < 64; i++) a.free(live[i]!);
}

/** larson (Larson and Krishnan, 1998): rounds of random replacement in a slot array that passes to the next Worker each round, so most frees are of another Worker's blocks. */
let larsonRounds = 0;
function larson(a: Alloc, ops: number): void {
  const slots = job.larsonSlots;
  const rounds = 8;
  const perRound = Math.floor(ops / rounds);
  for (let r = 0; r < rounds; r++) {
    const base = 8 + ((job.id + r) % job.workers) * slots;
    for (let i = 0; i < perRound; i++) {
      const k = base + ((i * 7919) % slots);
      const old = control[k]!;
      if (old !== 0) a.free(old);
      control[k] = a.malloc(sizes[i & 4095]!);
    }
    barrier(2, job.workers, ++larsonRounds);
  }
}

/** xmalloc-test (Lever and Boreham, 2000): even Workers allocate, odd ones free what their partner made. */
function xmalloc(a: Alloc, ops: number): void {
  const ring = new Int32Array(job.ring, (job.id >> 1) * 1026 * 4, 1026);
  if ((job.id & 1) === 0) {
    for (let i = 0; i < ops; i++) {
      const p = a.malloc(sizes[i & 4095]!);
      const tail = ring[1025]!;
      for (let head = Atomics.load(ring, 1024); tail - head >= 1024; head = Atomics.load(ring, 1024)) Atomics.wait(ring, 1024, head, 1);
      ring[tail & 1023] = p;
      Atomics.store(ring, 1025, tail + 1);
      Atomics.notify(ring, 1025);
    }
  } else {
    const first = ring[1024]!;
    for (let head = first; head < first + ops; head++) {
      for (let tail = Atomics.load(ring, 1025); tail <= head; tail = Atomics.load(ring, 1025)) Atomics.wait(ring, 1025, tail, 1);
      a.free(ring[head & 1023]!);
      Atomics.store(ring, 1024, head + 1);
      Atomics.notify(ring, 1024);
    }
  }
}

/**
 * cache-scratch (Berger et al., Hoard, 2000): 8-byte blocks, each written 100 times between its
 * malloc and free; slow where two Workers' blocks share a cache line (an allocator that hands
 * neighbouring slots of one slab to different threads).
 */
function cacheScratch(a: Alloc, ops: number): void {
  const rounds = Math.max(1, Math.floor(ops / 10));
  for (let r = 0; r < rounds; r++) {
    const p = a.malloc(8);
    const u8 = a.u8;
    for (let k = 0; k < 100; k++) u8[p + (k & 7)] = (u8[p + (k & 7)]! + k) & 255;
    a.free(p);
  }
}

/** This thread's time on a CPU and waiting for one, in ms (Linux's /proc/thread-self/schedstat), or NaN. */
function schedMs(): [number, number] {
  try {
    const [run, wait] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number);
    return [run! / 1e6, wait! / 1e6];
  } catch {
    return [NaN, NaN];
  }
}

const workloads = { local, larson, xmalloc, "cache-scratch": cacheScratch };
const WARM_CALLS = 10;
const allocator = open();
const work = workloads[job.workload];
// Warm-up: short calls first, so that V8 has seen the workload function return (its exits have
// type feedback) before it optimizes it, then one pass as long as a timed one.
for (let k = 0; k < WARM_CALLS; k++) work(allocator, Math.ceil(job.ops / 50));
work(allocator, job.ops);
barrier(1, job.workers, 1);
while (Atomics.load(control, 0) === 0) Atomics.wait(control, 0, 0, 5);
const times: PassTime[] = [];
for (let pass = 1; pass <= job.passes; pass++) {
  barrier(3, job.workers, pass);
  const [run0, wait0] = schedMs();
  const started = performance.now();
  work(allocator, job.ops);
  const ms = performance.now() - started;
  const [run1, wait1] = schedMs();
  times.push({ ms, cpuMs: run1 - run0, waitMs: wait1 - wait0 });
}
parentPort!.postMessage(times);

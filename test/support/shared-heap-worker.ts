/**
 * A Worker of the SharedHeap tests: attaches to the heap, does random malloc/free/realloc,
 * passes some blocks to other Workers to free (through single-producer rings in shared memory),
 * fills every block with a pattern derived from its offset and size and verifies it on free, and
 * marks every block it holds in a shared ownership bitmap so that no block is handed to two.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SharedHeap } from "../../src/shared/shared-heap.js";
import { rng } from "../../src/util/random.js";
import { RING_SLOTS, type WorkerJob } from "./shared-heap-job.js";

const RING_WORDS = RING_SLOTS + 2;

const job = workerData as WorkerJob;
const rings = new Int32Array(job.rings);
const owners = new Int32Array(job.owners);
const random = rng(job.seed);
let heap = SharedHeap.attach(job.handle);
const live: number[] = [];
const sizes = new Map<number, number>();

function fail(message: string): never {
  throw new Error(`worker ${job.id}: ${message}`);
}

function own(ptr: number): void {
  const bit = 1 << ((ptr >>> 4) & 31);
  if ((Atomics.or(owners, ptr >>> 9, bit) & bit) !== 0) fail(`block ${ptr} was handed out while another Worker holds it`);
}

function disown(ptr: number): void {
  const bit = 1 << ((ptr >>> 4) & 31);
  if ((Atomics.and(owners, ptr >>> 9, ~bit) & bit) === 0) fail(`block ${ptr} is freed but no Worker holds it`);
}

/** The pattern's byte k of a block: its size in bytes 0..3 (little-endian), then a function of ptr. */
function expected(ptr: number, size: number, k: number): number {
  return k < 4 ? (size >>> (8 * k)) & 255 : (ptr + k * 31 + size) & 255;
}

function fill(ptr: number, size: number): void {
  const u8 = heap.u8;
  for (let k = 0; k < Math.min(size, 16); k++) u8[ptr + k] = expected(ptr, size, k);
  for (let k = Math.max(16, size - 16); k < size; k++) u8[ptr + k] = expected(ptr, size, k);
}

function verify(ptr: number, size: number): void {
  const u8 = heap.u8;
  for (let k = 0; k < Math.min(size, 16); k++) if (u8[ptr + k] !== expected(ptr, size, k)) fail(`block ${ptr} (${size} B) lost byte ${k}`);
  for (let k = Math.max(16, size - 16); k < size; k++) if (u8[ptr + k] !== expected(ptr, size, k)) fail(`block ${ptr} (${size} B) lost byte ${k}`);
}

function release(ptr: number): void {
  const size = sizes.get(ptr)!;
  verify(ptr, size);
  sizes.delete(ptr);
  disown(ptr);
  heap.free(ptr);
}

/** Sends a block to Worker `to` to free; false if the ring is full. */
function send(to: number, ptr: number): boolean {
  const r = (job.id * job.workers + to) * RING_WORDS;
  const head = Atomics.load(rings, r + RING_SLOTS);
  const tail = rings[r + RING_SLOTS + 1]!;
  if (tail - head >= RING_SLOTS) return false;
  rings[r + (tail % RING_SLOTS)] = ptr;
  Atomics.store(rings, r + RING_SLOTS + 1, tail + 1);
  return true;
}

/** Frees what other Workers sent here. */
function receive(): void {
  for (let from = 0; from < job.workers; from++) {
    if (from === job.id) continue;
    const r = (from * job.workers + job.id) * RING_WORDS;
    let head = rings[r + RING_SLOTS]!;
    const tail = Atomics.load(rings, r + RING_SLOTS + 1);
    for (; head < tail; head++) {
      const ptr = rings[r + (head % RING_SLOTS)]!;
      const u8 = heap.u8;
      verify(ptr, u8[ptr]! | (u8[ptr + 1]! << 8) | (u8[ptr + 2]! << 16) | (u8[ptr + 3]! << 24));
      disown(ptr);
      heap.free(ptr);
    }
    Atomics.store(rings, r + RING_SLOTS, head);
  }
}

function step(i: number): void {
  const r = random();
  const capped = job.smallLiveCap > 0;
  if (live.length > 0 && (r < 0.42 || (capped && live.length >= job.smallLiveCap))) {
    const k = Math.floor(random() * live.length);
    const ptr = live[k]!;
    live[k] = live[live.length - 1]!;
    live.pop();
    const to = Math.floor(random() * job.workers);
    const size = sizes.get(ptr)!;
    if (to !== job.id && size >= 4 && random() < 0.5) {
      verify(ptr, size);
      if (send(to, ptr)) { // the receiver reads the size from the block and frees it
        sizes.delete(ptr);
        return;
      }
    }
    release(ptr);
  } else {
    const size = capped || random() < 0.9 ? Math.floor(random() * 257) : Math.floor(random() * 9000);
    const ptr = heap.malloc(size);
    if (ptr === 0) fail(`malloc(${size}) ran out of memory`);
    own(ptr);
    fill(ptr, size);
    sizes.set(ptr, size);
    live.push(ptr);
  }
  if (i % 64 === 0) receive();
}

parentPort!.postMessage({ kind: "attached", threadId: heap.threadId });
for (let i = 0; job.forever || i < job.ops; i++) {
  step(i);
  if (job.reattachEvery > 0 && i % job.reattachEvery === job.reattachEvery - 1) {
    heap.detach();
    heap = SharedHeap.attach(job.handle);
  }
}
receive();
const threadId = heap.threadId;
heap.detach();
parentPort!.postMessage({ kind: "done", threadId, live: [...sizes] });

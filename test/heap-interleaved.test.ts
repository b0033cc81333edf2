/**
 * Two plain `Heap` instances attached to one shared store, in one thread, each call by either of
 * them (as two Workers do under one external lock, the shared-heap bench's global-lock baseline):
 * random malloc/free/realloc, any instance freeing any block, every block stamped and verified,
 * and check() and the stats against a model along the way.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/heap/heap.js";
import { ByteStore, type StoreBacking } from "../src/memory/store.js";
import { rng } from "../src/util/random.js";

interface Block { size: number; seed: number }

/**
 * The bytes, through a view of the buffer as it is now: an instance's own views are short (or,
 * on a WASM memory, detached) after the other one grew the store, until its next call that looks.
 */
let backing: StoreBacking;

function bytes(): Uint8Array {
  return new Uint8Array(backing instanceof WebAssembly.Memory ? backing.buffer : (backing as ArrayBuffer));
}

function stamp(ptr: number, b: Block): void {
  const u8 = bytes();
  for (let k = 0; k < Math.min(b.size, 8); k++) u8[ptr + k] = (b.seed + k) & 255;
  for (let k = Math.max(8, b.size - 8); k < b.size; k++) u8[ptr + k] = (b.seed * 7 + k) & 255;
}

function verify(ptr: number, b: Block): void {
  const u8 = bytes();
  for (let k = 0; k < Math.min(b.size, 8); k++) assert.equal(u8[ptr + k], (b.seed + k) & 255, `block ${ptr} lost byte ${k}`);
  for (let k = Math.max(8, b.size - 8); k < b.size; k++) assert.equal(u8[ptr + k], (b.seed * 7 + k) & 255, `block ${ptr} lost byte ${k}`);
}

/** A size: mostly small, some mid, a few large (which grow the store and free back to the top). */
function sizeFrom(random: () => number, large: number): number {
  const r = random();
  if (r < large) return 4097 + Math.floor(random() * 200_000);
  return r < 0.75 ? Math.floor(random() * 257) : 257 + Math.floor(random() * 3840);
}

function interleave(heaps: Heap[], ops: number, seed: number, large: number): void {
  const random = rng(seed);
  const live = new Map<number, Block>();
  const ptrs: number[] = [];
  let nextSeed = 1;
  let heap = heaps[0]!;
  for (let i = 0; i < ops; i++) {
    // Runs of calls by one instance, as a lock handed between Workers gives them.
    if (random() < 0.2) heap = heaps[Math.floor(random() * heaps.length)]!;
    const r = random();
    if (ptrs.length > 0 && r < 0.47) {
      const k = Math.floor(random() * ptrs.length);
      const ptr = ptrs[k]!;
      ptrs[k] = ptrs[ptrs.length - 1]!;
      ptrs.pop();
      verify(ptr, live.get(ptr)!);
      live.delete(ptr);
      heap.free(ptr);
    } else if (ptrs.length > 0 && r < 0.55) {
      const k = Math.floor(random() * ptrs.length);
      const ptr = ptrs[k]!;
      const size = sizeFrom(random, large);
      verify(ptr, live.get(ptr)!);
      const moved = heap.realloc(ptr, size);
      assert.notEqual(moved, 0, `realloc(${ptr}, ${size}) failed`);
      live.delete(ptr);
      const b = { size, seed: nextSeed++ };
      stamp(moved, b);
      live.set(moved, b);
      ptrs[k] = moved;
    } else {
      const size = sizeFrom(random, large);
      const ptr = heap.malloc(size);
      assert.notEqual(ptr, 0, `malloc(${size}) failed`);
      assert.ok(!live.has(ptr), `op ${i}: malloc(${size}) handed out live block ${ptr} again`);
      const b = { size, seed: nextSeed++ };
      stamp(ptr, b);
      live.set(ptr, b);
      ptrs.push(ptr);
    }
    if (i % 1000 === 999) {
      const checker = heaps[Math.floor(random() * heaps.length)]!;
      checker.check();
      const stats = checker.stats();
      assert.equal(stats.liveBlocks, live.size);
      assert.equal(stats.liveBytes, [...live.values()].reduce((sum, b) => sum + b.size, 0));
    }
  }
  for (const ptr of ptrs) heaps[Math.floor(random() * heaps.length)]!.free(ptr);
  for (const heap of heaps) heap.check();
  assert.equal(heaps[0]!.stats().liveBlocks, 0);
}

/**
 * larson (as bench/shared-heap-worker.ts runs it): each instance replaces blocks of 16..256 bytes
 * in its own slot array, and each round the arrays pass to the other instance, so most frees are
 * of blocks the other one allocated. Its slabs empty and head their classes, made beyond the
 * other instance's views.
 */
function larson(heaps: Heap[], rounds: number, perRound: number, seed: number): void {
  const slots = 2000;
  const random = rng(seed);
  const sizes = Array.from({ length: 4096 }, () => 16 + Math.floor(random() * 241));
  const array = new Int32Array(heaps.length * slots);
  for (let r = 0; r < rounds; r++) {
    const done = heaps.map(() => 0);
    for (let left = heaps.length * perRound; left > 0; left--) {
      let id = Math.floor(random() * heaps.length);
      while (done[id] === perRound) id = (id + 1) % heaps.length;
      const i = done[id]!++;
      const k = ((id + r) % heaps.length) * slots + ((i * 7919) % slots);
      if (array[k] !== 0) heaps[id]!.free(array[k]!);
      array[k] = heaps[id]!.malloc(sizes[i & 4095]!);
      assert.notEqual(array[k], 0);
    }
    heaps[r % heaps.length]!.check();
  }
  const liveBytes = [...array].reduce((sum, p) => sum + (p === 0 ? 0 : heaps[0]!.requestedSize(p)), 0);
  assert.equal(heaps[1]!.stats().liveBytes, liveBytes);
  for (const p of array) if (p !== 0) heaps[0]!.free(p);
  heaps[1]!.check();
  assert.equal(heaps[1]!.stats().liveBlocks, 0);
}

/** A heap on a store of `kind` and a second instance attached to it (no guard: the calls take turns). */
function twoInstances(kind: "shared" | "wasm" | "resizable", maxBytes: number): Heap[] {
  // A shared WASM memory: growth leaves the other instance's views short, as on a SharedArrayBuffer.
  const store = kind === "wasm" ? ByteStore.wrap(new WebAssembly.Memory({ initial: 1, maximum: maxBytes / 65536, shared: true })) : ByteStore.create({ kind, maxBytes });
  const first = new Heap({ store, concurrencyGuard: false });
  backing = store.handle;
  return [first, Heap.attach(store.handle, { concurrencyGuard: false })];
}

describe("Heap: two instances on one store, calls interleaved", () => {
  for (const kind of ["shared", "wasm", "resizable"] as const) {
    for (const seed of [1, 2]) {
      it(`${kind}, seed ${seed}: random work by either instance keeps every block, check() passes`, () => {
        interleave(twoInstances(kind, 256 << 20), 20_000, seed, 0.01);
      });
    }

    it(`${kind}: small blocks only, slabs made by one instance, taken and freed by the other`, () => {
      interleave(twoInstances(kind, 64 << 20), 30_000, 9, 0);
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`larson, seed ${seed}: an empty slab the other instance made beyond the views is re-formed safely`, () => {
      larson(twoInstances("shared", 64 << 20), 6, 20_000, seed);
    });
  }
});

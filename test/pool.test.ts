import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError } from "../src/errors.js";
import { Pool } from "../src/allocators/pool.js";
import { POOL_CONTROL_BYTES } from "../src/allocators/pool-layout.js";
import { ReferenceModel, rng } from "./support/model.js";
import { STORE_KINDS } from "./support/kinds.js";

describe("Pool", () => {
  it("defaults to 64-byte objects and hands out 8-aligned, distinct, non-zero offsets", () => {
    const pool = new Pool();
    assert.equal(pool.objectBytes, 64);
    const a = pool.malloc(64);
    const b = pool.malloc(1);
    assert.ok(a > 0 && b > 0 && a !== b);
    assert.equal(a % 8, 0);
    assert.equal(b - a, pool.stride, "consecutive objects of a fresh slab are one stride apart");
    assert.equal(pool.stride, 72, "an 8-byte slot header, then 64 bytes");
    assert.equal(pool.usableSize(b), 64);
    pool.check();
  });

  // Two seeds a kind, each kind its own: ten random sequences in all.
  for (const [k, kind] of STORE_KINDS.entries()) {
    for (const seed of [1 + 2 * k, 2 + 2 * k]) {
      it(`random malloc/free/realloc against the model on ${kind} (seed ${seed})`, () => {
        const pool = new Pool({ objectBytes: 40, slabBytes: 512, kind, initialBytes: kind === "array-buffer" ? 8192 : 4096 });
        const model = new ReferenceModel(pool);
        const random = rng(seed);
        let outOfMemory = 0;
        for (let step = 0; step < 2500; step++) {
          const r = random();
          // Phases: grow to many slabs, then drain so slabs empty and are released.
          const freeBias = Math.floor(step / 500) % 2 === 0 ? 0.35 : 0.7;
          if (r < freeBias && model.live.size > 0) model.free(model.pick(random())!);
          else if (r < freeBias + 0.1 && model.live.size > 0) model.realloc(model.pick(random())!, Math.floor(random() * 41));
          else if (model.malloc(Math.floor(random() * 41)) === 0) outOfMemory++;
          model.checkLaws();
        }
        if (kind !== "array-buffer") assert.equal(outOfMemory, 0);
        for (const ptr of [...model.live.keys()]) model.free(ptr);
        model.verifyAll();
        const stats = pool.stats();
        assert.equal(stats.liveBytes, 0);
        assert.equal(stats.mallocCount, stats.freeCount);
        assert.equal(stats.freeBytes, stats.extentBytes - POOL_CONTROL_BYTES - (stats.extentBytes - POOL_CONTROL_BYTES) / 512 * (512 - pool.objectsPerSlab * pool.stride));
      });
    }
  }

  it("releases an emptied top slab: extent drops and a resizable store shrinks", () => {
    const pool = new Pool({ objectBytes: 48, slabBytes: 4096, kind: "resizable", initialBytes: 4096 });
    const perSlab = pool.objectsPerSlab;
    const ptrs: number[] = [];
    for (let i = 0; i < perSlab * 3; i++) ptrs.push(pool.malloc(48));
    assert.equal(pool.stats().extentBytes, POOL_CONTROL_BYTES + 3 * 4096);
    const committedBefore = pool.store.committedBytes;
    // Free the whole first slab: it cannot be released (not at the top) and goes to the empty list.
    for (const p of ptrs.slice(0, perSlab)) pool.free(p);
    pool.check();
    assert.equal(pool.stats().extentBytes, POOL_CONTROL_BYTES + 3 * 4096);
    // Slab 2 (the head, where malloc takes from) empties but is kept so alloc/free pairs do not
    // thrash; slab 1 empties below it and goes to the empty list.
    for (const p of ptrs.slice(perSlab * 2)) pool.free(p);
    for (const p of ptrs.slice(perSlab, perSlab * 2)) pool.free(p);
    pool.check();
    assert.equal(pool.stats().liveBlocks, 0);
    assert.equal(pool.stats().extentBytes, POOL_CONTROL_BYTES + 3 * 4096);
    // Allocating again fills the head (slab 2), then the empty slabs, before the store grows.
    const again: number[] = [];
    for (let i = 0; i < perSlab * 3; i++) again.push(pool.malloc(48));
    assert.equal(pool.stats().extentBytes, POOL_CONTROL_BYTES + 3 * 4096, "no slab added while empty slabs exist");
    assert.equal(pool.store.committedBytes, committedBefore);
    pool.check();
    // Slab 2 is now full and not the head: emptying it releases it from the top.
    const topSlab = POOL_CONTROL_BYTES + 2 * 4096;
    const inTop = again.filter((p) => p >= topSlab);
    assert.equal(inTop.length, perSlab);
    for (const p of inTop) pool.free(p);
    pool.check();
    const stats = pool.stats();
    assert.equal(stats.extentBytes, POOL_CONTROL_BYTES + 2 * 4096, "top slab released");
    assert.ok(pool.store.committedBytes < committedBefore, "resizable store shrank");
    assert.equal(stats.peakExtentBytes, POOL_CONTROL_BYTES + 3 * 4096);
    pool.check();
  });

  it("reuses an empty slab from the empty list before growing the store", () => {
    const pool = new Pool({ objectBytes: 64, slabBytes: 1024, kind: "resizable" });
    const n = pool.objectsPerSlab;
    const slab0 = Array.from({ length: n }, () => pool.malloc(64));
    const slab1 = Array.from({ length: n }, () => pool.malloc(64));
    const slab2 = Array.from({ length: n }, () => pool.malloc(64));
    for (const p of slab1) pool.free(p); // middle slab empties: onto the empty list
    const extent = pool.stats().extentBytes;
    const reused = pool.malloc(64); // head (slab 2) is full: the empty slab 1 is taken
    assert.ok(reused >= slab1[0]! && reused < slab2[0]!, `reused ${reused} lies in slab 1`);
    assert.equal(pool.stats().extentBytes, extent);
    void slab0;
    pool.check();
  });

  it("rejects bad sizes and alignments with typed errors and stays consistent", () => {
    const pool = new Pool({ objectBytes: 32 });
    const p = pool.malloc(16);
    const before = pool.stats();
    for (const size of [NaN, -1, 1.5, 33, 2 ** 40, Infinity]) {
      assert.throws(() => pool.malloc(size), InvalidSizeError, `malloc(${size})`);
      assert.throws(() => pool.realloc(p, size), InvalidSizeError, `realloc(p, ${size})`);
    }
    for (const align of [3, 16, 0, NaN]) assert.throws(() => pool.malloc(8, align), InvalidAlignmentError, `align ${align}`);
    assert.deepEqual(pool.stats(), before);
    pool.check();
  });

  it("detects invalid and double frees with typed errors and stays consistent", () => {
    const pool = new Pool({ objectBytes: 32 });
    const a = pool.malloc(32);
    const b = pool.malloc(32);
    pool.free(a);
    assert.throws(() => pool.free(a), DoubleFreeError);
    assert.throws(() => pool.free(b + 8), InvalidFreeError, "interior offset");
    assert.throws(() => pool.free(b + 32 * 5), InvalidFreeError, "never allocated slot");
    assert.throws(() => pool.free(0), InvalidFreeError);
    assert.throws(() => pool.free(-8), InvalidFreeError);
    assert.throws(() => pool.free(b + 0.5), InvalidFreeError);
    assert.throws(() => pool.free(NaN), InvalidFreeError);
    assert.throws(() => pool.free(2 ** 32 + b), InvalidFreeError, "aliases b modulo 2^32");
    assert.throws(() => pool.free(10_000_000), InvalidFreeError, "beyond the slabs");
    assert.throws(() => pool.usableSize(a), /freed/);
    pool.check();
    assert.equal(pool.stats().liveBlocks, 1);
    pool.free(b);
    pool.check();
  });

  it("a slab that empties starts afresh: it hands out objects by bump, in address order", () => {
    const pool = new Pool({ objectBytes: 32, slabBytes: 1024 });
    const n = pool.objectsPerSlab;
    const first = Array.from({ length: n }, () => pool.malloc(32));
    const random = rng(7);
    for (const p of [...first].sort(() => random() - 0.5)) pool.free(p);
    pool.check();
    const again = Array.from({ length: n }, () => pool.malloc(32));
    assert.deepEqual(again, first, "bump order, not the order of the frees");
    pool.check();
  });

  it("detects a double free and a use of an object freed before its slab emptied", () => {
    const pool = new Pool({ objectBytes: 32, slabBytes: 1024 });
    const a = pool.malloc(32);
    const b = pool.malloc(32);
    pool.free(a);
    pool.free(b); // the slab empties and starts afresh: a and b lie above its bump now
    pool.check();
    assert.throws(() => pool.free(a), DoubleFreeError);
    assert.throws(() => pool.free(b), DoubleFreeError);
    assert.throws(() => pool.usableSize(b), /freed/);
    assert.throws(() => pool.realloc(a, 8), /freed/);
    assert.throws(() => pool.free(b + pool.stride), /never allocated/);
    assert.throws(() => pool.free(b + 8), /not the start/);
    assert.equal(pool.malloc(32), a, "the slab's first object again");
    assert.throws(() => pool.free(b), DoubleFreeError, "still free: above the bump, below the high mark");
    pool.check();
    const s = pool.stats();
    assert.equal(s.mallocCount, 3);
    assert.equal(s.freeCount, 2);
    assert.equal(s.liveBlocks, 1);
  });

  it("free's division-free slot check accepts exactly the carved objects, for many strides", () => {
    for (const objectBytes of [1, 8, 9, 24, 40, 48, 56, 100, 248, 1000]) {
      const pool = new Pool({ objectBytes, slabBytes: 4096 });
      const live = new Set([pool.malloc(1), pool.malloc(1), pool.malloc(1)]);
      const extent = pool.stats().extentBytes;
      for (let ptr = -8; ptr < extent + 64; ptr++) {
        if (live.has(ptr)) continue;
        assert.throws(() => pool.free(ptr), InvalidFreeError, `objectBytes ${objectBytes}, offset ${ptr}`);
      }
      for (const ptr of live) pool.free(ptr);
      pool.check();
      assert.equal(pool.stats().freeCount, 3);
    }
  });

  it("exposes objects as typed-array indices, not views", () => {
    const pool = new Pool({ objectBytes: 24 });
    const p = pool.malloc(24);
    pool.store.f64[pool.f64Index(p)] = 1.5;
    pool.store.u32[pool.u32Index(p) + 2] = 0xdeadbeef;
    assert.equal(new DataView(pool.store.buffer).getFloat64(p, true), 1.5);
    assert.equal(new DataView(pool.store.buffer).getUint32(p + 8, true), 0xdeadbeef);
  });

  it("reports exact stats", () => {
    const pool = new Pool({ objectBytes: 64, slabBytes: 1024 });
    const a = pool.malloc(10);
    pool.malloc(64);
    pool.realloc(a, 20);
    const s = pool.stats();
    assert.equal(s.liveBlocks, 2);
    assert.equal(s.liveBytes, 84);
    assert.equal(s.peakLiveBytes, 84);
    assert.equal(s.internalFragmentationBytes, 128 - 84);
    assert.equal(s.mallocCount, 2);
    assert.equal(s.freeCount, 0);
    assert.equal(s.extentBytes, POOL_CONTROL_BYTES + 1024);
    assert.equal(s.freeBytes, (pool.objectsPerSlab - 2) * pool.stride);
    assert.equal(s.largestFreeBytes, pool.stride);
    let walked = 0;
    for (const block of pool.walk()) walked += block.bytes;
    assert.equal(walked, s.extentBytes, "walk covers [0, extent) exactly");
    pool.free(a);
    assert.equal(pool.stats().peakLiveBytes, 84);
    assert.equal(pool.stats().liveBytes, 64);
  });

  it("reset frees everything and the pool is usable again", () => {
    const pool = new Pool({ objectBytes: 16, slabBytes: 256, kind: "resizable" });
    for (let i = 0; i < 100; i++) pool.malloc(16);
    pool.reset();
    pool.check();
    assert.equal(pool.stats().liveBlocks, 0);
    assert.equal(pool.stats().extentBytes, POOL_CONTROL_BYTES);
    assert.equal(pool.stats().freeCount, 100);
    assert.ok(pool.malloc(16) > 0);
    pool.check();
  });

  it("check() catches corruption", () => {
    const pool = new Pool({ objectBytes: 16 });
    const a = pool.malloc(16);
    pool.malloc(16);
    pool.free(a);
    pool.store.u32[(a - 4) >>> 2] = a; // the free list now loops on itself
    assert.throws(() => pool.check(), HeapCorruptionError);
    const other = new Pool({ objectBytes: 16 });
    other.malloc(8);
    other.store.u32[0] = 0; // magic
    assert.throws(() => other.check(), HeapCorruptionError);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Buddy } from "../src/allocators/buddy.js";
import { DoubleFreeError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError, InvalidStoreError } from "../src/errors.js";
import { ByteStore, type StoreKind } from "../src/memory/store.js";
import { loadSharedTrace, replayChecked } from "./support/replay.js";
import { stress } from "./support/model-stress.js";

const KINDS: StoreKind[] = ["array-buffer", "resizable", "shared", "wasm"];

/** A fresh 64 KiB arena: control [0,256), table [8192,16384), free buddies of orders 8-12, 14, 15. */
function fresh(kind: StoreKind = "resizable"): Buddy {
  return new Buddy({ kind, initialBytes: 65536, maxBytes: kind === "array-buffer" ? 65536 : 1 << 24 });
}

describe("Buddy", () => {
  it("works with no options", () => {
    const buddy = new Buddy();
    const p = buddy.malloc(100);
    assert.ok(p > 0);
    buddy.free(p);
    buddy.check();
    assert.equal(buddy.name, "buddy");
  });

  it("formats an arena: control block, order table, then one free buddy per order", () => {
    const buddy = fresh();
    assert.deepEqual([...buddy.walk()].map((b) => [b.start, b.bytes, b.kind]), [
      [0, 256, "meta"], [256, 256, "free"], [512, 512, "free"], [1024, 1024, "free"], [2048, 2048, "free"],
      [4096, 4096, "free"], [8192, 8192, "meta"], [16384, 16384, "free"], [32768, 32768, "free"],
    ]);
    const s = buddy.stats();
    assert.equal(s.extentBytes, 65536);
    assert.equal(s.freeBytes, 65536 - 256 - 8192);
    assert.equal(s.largestFreeBytes, 32768);
    buddy.check();
  });

  it("splits the smallest larger block, lower half first, and merges buddies back", () => {
    const buddy = fresh();
    const a = buddy.malloc(16); // splits 256 (order 8) down to order 4
    const b = buddy.malloc(1); //  the buddy of a
    const c = buddy.malloc(17); // order 5: the block freed at 288
    assert.deepEqual([a, b, c], [256, 272, 288]);
    assert.deepEqual([buddy.usableSize(a), buddy.usableSize(c)], [16, 32]);
    assert.deepEqual(blockAt(buddy, 320), { start: 320, bytes: 64, kind: "free" });
    assert.deepEqual(blockAt(buddy, 384), { start: 384, bytes: 128, kind: "free" });
    buddy.free(b); // its buddy a is used: no merge
    assert.deepEqual(blockAt(buddy, 272), { start: 272, bytes: 16, kind: "free" });
    buddy.free(a); // a + b merge into order 5 at 256
    assert.deepEqual(blockAt(buddy, 256), { start: 256, bytes: 32, kind: "free" });
    buddy.free(c); // 256 + 288 -> 64, + 320 -> 128, + 384 -> 256; the buddy of that is the control block
    assert.deepEqual(blockAt(buddy, 256), { start: 256, bytes: 256, kind: "free" });
    buddy.check();
    assert.deepEqual([...buddy.walk()].length, 9);
  });

  it("aligns by order and counts rounding as internal fragmentation", () => {
    const buddy = fresh();
    const p = buddy.malloc(10, 4096);
    assert.equal(p, 4096);
    assert.equal(buddy.usableSize(p), 4096);
    const q = buddy.malloc(100);
    assert.equal(buddy.usableSize(q), 128);
    const s = buddy.stats();
    assert.equal(s.liveBytes, 110);
    assert.equal(s.internalFragmentationBytes, 4096 - 10 + 128 - 100);
    assert.equal(s.mallocCount, 2);
    buddy.check();
  });

  it("reallocs in place while the order fits, giving upper halves back when shrinking", () => {
    const buddy = fresh();
    const p = buddy.malloc(1000); // order 10 at 1024
    assert.equal(p, 1024);
    assert.equal(buddy.realloc(p, 1024), p);
    assert.equal(buddy.realloc(p, 100), p); // order 7: frees 1024+512 (9), +256 (8), +128 (7)
    assert.equal(buddy.usableSize(p), 128);
    assert.deepEqual(blockAt(buddy, 1536), { start: 1536, bytes: 512, kind: "free" });
    assert.deepEqual(blockAt(buddy, 1152), { start: 1152, bytes: 128, kind: "free" });
    assert.equal(buddy.stats().liveBytes, 100);
    buddy.check();
    const moved = buddy.realloc(p, 5000); // order 13: the arena has none free, so it splits 16384
    assert.equal(moved, 16384);
    assert.deepEqual(blockAt(buddy, 1024), { start: 1024, bytes: 1024, kind: "free" });
    buddy.check();
  });

  it("grows by doubling: the table moves to the new upper half and the old one is freed", () => {
    const buddy = fresh();
    assert.equal(buddy.malloc(32768), 32768);
    assert.equal(buddy.store.committedBytes, 65536);
    const p = buddy.malloc(32768);
    assert.equal(p, 98304);
    assert.equal(buddy.store.committedBytes, 131072);
    assert.deepEqual(blockAt(buddy, 65536), { start: 65536, bytes: 16384, kind: "meta" });
    assert.deepEqual(blockAt(buddy, 8192), { start: 8192, bytes: 8192, kind: "free" });
    assert.equal(buddy.stats().extentBytes, 131072);
    buddy.check();
  });

  for (const kind of KINDS) {
    it(`grows or runs out within the reservation on a ${kind} store`, () => {
      const buddy = new Buddy({ kind, initialBytes: 65536, maxBytes: kind === "array-buffer" ? 65536 : 1 << 18 });
      const got: number[] = [];
      for (let p = buddy.malloc(16384); p !== 0; p = buddy.malloc(16384)) got.push(p);
      // 64 KiB holds 3 blocks of 16 KiB beside its metadata; 256 KiB holds 13 (the table is 32 KiB).
      assert.equal(got.length, kind === "array-buffer" ? 3 : 13);
      assert.ok(buddy.store.committedBytes <= buddy.store.reservedBytes);
      buddy.check();
      for (const p of got) buddy.free(p);
      buddy.check();
      assert.equal(buddy.stats().liveBlocks, 0);
    });
  }

  it("rejects bad sizes, alignments and pointers with typed errors and stays consistent", () => {
    const buddy = fresh();
    const p = buddy.malloc(48);
    for (const size of [NaN, -1, 1.5, 2 ** 40, Infinity]) assert.throws(() => buddy.malloc(size), InvalidSizeError);
    assert.throws(() => fresh("array-buffer").malloc(40000), InvalidSizeError); // a fixed 64 KiB store: at most 32 KiB
    for (const align of [0, 3, 1.5, NaN, 8192]) assert.throws(() => buddy.malloc(8, align), InvalidAlignmentError);
    for (const bad of [0, -16, NaN, 1.5, p + 16, p + 1, 65536 * 4, 8192, 12345 * 16]) {
      assert.throws(() => buddy.free(bad), InvalidFreeError, `free(${bad})`);
      assert.throws(() => buddy.usableSize(bad), InvalidFreeError);
    }
    assert.throws(() => buddy.realloc(p, NaN), InvalidSizeError);
    assert.throws(() => buddy.realloc(p + 16, 8), InvalidFreeError);
    const q = buddy.malloc(48); // the buddy of p, so p stays a free block of its own when freed
    buddy.free(p);
    assert.throws(() => buddy.free(p), DoubleFreeError);
    assert.throws(() => buddy.realloc(p, 8), InvalidFreeError);
    buddy.free(q);
    assert.throws(() => buddy.free(q), InvalidFreeError); // merged with p: no longer a block start
    buddy.check();
    assert.equal(buddy.stats().liveBlocks, 0);
  });

  it("uses the largest power of two of a fixed store of odd length", () => {
    const buddy = new Buddy({ kind: "array-buffer", initialBytes: 100_001 });
    assert.equal(buddy.stats().extentBytes, 65536);
    assert.equal(buddy.malloc(32768), 32768);
    assert.equal(buddy.malloc(32768), 0);
    buddy.check();
  });

  it("refuses a store too small for an arena", () => {
    assert.throws(() => new Buddy({ kind: "array-buffer", initialBytes: 1000 }), InvalidStoreError);
  });

  it("formats an existing store", () => {
    const store = ByteStore.create({ kind: "wasm", initialBytes: 65536, maxBytes: 1 << 20 });
    const buddy = new Buddy({ store });
    assert.equal(buddy.store, store);
    stress(buddy, 7, { steps: 500 });
  });

  // Two seeds a kind, each kind its own.
  for (const [k, kind] of KINDS.entries()) {
    it(`survives random malloc/free/realloc against the model on a ${kind} store`, () => {
      for (const seed of [1 + 2 * k, 2 + 2 * k]) {
        const buddy = new Buddy({ kind, initialBytes: kind === "array-buffer" ? 1 << 22 : 65536, maxBytes: kind === "array-buffer" ? 1 << 22 : 1 << 26 });
        stress(buddy, seed);
        const s = buddy.stats();
        assert.equal(s.liveBytes, 0);
        assert.equal(s.internalFragmentationBytes, 0);
        assert.equal(s.mallocCount - s.freeCount, 0);
      }
    });
  }

  it("replays the git-log-p trace with every block's contents verified", async () => {
    const trace = await loadSharedTrace("git-log-p");
    const buddy = new Buddy({ kind: "resizable", maxBytes: 1 << 28 });
    replayChecked(buddy, trace);
    const s = buddy.stats();
    assert.ok(s.internalFragmentationBytes >= 0 && s.internalFragmentationBytes < s.liveBytes + 16 * s.liveBlocks);
  });
});

function blockAt(buddy: Buddy, offset: number) {
  for (const b of buddy.walk(offset, offset + 1)) if (b.start === offset) return { start: b.start, bytes: b.bytes, kind: b.kind };
  return undefined;
}

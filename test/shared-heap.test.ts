/**
 * SharedHeap on one thread: random work against a model with check() along the way, the typed
 * errors, cross-thread frees between two attachments in one thread, detach and adoption, and
 * recovery of a thread that ended without detaching. The Worker tests are in shared-heap-workers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidSizeError, InvalidStoreError } from "../src/errors.js";
import { Heap } from "../src/heap/heap.js";
import { ByteStore } from "../src/memory/store.js";
import { CLASS_CAPACITY, CLASS_FIRST_SLOT, CLASS_SLOT_BYTES, PageWord, SharedLayout } from "../src/shared/layout.js";
import { SharedHeap } from "../src/shared/shared-heap.js";
import { rng } from "../src/util/random.js";
import { expectError } from "./support/expect-error.js";

interface Block { size: number; seed: number }

/** Writes a block's first and last words from its seed (cheap, and catches overlap at either end). */
function stamp(heap: SharedHeap, ptr: number, b: Block): void {
  const u8 = heap.u8;
  for (let k = 0; k < Math.min(b.size, 8); k++) u8[ptr + k] = (b.seed + k) & 255;
  for (let k = Math.max(8, b.size - 8); k < b.size; k++) u8[ptr + k] = (b.seed * 7 + k) & 255;
}

function verify(heap: SharedHeap, ptr: number, b: Block): void {
  const u8 = heap.u8;
  for (let k = 0; k < Math.min(b.size, 8); k++) assert.equal(u8[ptr + k], (b.seed + k) & 255, `block ${ptr} lost byte ${k}`);
  for (let k = Math.max(8, b.size - 8); k < b.size; k++) assert.equal(u8[ptr + k], (b.seed * 7 + k) & 255, `block ${ptr} lost byte ${k}`);
}

/** Random malloc/free/realloc by several attachments of one heap; any of them frees any block. */
function randomWork(heaps: SharedHeap[], ops: number, seed: number, live = new Map<number, Block>()): Map<number, Block> {
  const random = rng(seed);
  let nextSeed = 1;
  for (let i = 0; i < ops; i++) {
    const heap = heaps[Math.floor(random() * heaps.length)]!;
    const r = random();
    const size = r < 0.05 ? 4097 + Math.floor(random() * 20000) : Math.floor(random() * (random() < 0.7 ? 257 : 4097));
    if (live.size > 0 && r < 0.45) {
      const ptrs = [...live.keys()];
      const ptr = ptrs[Math.floor(random() * ptrs.length)]!;
      verify(heap, ptr, live.get(ptr)!);
      live.delete(ptr);
      heap.free(ptr);
    } else if (live.size > 0 && r < 0.55) {
      const ptrs = [...live.keys()];
      const ptr = ptrs[Math.floor(random() * ptrs.length)]!;
      const old = live.get(ptr)!;
      verify(heap, ptr, old);
      const moved = heap.realloc(ptr, size);
      assert.notEqual(moved, 0);
      live.delete(ptr);
      const b = { size, seed: nextSeed++ };
      assert.ok(heap.usableSize(moved) >= size);
      stamp(heap, moved, b);
      live.set(moved, b);
    } else {
      const ptr = heap.malloc(size);
      assert.notEqual(ptr, 0, `malloc(${size}) failed`);
      assert.equal(ptr % 16, 0);
      assert.ok(!live.has(ptr), `malloc handed out live ${ptr} again`);
      const b = { size, seed: nextSeed++ };
      stamp(heap, ptr, b);
      live.set(ptr, b);
    }
    if (i % 500 === 499) {
      heaps[0]!.check();
      const stats = heaps[0]!.stats();
      assert.equal(stats.liveBlocks, live.size);
      assert.equal(stats.liveBytes, [...live.values()].reduce((sum, b) => sum + b.size, 0));
      assert.ok(stats.peakLiveBytes >= stats.liveBytes);
      assert.equal(stats.mallocCount - stats.freeCount, live.size);
    }
  }
  return live;
}

describe("SharedHeap on one thread", () => {
  it("keeps every block through random work, with check() and exact stats", () => {
    const heap = new SharedHeap({ maxBytes: 64 << 20 });
    const live = randomWork([heap], 6000, 1);
    for (const [ptr, b] of live) { verify(heap, ptr, b); heap.free(ptr); }
    heap.check();
    assert.equal(heap.stats().liveBlocks, 0);
    assert.equal(heap.stats().liveBytes, 0);
  });

  it("frees across attachments: remote frees are collected, pages shared out", () => {
    const a = new SharedHeap({ maxBytes: 64 << 20 });
    const b = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    const c = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    assert.deepEqual([a.threadId, b.threadId, c.threadId], [0, 1, 2]);
    const live = randomWork([a, b, c], 6000, 2);
    for (const [ptr] of live) c.free(ptr);
    a.check();
    assert.equal(a.stats().liveBlocks, 0);
  });

  it("a remote free that raced the owner's free of the same block is dropped at collection", () => {
    const a = new SharedHeap({ maxBytes: 16 << 20 });
    const b = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    const p = a.malloc(48);
    // b's free made the slot PENDING just before a's free of it wrote 0 (both read it live);
    // a has since taken the slot again. b now sets the slot's remote bit, as markRemoteFree does.
    a.free(p);
    assert.equal(a.malloc(48), p);
    const i32 = new Int32Array(a.store.buffer);
    const page = p - (p & (SharedLayout.PAGE_BYTES - 1));
    const c = i32[(page >>> 2) + PageWord.CLASS]!;
    const j = (p - page - CLASS_FIRST_SLOT[c]!) / CLASS_SLOT_BYTES[c]!;
    const bitWord = (page >>> 2) + PageWord.REMOTE_BITS + (j >>> 5);
    i32[bitWord]! |= 1 << (j & 31);
    a.check();
    // a fills the page, collects (the bit is dropped: the slot is live, not PENDING), and goes on.
    const live = new Set([p]);
    for (let k = 0; k < 2 * CLASS_CAPACITY[c]!; k++) {
      const q = a.malloc(48);
      assert.ok(!live.has(q), `slot ${q} handed out twice`);
      live.add(q);
    }
    assert.equal(i32[bitWord]! & (1 << (j & 31)), 0, "the page was collected");
    a.check();
    for (const q of live) b.free(q);
    a.free(a.malloc(48)); // collects b's frees
    a.check();
    assert.equal(a.stats().liveBlocks, 0);
  });

  it("detach leaves live pages for adoption; nothing is lost", () => {
    const a = new SharedHeap({ maxBytes: 64 << 20 });
    const b = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    const live = randomWork([b], 2000, 3);
    b.detach();
    expectError(() => b.malloc(10), InvalidStoreError);
    a.check();
    assert.equal(a.stats().liveBlocks, live.size);
    randomWork([a], 2000, 4, live); // a adopts b's abandoned pages as it needs them
    for (const [ptr] of live) a.free(ptr);
    a.check();
    assert.equal(a.stats().liveBlocks, 0);
    const again = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    assert.equal(again.threadId, 1, "a detached thread's slot is reused");
  });

  it("recovers a thread that ended without detaching, even mid-operation", () => {
    const a = new SharedHeap({ maxBytes: 64 << 20 });
    const dead = SharedHeap.attach(a.store.handle as SharedArrayBuffer);
    const live = randomWork([dead], 1500, 5);
    // Stop "dead" in the middle of a malloc: a slot taken off its page's list, not yet marked live.
    const ptr = dead.malloc(48);
    live.set(ptr, { size: 48, seed: 0 });
    const i32 = new Int32Array(a.store.buffer);
    const w = (ptr - (ptr & (SharedLayout.PAGE_BYTES - 1))) >>> 2;
    const taken = i32[w + PageWord.LOCAL_FREE]!;
    if (taken !== 0) i32[w + PageWord.LOCAL_FREE] = i32[taken >>> 2]!;
    else i32[w + PageWord.BUMP]! += 1;
    i32[w + PageWord.USED]! += 1;
    expectError(() => a.check(), HeapCorruptionError);
    a.recover(dead.threadId);
    a.check();
    for (const [p] of live) a.free(p);
    a.check();
    assert.equal(a.stats().liveBlocks, 0);
    expectError(() => a.recover(a.threadId), InvalidStoreError);
  });

  it("refuses bad input with typed errors and changes nothing", () => {
    const heap = new SharedHeap({ maxBytes: 16 << 20 });
    const p = heap.malloc(100);
    const q = heap.malloc(10000);
    const before = heap.stats();
    expectError(() => heap.malloc(Number.NaN), InvalidSizeError);
    expectError(() => heap.malloc(-1), InvalidSizeError);
    expectError(() => heap.malloc(1.5), InvalidSizeError);
    expectError(() => heap.malloc(10n as unknown as number), InvalidSizeError);
    expectError(() => heap.free(16n as unknown as number), InvalidFreeError);
    expectError(() => heap.free(Symbol("p") as unknown as number), InvalidFreeError);
    expectError(() => heap.free(p + 16), InvalidFreeError);
    expectError(() => heap.free(p + 3), InvalidFreeError);
    expectError(() => heap.free(q + 8), InvalidFreeError);
    heap.free(p);
    expectError(() => heap.free(p), DoubleFreeError);
    expectError(() => heap.realloc(p, 10), DoubleFreeError);
    expectError(() => heap.usableSize(p), DoubleFreeError);
    heap.free(q);
    expectError(() => heap.free(q), DoubleFreeError);
    heap.check();
    assert.equal(heap.stats().liveBlocks, before.liveBlocks - 2);
  });

  it("runs on a shared WebAssembly.Memory, growing it from two attachments", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 1024, shared: true });
    const a = new SharedHeap({ store: ByteStore.wrap(memory) });
    const b = SharedHeap.attach(memory);
    const live = randomWork([a, b], 3000, 7);
    assert.ok(memory.buffer.byteLength > 2 * 65536, "the memory grew");
    for (const [ptr] of live) b.free(ptr);
    a.check();
    assert.equal(a.stats().liveBlocks, 0);
  });

  it("attach refuses a buffer that holds no shared heap", () => {
    const plain = new Heap({ kind: "shared" });
    expectError(() => SharedHeap.attach(plain.store.handle as SharedArrayBuffer), InvalidStoreError);
    expectError(() => SharedHeap.attach(new SharedArrayBuffer(65536)), InvalidStoreError);
    plain.check();
  });

  it("needs shared memory", () => {
    expectError(() => new SharedHeap({ store: ByteStore.create({ kind: "resizable" }) }), InvalidStoreError);
  });

  it("walks pages as slots, tiling the store", () => {
    const heap = new SharedHeap({ maxBytes: 16 << 20 });
    const live = randomWork([heap], 1000, 6);
    let end = 0;
    let used = 0;
    for (const span of heap.walk()) {
      assert.equal(span.start, end, "spans tile");
      end = span.start + span.bytes;
      if (span.kind === "used") {
        used++;
        assert.ok(live.has(span.ptr!), `walk shows ${span.ptr} used`);
        assert.equal(span.requestedBytes, live.get(span.ptr!)!.size);
      }
    }
    assert.equal(used, live.size);
    assert.ok(end >= heap.stats().extentBytes);
  });
});

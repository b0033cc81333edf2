import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DoubleFreeError, Heap, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError,
  InvalidStoreError, OutOfMemoryError, type StoreKind,
} from "../src/index.js";
import { blockSizeFor, Gauge, Layout, listIndexOf, quickListOf, searchSizeFor, SLAB_CLASSES, smallClassOf, Word } from "../src/heap/layout.js";
import { ReferenceModel, rng } from "./support/model.js";

const KINDS: StoreKind[] = ["array-buffer", "resizable", "shared", "wasm"];

describe("size-class math", () => {
  it("maps small requests to 8-byte slab classes", () => {
    const table: [number, number][] = [[0, 0], [1, 0], [8, 0], [9, 1], [16, 1], [100, 12], [255, 31], [256, 31]];
    for (const [size, cls] of table) assert.equal(smallClassOf(size), cls, `class of ${size}`);
    for (const c of SLAB_CLASSES) {
      assert.ok(c.firstSlot + c.capacity * c.slotBytes <= Layout.SLAB_PAGE_BYTES - 8, `class ${c.slotBytes} fits its page`);
      assert.ok(c.firstSlot + (c.capacity + 1) * c.slotBytes > Layout.SLAB_PAGE_BYTES - 8 - c.slotBytes, `class ${c.slotBytes} is not wasteful`);
    }
  });

  it("sizes TLSF blocks with an 8-byte header, 24 at least, whole pages when large", () => {
    const table: [number, number][] = [[0, 24], [16, 24], [17, 32], [257, 272], [1000, 1008], [4096, 4104],
      [Layout.LARGE_MIN_BYTES - 9, Layout.LARGE_MIN_BYTES], [Layout.LARGE_MIN_BYTES, Layout.LARGE_MIN_BYTES + 4096], [Layout.LARGE_MIN_BYTES + 5000, Layout.LARGE_MIN_BYTES + 8192]];
    for (const [size, block] of table) assert.equal(blockSizeFor(size), block, `block for ${size}`);
  });

  it("maps block sizes to two-level lists (mapping_insert) and rounds searches up (mapping_search)", () => {
    const table: [number, number, number][] = [
      // size, fl, sl
      [24, 0, 3], [248, 0, 31], [256, 1, 0], [264, 1, 1], [504, 1, 31], [512, 2, 0], [4096, 5, 0], [4224, 5, 1], [2 ** 31, 24, 0],
    ];
    for (const [size, fl, sl] of table) assert.equal(listIndexOf(size), fl * Layout.SL_COUNT + sl, `list of ${size}`);
    assert.equal(searchSizeFor(200), 200);
    assert.equal(searchSizeFor(264), 271);
    // Every block in the list a search lands on is large enough.
    for (let size = 256; size < 1 << 20; size = Math.ceil(size * 1.07 / 8) * 8) {
      const list = listIndexOf(searchSizeFor(size));
      assert.ok(list > listIndexOf(size) || listIndexOf(size - 8) < list || size === 256, `search for ${size} lands above smaller blocks`);
    }
  });
});

describe("Heap: exact behaviour", () => {
  it("hands out 8-aligned slots from one-page slabs, adjacent and in order", () => {
    const heap = new Heap();
    const a = heap.malloc(32);
    const b = heap.malloc(32);
    const c = heap.malloc(24);
    assert.equal(b - a, 32, "consecutive slots of one class");
    assert.equal((a - 8) % 1, 0);
    assert.equal(Math.floor(a / Layout.SLAB_PAGE_BYTES), Math.floor(b / Layout.SLAB_PAGE_BYTES));
    assert.notEqual(Math.floor(a / Layout.SLAB_PAGE_BYTES), Math.floor(c / Layout.SLAB_PAGE_BYTES), "another class, another slab");
    assert.equal(a % Layout.SLAB_PAGE_BYTES, 8 + SLAB_CLASSES[3]!.firstSlot, "slot 0 follows the slab header");
    assert.equal(heap.usableSize(a), 32);
    assert.equal(heap.usableSize(c), 24);
    heap.free(a);
    assert.equal(heap.malloc(30), a, "the freed slot is reused first (LIFO)");
    heap.check();
  });

  it("starts the blocks right after the control block and page map", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const pageMapBytes = (2 ** 24 / Layout.SLAB_PAGE_BYTES / 32) * 4;
    const first = heap.malloc(1000);
    assert.equal(first, Gauge.PAGE_MAP_OFFSET + pageMapBytes + 8);
    const second = heap.malloc(1000);
    assert.equal(second, first + blockSizeFor(1000));
    heap.check();
  });

  it("counts mallocs and frees exactly past a slab's in-header malloc counter (2047) and its release", () => {
    const heap = new Heap();
    const keep = [heap.malloc(24), heap.malloc(24)];
    for (let i = 0; i < 5000; i++) heap.free(heap.malloc(20 + (i % 5)));
    let s = heap.stats();
    assert.deepEqual([s.mallocCount, s.freeCount, s.liveBlocks, s.liveBytes, s.internalFragmentationBytes], [5002, 5000, 2, 48, 0]);
    assert.equal(s.peakLiveBytes, 48 + 24);
    heap.check();
    // Fill past one slab so the first is full, then empty both: counts survive the release.
    const many = Array.from({ length: 400 }, () => heap.malloc(24));
    for (const p of [...many, ...keep]) heap.free(p);
    s = heap.stats();
    assert.deepEqual([s.mallocCount, s.freeCount, s.liveBlocks, s.liveBytes], [5402, 5402, 0, 0]);
    heap.check();
  });

  it("keeps exact stats: live, peak, rounding, extent, holes and fragmentation", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const start = heap.stats().extentBytes;
    const a = heap.malloc(1000);
    const b = heap.malloc(2000);
    const c = heap.malloc(3000);
    const small = heap.malloc(100);
    let s = heap.stats();
    assert.equal(s.liveBlocks, 4);
    assert.equal(s.liveBytes, 6100);
    assert.equal(s.peakLiveBytes, 6100);
    assert.equal(s.internalFragmentationBytes, 0 + 0 + 0 + 4, "1000, 2000, 3000 fill their blocks; 100 rounds to 104");
    const slabStart = Math.ceil((start + 1008 + 2008 + 3008) / Layout.SLAB_PAGE_BYTES) * Layout.SLAB_PAGE_BYTES;
    assert.ok(slabStart - (start + 6024) >= 24, "the test's layout leaves a hole before the slab");
    assert.equal(s.extentBytes, slabStart + Layout.SLAB_PAGE_BYTES, "a slab page is page-aligned: the gap before it is a hole");
    heap.free(b);
    s = heap.stats();
    assert.equal(s.liveBytes, 4100);
    assert.equal(s.peakLiveBytes, 6100);
    const gap = slabStart - (start + 6024);
    assert.equal(s.largestFreeBytes, Math.max(2008, gap));
    assert.ok(s.freeBytes > 2008, "the hole before the slab and free slots count too");
    assert.ok(s.externalFragmentation > 0 && s.externalFragmentation < 1);
    heap.free(a);
    assert.equal(heap.stats().largestFreeBytes, Math.max(2008, gap), "blocks up to 4 KiB wait on quick lists, uncoalesced");
    heap.trim();
    assert.equal(heap.stats().largestFreeBytes, Math.max(1008 + 2008, gap), "trim flushes them: freed neighbours coalesce");
    heap.free(c);
    heap.free(small);
    s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.liveBytes, 0);
    assert.equal(s.mallocCount, 4);
    assert.equal(s.freeCount, 4);
    heap.check();
  });

  it("gives the top of the heap back to the wilderness, and trim() returns committed memory", () => {
    const heap = new Heap({ maxBytes: 2 ** 26 });
    const start = heap.stats().extentBytes;
    const big = heap.malloc(8 << 20);
    assert.ok(heap.stats().committedBytes >= start + (8 << 20));
    heap.free(big);
    assert.equal(heap.stats().extentBytes, start, "freeing the top block lowers the extent");
    assert.equal(heap.stats().peakExtentBytes, start + blockSizeFor(8 << 20));
    const released = heap.trim();
    assert.ok(released >= 8 << 20, `trim released ${released} bytes`);
    assert.ok(heap.stats().committedBytes < start + Layout.SLAB_PAGE_BYTES * 2);
    heap.check();
    assert.notEqual(heap.malloc(1 << 20), 0, "the heap grows again after a trim");
    heap.check();
  });

  it("aligns to any power of two up to 64 KiB", () => {
    const heap = new Heap();
    for (const align of [1, 2, 4, 8, 16, 32, 64, 256, 4096, 65536]) {
      for (const size of [0, 1, 24, 300, 5000]) {
        const p = heap.malloc(size, align);
        assert.equal(p % align, 0, `malloc(${size}, ${align}) = ${p}`);
      }
    }
    heap.check();
  });

  it("reallocs in place when shrinking and when the neighbour is free, and moves otherwise", () => {
    const heap = new Heap();
    const a = heap.malloc(1000);
    const b = heap.malloc(1000);
    heap.malloc(1000);
    heap.u8.fill(7, a, a + 1000);
    assert.equal(heap.realloc(a, 500), a, "shrinks in place");
    heap.free(b);
    assert.equal(heap.realloc(a, 2000), a, "grows into the free neighbour (b waited on a quick list)");
    assert.equal(heap.u8[a + 499], 7);
    const moved = heap.realloc(a, 100_000);
    assert.notEqual(moved, a);
    assert.equal(heap.u8[moved + 499], 7, "contents move with the block");
    const slot = heap.malloc(20);
    assert.equal(heap.realloc(slot, 24), slot, "a slot grows within its class");
    assert.notEqual(heap.realloc(slot, 200), slot, "and moves to a larger class");
    assert.equal(heap.realloc(0, 50) > 0, true, "realloc(0, n) is malloc(n)");
    heap.check();
  });

  it("calloc zeroes reused memory", () => {
    const heap = new Heap();
    const a = heap.malloc(64);
    heap.u8.fill(0xff, a, a + 64);
    heap.free(a);
    const z = heap.calloc(8, 8);
    assert.equal(z, a);
    assert.ok(heap.u8.subarray(z, z + 64).every((x) => x === 0));
  });

  it("returns 0 when out of memory and changes nothing; mallocOrThrow throws", () => {
    const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 16 });
    assert.notEqual(heap.malloc(40_000), 0);
    const before = heap.stats();
    assert.equal(heap.malloc(40_000), 0);
    assert.deepEqual(heap.stats(), before);
    assert.throws(() => heap.mallocOrThrow(40_000), OutOfMemoryError);
    assert.throws(() => heap.malloc(60_000), InvalidSizeError, "beyond what the store could ever hold");
    heap.check();
    const blocks: number[] = [];
    for (let p; (p = heap.malloc(100)) !== 0; ) blocks.push(p);
    assert.ok(blocks.length > 100);
    for (const p of blocks) heap.free(p);
    heap.check();
  });

  it("grows every kind of store on demand", () => {
    for (const kind of KINDS.filter((k) => k !== "array-buffer")) {
      const heap = new Heap({ kind, initialBytes: 1 << 16, maxBytes: 1 << 26 });
      const p = heap.malloc(4 << 20);
      assert.notEqual(p, 0, kind);
      heap.u8[p + (4 << 20) - 1] = 1; // the view is current after growth
      assert.ok(heap.stats().committedBytes >= 4 << 20);
      heap.check();
    }
  });

  it("typed views of one block, when asked for", () => {
    const heap = new Heap();
    const p = heap.malloc(80);
    const f = heap.view(p, Float64Array);
    assert.equal(f.length, 10);
    f[9] = 1.5;
    assert.equal(heap.f64[p / 8 + 9], 1.5);
    assert.throws(() => heap.view(p, Float64Array, 11), InvalidSizeError);
  });
});

describe("Heap: attach", () => {
  it("reopens a heap from its saved bytes and sees every block", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const a = heap.malloc(40);
    const b = heap.malloc(4000);
    heap.u32[b / 4] = 0xdeadbeef;
    heap.free(heap.malloc(500));
    const saved = heap.store.buffer.slice(0) as ArrayBuffer;
    const copy = Heap.attach(saved);
    copy.check();
    assert.deepEqual({ ...copy.stats(), committedBytes: 0, reservedBytes: 0 }, { ...heap.stats(), committedBytes: 0, reservedBytes: 0 });
    assert.deepEqual([...copy.walk()], [...heap.walk()]);
    assert.equal(copy.u32[b / 4], 0xdeadbeef);
    copy.free(a);
    assert.throws(() => copy.free(a), DoubleFreeError);
    copy.check();
  });

  it("attaches to a shared heap and a WASM memory", () => {
    for (const kind of ["shared", "wasm"] as const) {
      const heap = new Heap({ kind, maxBytes: 2 ** 24 });
      const p = heap.malloc(123);
      const other = Heap.attach(heap.store.handle);
      assert.equal(other.usableSize(p), 128);
      other.free(p);
      heap.check();
      assert.equal(heap.stats().liveBlocks, 0, `${kind}: both sides see one heap`);
    }
  });

  it("refuses a buffer that holds no heap", () => {
    assert.throws(() => Heap.attach(new ArrayBuffer(1 << 16)), InvalidStoreError);
    assert.throws(() => new Heap({ kind: "array-buffer", initialBytes: 100 }), InvalidStoreError);
  });
});

describe("Heap: bad input never corrupts it", () => {
  const heap = new Heap({ maxBytes: 2 ** 24 });
  const live = [heap.malloc(10), heap.malloc(1000), heap.malloc(100_000)];
  const freed = heap.malloc(2000);
  const freedSlot = heap.malloc(16);
  live.push(heap.malloc(1000)); // keeps `freed` off the top
  heap.free(freed);
  heap.free(freedSlot);
  const snapshot = () => JSON.stringify({ stats: heap.stats(), blocks: [...heap.walk()] });
  const before = snapshot();

  const sizes: unknown[] = [NaN, -1, 1.5, 2 ** 40, Infinity, "12", undefined];
  for (const size of sizes) {
    it(`malloc(${String(size)}) throws InvalidSizeError`, () => {
      assert.throws(() => heap.malloc(size as number), (e) => e instanceof InvalidSizeError && Object.is(e.size, size));
      assert.throws(() => heap.realloc(live[0]!, size as number), InvalidSizeError);
      assert.equal(snapshot(), before);
    });
  }
  const messages: [unknown, string][] = [
    [NaN, "invalid size NaN: must be a number, not NaN"],
    [-1, "invalid size -1: must not be negative"],
    [1.5, "invalid size 1.5: must be a whole number of bytes"],
    ["12", 'invalid size "12": must be a number'],
    [undefined, "invalid size undefined: must be a number"],
    [null, "invalid size null: must be a number"],
    [{}, "invalid size object [object Object]: must be a number"],
  ];
  for (const [size, message] of messages) {
    it(`malloc(${String(size)}) names the value: ${message}`, () => {
      assert.throws(() => heap.malloc(size as number), { name: "InvalidSizeError", message });
    });
  }
  for (const align of [0, 3, 12, 2 ** 17, 0.5, NaN]) {
    it(`malloc(8, ${align}) throws InvalidAlignmentError`, () => {
      assert.throws(() => heap.malloc(8, align), InvalidAlignmentError);
      assert.equal(snapshot(), before);
    });
  }
  const pointers: [string, number, typeof InvalidFreeError][] = [
    ["never allocated, past the top", 1 << 23, InvalidFreeError],
    ["inside the control block", 64, InvalidFreeError],
    ["unaligned", live[1]! + 3, InvalidFreeError],
    ["interior of a TLSF block", live[1]! + 16, InvalidFreeError],
    ["interior of a large block", live[2]! + 4096, InvalidFreeError],
    ["interior of a slot", live[0]! + 8, InvalidFreeError],
    ["a slab header", live[0]! - (live[0]! % Layout.SLAB_PAGE_BYTES) + 8, InvalidFreeError],
    ["a freed TLSF block", freed, DoubleFreeError],
    ["a freed slot", freedSlot, DoubleFreeError],
    ["negative", -8, InvalidFreeError],
    ["NaN", NaN, InvalidFreeError],
  ];
  for (const [what, ptr, error] of pointers) {
    it(`free of ${what} throws ${error.name}`, () => {
      assert.throws(() => heap.free(ptr), (e) => e instanceof error && Object.is((e as InvalidFreeError).ptr, ptr));
      assert.throws(() => heap.realloc(ptr, 10), InvalidFreeError);
      assert.equal(snapshot(), before);
      heap.check();
    });
  }
  it("a double free is caught after the block coalesced with its neighbour or joined the top", () => {
    const h = new Heap();
    const a = h.malloc(1000);
    const b = h.malloc(1000);
    const c = h.malloc(1000);
    h.malloc(1000);
    h.free(a);
    h.free(b); // b coalesces into a
    assert.throws(() => h.free(b), DoubleFreeError);
    h.malloc(1500); // reuses the hole: b's old header is now inside a used block
    assert.throws(() => h.free(b), DoubleFreeError);
    const top = h.malloc(5000);
    h.free(top); // joins the wilderness
    assert.throws(() => h.free(top), DoubleFreeError);
    assert.throws(() => h.free(c + 3000), InvalidFreeError);
    h.check();
    assert.equal(h.stats().liveBlocks, 3);
  });
  it("free(0) does nothing, as in C", () => {
    heap.free(0);
    assert.equal(snapshot(), before);
  });
  it("check() reports a corrupted header", () => {
    const victim = new Heap();
    const p = victim.malloc(1000);
    victim.malloc(1000);
    victim.u32[(p - 4) / 4] = 40; // a size that breaks the tiling
    assert.throws(() => victim.check(), HeapCorruptionError);
    assert.throws(() => victim.free(p), InvalidFreeError, "and free refuses the forged header");
  });
});

describe("Heap: quick lists (deferred coalescing)", () => {
  for (const seed of [1, 2, 3]) {
    it(`random operations on quick-list sizes in a full fixed store, against the model (seed ${seed})`, () => {
      // 2 MiB that cannot grow: mallocs run out, so the flush-before-failing path runs too.
      const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 21, maxBytes: 1 << 21 });
      const model = new ReferenceModel(heap);
      const random = rng(seed);
      let outOfMemory = 0;
      for (let op = 0; op < 4000; op++) {
        const size = 257 + Math.floor(random() * 4600);
        const r = random();
        if (r < 0.55 || model.live.size === 0) outOfMemory += model.malloc(size) === 0 ? 1 : 0;
        else if (r < 0.85) model.free(model.pick(random())!);
        else model.realloc(model.pick(random())!, size);
        if (op % 10 === 0) model.verifyAll();
      }
      assert.ok(outOfMemory > 0, "the store filled up");
      for (const ptr of [...model.live.keys()]) model.free(ptr);
      model.verifyAll();
      heap.trim();
      assert.equal(heap.stats().freeBytes, 0, "everything coalesced back into the wilderness");
    });
  }

  it("realloc grows in place into a neighbour that waits on a quick list", () => {
    const heap = new Heap();
    const a = heap.malloc(1000);
    const b = heap.malloc(1000);
    heap.malloc(1000);
    heap.u8.fill(9, a, a + 1000);
    heap.free(b);
    assert.equal(heap.realloc(a, 1900), a, "b is flushed off its list and coalesced, then taken");
    assert.equal(heap.u8[a + 999], 9);
    heap.check();
  });

  const quickBytes = (heap: Heap) => heap.u32[Word.QUICK_BYTES]!;

  it("caches a freed TLSF block up to 4 KiB: a hole in stats and walk, reused first, not coalesced", () => {
    const heap = new Heap();
    const [a, b] = [heap.malloc(1000), heap.malloc(1000)];
    heap.malloc(1000);
    const before = heap.stats();
    heap.free(a);
    heap.free(b);
    const s = heap.stats();
    assert.equal(quickBytes(heap), 2 * 1008);
    assert.deepEqual([s.liveBlocks, s.liveBytes, s.freeCount], [before.liveBlocks - 2, before.liveBytes - 2000, 2]);
    assert.equal(s.freeBytes, before.freeBytes + 2 * 1008);
    assert.equal(s.largestFreeBytes, Math.max(1008, before.largestFreeBytes), "not coalesced");
    const free = [...heap.walk()].filter((x) => x.state === "free" && x.sizeBytes === 1008).map((x) => x.offset + 8);
    assert.deepEqual(free, [a, b]);
    heap.check();
    assert.equal(heap.malloc(1000), b, "LIFO: the last freed comes back first");
    assert.equal(heap.malloc(999), a, "any request of the same block size");
    assert.equal(quickBytes(heap), 0);
    heap.check();
  });

  it("a cached block is freed: a second free is a DoubleFreeError, realloc and usableSize an InvalidFreeError", () => {
    const heap = new Heap();
    const p = heap.malloc(3000);
    heap.malloc(100);
    heap.free(p);
    const snapshot = JSON.stringify({ stats: heap.stats(), blocks: [...heap.walk()] });
    assert.throws(() => heap.free(p), DoubleFreeError);
    assert.throws(() => heap.realloc(p, 10), InvalidFreeError);
    assert.throws(() => heap.usableSize(p), InvalidFreeError);
    assert.throws(() => heap.free(p + 8), InvalidFreeError);
    assert.equal(JSON.stringify({ stats: heap.stats(), blocks: [...heap.walk()] }), snapshot);
    heap.check();
  });

  it("splits a larger cached block when no free block fits, caching the rest", () => {
    const heap = new Heap();
    const a = heap.malloc(3000);
    heap.malloc(3000);
    heap.free(a);
    assert.equal(heap.malloc(1000), a, "cut from the cached 3008-byte block, not the top");
    assert.equal(quickBytes(heap), 3008 - 1008);
    heap.check();
    assert.equal(heap.malloc(1992), a + 1008, "the rest is cached in its own size's list");
    assert.equal(quickBytes(heap), 0);
    heap.check();
  });

  it("flushes every cached block into the free lists when they would pass their bound", () => {
    const heap = new Heap();
    const count = Math.floor(Layout.QUICK_MIN_LIMIT / 2008);
    const blocks = Array.from({ length: count + 1 }, () => heap.malloc(2000));
    heap.malloc(2000); // keeps the run off the top
    for (const p of blocks.slice(0, count)) heap.free(p);
    assert.equal(quickBytes(heap), count * 2008);
    assert.equal(heap.stats().largestFreeBytes, 2008, "all cached, none coalesced");
    heap.check();
    heap.free(blocks[count]!); // one more would pass QUICK_MIN_LIMIT
    assert.equal(quickBytes(heap), 0);
    assert.equal(heap.stats().largestFreeBytes, (count + 1) * 2008, "flushed: the run is one free block");
    assert.throws(() => heap.free(blocks[3]!), DoubleFreeError, "a flushed block that coalesced is still freed");
    heap.check();
  });

  it("flushes before failing: memory held on quick lists is not out of memory", () => {
    const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 20 });
    const blocks: number[] = [];
    for (let p; (p = heap.malloc(1000)) !== 0; ) blocks.push(p);
    for (const p of blocks.slice(0, 60)) heap.free(p);
    assert.ok(quickBytes(heap) > 0);
    assert.notEqual(heap.malloc(50_000), 0, "the cached run coalesces into room for it");
    heap.check();
  });

  it("check() catches a corrupted quick list", () => {
    const setup = () => {
      const heap = new Heap();
      const [a, b] = [heap.malloc(1000), heap.malloc(1000)];
      const used = heap.malloc(1000);
      heap.malloc(1000);
      heap.free(a);
      heap.free(b);
      heap.check();
      return { heap, a, b, used, head: Word.QUICK_HEADS + quickListOf(1008) };
    };
    const corruptions: [string, (c: ReturnType<typeof setup>) => void][] = [
      ["a cycle", ({ heap, a, b }) => { heap.u32[a / 4] = b; }],
      ["a link to a used block", ({ heap, a, used }) => { heap.u32[a / 4] = used; }],
      ["a link into a block", ({ heap, a, used }) => { heap.u32[a / 4] = used + 16; }],
      ["a block on the wrong list", ({ heap, head, b }) => { heap.u32[head] = 0; heap.u32[head + 1] = b; }],
      ["a lost block (the list cut short)", ({ heap, b }) => { heap.u32[b / 4] = 0; }],
      ["a byte count that disagrees", ({ heap }) => { heap.u32[Word.QUICK_BYTES]! += 8; }],
      ["a map bit that disagrees", ({ heap }) => { heap.u32[Word.QUICK_MAP]! ^= 1; }],
    ];
    for (const [what, corrupt] of corruptions) {
      const c = setup();
      corrupt(c);
      assert.throws(() => c.heap.check(), HeapCorruptionError, what);
    }
  });
});

describe("Heap: random operations against the reference model", () => {
  for (const kind of KINDS) {
    it(`${kind} store, 3 seeds x 3000 ops`, () => {
      for (const seed of [1, 2, 3]) {
        const heap = new Heap({ kind, initialBytes: kind === "array-buffer" ? 1 << 22 : 1 << 16, maxBytes: 1 << 24 });
        const model = new ReferenceModel(heap);
        const random = rng(seed * 7919 + kind.length);
        for (let op = 0; op < 3000; op++) {
          const r = random();
          const size = random() < 0.7 ? Math.floor(random() * 300) : Math.floor(random() ** 3 * 300_000);
          if (r < 0.5 || model.live.size === 0) model.malloc(size, random() < 0.1 ? 1 << Math.floor(random() * 13) : 8);
          else if (r < 0.85) model.free(model.pick(random())!);
          else model.realloc(model.pick(random())!, size);
          if (op % 100 === 0) model.verifyAll();
        }
        model.verifyAll();
        assert.equal(heap.stats().liveBytes, model.liveBytes());
        for (const ptr of [...model.live.keys()]) model.free(ptr);
        model.verifyAll();
        assert.equal(heap.stats().liveBytes, 0);
      }
    });
  }
});

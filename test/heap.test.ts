import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DoubleFreeError, Heap, HeapCorruptionError, InvalidAlignmentError, InvalidFreeError, InvalidSizeError,
  InvalidStoreError, OutOfMemoryError, type StoreKind,
} from "../src/index.js";
import { blockSizeFor, Gauge, Layout, listIndexOf, searchSizeFor, SLAB_CLASSES, SlabWord, slotNibbleIndex, smallClassOf, Word } from "../src/heap/layout.js";
import { Mid, MID_CLASS_OF, MID_CLASSES, midDescriptorOf, midRootWord, midSlabBytesOf } from "../src/heap/mid-layout.js";
import { warmMidClass } from "./support/mid.js";
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

  it("finds a small slot's nibble by the packed info word at exactly the slot starts of every class (slotNibbleIndex)", () => {
    for (const { slotBytes, capacity, firstSlot, info } of SLAB_CLASSES) {
      // Slot t's nibble is FIRST_NIBBLE + t; any other offset maps to -1, or (past the last slot)
      // to one of the two spare nibbles, which stay 0.
      const firstGranule = (Layout.HEADER_BYTES + firstSlot) / Layout.GRANULE;
      for (let g = 0; g < Layout.SLAB_PAGE_BYTES / Layout.GRANULE; g++) {
        const t = (g - firstGranule) / (slotBytes / Layout.GRANULE);
        const j = slotNibbleIndex(g * Layout.GRANULE, info);
        const ok = Number.isInteger(t) && t >= 0 && t < capacity ? j === SlabWord.FIRST_NIBBLE + t
          : j === -1 || (j >= SlabWord.FIRST_NIBBLE + capacity && j < SlabWord.FIRST_NIBBLE + capacity + 2);
        if (!ok) assert.fail(`class ${slotBytes}: granule ${g} gives nibble ${j}`);
      }
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

  it("starts the blocks right after the control block, the page map and the mid page table's root", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const pageMapBytes = (2 ** 24 / Layout.SLAB_PAGE_BYTES / 32) * 4; // 1 bit per page
    const midRootBytes = (2 ** 24 / 2 ** Mid.REGION_SHIFT) * 4; // 1 word per 4 MiB
    const first = heap.malloc(5000);
    assert.equal(first, Gauge.PAGE_MAP_OFFSET + pageMapBytes + midRootBytes + 8);
    const second = heap.malloc(5000);
    assert.equal(second, first + blockSizeFor(5000));
    heap.check();
  });

  it("hands out 257..4080-byte requests as slots of page-aligned 16 KiB mid slabs", () => {
    const heap = new Heap();
    const { slotBytes } = MID_CLASSES[MID_CLASS_OF[(1000 + 15) >>> 4]!]!;
    assert.equal(slotBytes, 1008, "1000 bytes round up to the 1008-byte class");
    const warm = [...warmMidClass(heap, 1000), ...warmMidClass(heap, 4000)];
    const w = heap.stats();
    const a = heap.malloc(1000);
    const b = heap.malloc(1000);
    assert.equal((a - Mid.FIRST_SLOT) % Layout.SLAB_PAGE_BYTES, 0, "the slab starts a page");
    assert.equal(b - a, slotBytes, "a fresh slab hands out its slots in address order");
    assert.equal(heap.usableSize(a), slotBytes);
    assert.equal(heap.malloc(4000) % 16, 0, "mid slots are 16-aligned");
    let s = heap.stats();
    assert.deepEqual([s.midSlabs, s.liveBlocks - w.liveBlocks, s.liveBytes - w.liveBytes, s.internalFragmentationBytes - w.internalFragmentationBytes], [2, 3, 6000, 8 + 8 + 80]);
    heap.free(a);
    assert.equal(heap.malloc(995), a, "the freed slot comes back first (LIFO), for any size of its class");
    heap.free(a);
    heap.free(b);
    assert.throws(() => heap.free(b), DoubleFreeError, "the emptied slab is kept as the heap's spare");
    s = heap.stats();
    assert.deepEqual([s.midSlabs, s.liveBlocks - w.liveBlocks, s.liveBytes - w.liveBytes], [2, 1, 4000]);
    warmMidClass(heap, 2000);
    const other = heap.malloc(2000);
    assert.equal(other, a, "the 2032-byte class takes the empty spare of the 1008-byte class and re-forms it");
    assert.throws(() => heap.free(b), InvalidFreeError, "b is no slot start in the re-formed slab");
    heap.free(other);
    assert.equal(heap.stats().midSlabs, 2, "the heap keeps one spare, not one per class");
    for (const p of warm) heap.free(p);
    heap.check();
  });

  it("keeps one empty small slab per class, at its head, and re-forms it for a class that needs a slab", () => {
    const heap = new Heap();
    const a = heap.malloc(24);
    heap.free(a);
    assert.equal(heap.stats().slabPages, 1, "the emptied slab heads its class's list: kept");
    heap.check();
    const b = heap.malloc(100);
    assert.equal(b - (b % Layout.SLAB_PAGE_BYTES), a - (a % Layout.SLAB_PAGE_BYTES), "the 104-byte class re-forms the empty 24-byte slab");
    assert.equal(heap.stats().slabPages, 1);
    assert.throws(() => heap.free(a), InvalidFreeError, "a is no live slot of the re-formed slab");
    const { capacity } = SLAB_CLASSES[smallClassOf(24)]!;
    const full = Array.from({ length: capacity }, () => heap.malloc(24));
    const more = heap.malloc(24); // a second 24-byte slab, at the head
    heap.free(more);
    heap.free(full[0]!); // the full slab goes back in front: the empty head it displaces is released
    assert.equal(heap.stats().slabPages, 2);
    heap.check();
  });

  it("releases the spare slab when another slab empties", () => {
    const heap = new Heap();
    const { capacity } = MID_CLASSES[MID_CLASS_OF[(1000 + 15) >>> 4]!]!;
    warmMidClass(heap, 1000);
    const blocks = Array.from({ length: 2 * capacity }, () => heap.malloc(1000));
    assert.equal(heap.stats().midSlabs, 2);
    for (const p of blocks.slice(0, capacity)) heap.free(p);
    assert.equal(heap.stats().midSlabs, 2, "the first slab emptied: it is the spare");
    heap.check();
    for (const p of blocks.slice(capacity)) heap.free(p);
    assert.equal(heap.stats().midSlabs, 1, "the second emptied: the first went back to the TLSF layer");
    heap.check();
    assert.throws(() => heap.free(blocks[0]!), InvalidFreeError, "a slot of a released slab is no block");
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
    const a = heap.malloc(9000);
    const b = heap.malloc(10000);
    const c = heap.malloc(11000);
    const small = heap.malloc(100);
    let s = heap.stats();
    assert.equal(s.liveBlocks, 4);
    assert.equal(s.liveBytes, 30100);
    assert.equal(s.peakLiveBytes, 30100);
    assert.equal(s.internalFragmentationBytes, 0 + 0 + 0 + 4, "9000, 10000, 11000 (above the mid sizes: TLSF blocks, which a free coalesces at once) fill their blocks; 100 rounds to 104");
    const slabStart = Math.ceil((start + 9008 + 10008 + 11008) / Layout.SLAB_PAGE_BYTES) * Layout.SLAB_PAGE_BYTES;
    const gap = slabStart - (start + 30024);
    assert.ok(gap >= 24, "the test's layout leaves a hole before the slab");
    assert.equal(s.extentBytes, slabStart + Layout.SLAB_PAGE_BYTES, "a slab page is page-aligned: the gap before it is a hole");
    heap.free(b);
    s = heap.stats();
    assert.equal(s.liveBytes, 20100);
    assert.equal(s.peakLiveBytes, 30100);
    assert.equal(s.largestFreeBytes, Math.max(10008, gap));
    assert.ok(s.freeBytes > 10008, "the hole before the slab and free slots count too");
    assert.ok(s.externalFragmentation > 0 && s.externalFragmentation < 1);
    heap.free(a);
    assert.equal(heap.stats().largestFreeBytes, Math.max(9008 + 10008, gap), "freed neighbours coalesce at once");
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
    // Above the mid sizes, so that b's free coalesces at once (a mid-sized one waits in the mid cache).
    const a = heap.malloc(9000);
    const b = heap.malloc(9000);
    heap.malloc(9000);
    heap.u8.fill(7, a, a + 9000);
    assert.equal(heap.realloc(a, 8500), a, "shrinks in place");
    heap.free(b);
    assert.equal(heap.realloc(a, 18_000), a, "grows into the free neighbour (the split-off tail and b, coalesced)");
    assert.equal(heap.u8[a + 8499], 7);
    const moved = heap.realloc(a, 100_000);
    assert.notEqual(moved, a);
    assert.equal(heap.u8[moved + 499], 7, "contents move with the block");
    const slot = heap.malloc(20);
    assert.equal(heap.realloc(slot, 24), slot, "a slot grows within its class");
    assert.notEqual(heap.realloc(slot, 200), slot, "and moves to a larger class");
    warmMidClass(heap, 1000);
    const mid = heap.malloc(1000);
    assert.equal(heap.realloc(mid, 1008), mid, "a mid slot grows within its class");
    assert.equal(heap.realloc(mid, 995), mid, "and shrinks within it");
    assert.notEqual(heap.realloc(mid, 2000), mid, "and moves to another class");
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
  warmMidClass(heap, 1000); // so 1000-byte blocks are mid slots
  const midSlot = heap.malloc(1000); // first: a hot class fills the slab-alignment holes before it makes a slab
  const live = [heap.malloc(10), heap.malloc(5000), heap.malloc(100_000), midSlot];
  const freed = heap.malloc(6000);
  const freedSlot = heap.malloc(16);
  const freedMidSlot = heap.malloc(1000);
  live.push(heap.malloc(5000)); // keeps `freed` off the top
  heap.free(freed);
  heap.free(freedSlot);
  heap.free(freedMidSlot);
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
    ["interior of a mid slot", live[3]! + 16, InvalidFreeError],
    ["the start of a mid slab's block", live[3]! - Mid.FIRST_SLOT + 8, InvalidFreeError],
    ["a mid slot never handed out", freedMidSlot + 1008, InvalidFreeError],
    ["a freed TLSF block", freed, DoubleFreeError],
    ["a freed slot", freedSlot, DoubleFreeError],
    ["a freed mid slot", freedMidSlot, DoubleFreeError],
    ["a descriptor page of the mid slabs", heap.u32[Word.MID_DESCRIPTOR_PAGES]!, InvalidFreeError],
    ["a leaf of the mid page table", heap.u32[midRootWord(heap.u32) + (live[3]! >>> Mid.REGION_SHIFT)]!, InvalidFreeError],
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
    const a = h.malloc(5000);
    const b = h.malloc(5000);
    const c = h.malloc(5000);
    h.malloc(5000);
    h.free(a);
    h.free(b); // b coalesces into a
    assert.throws(() => h.free(b), DoubleFreeError);
    h.malloc(7500); // reuses the hole: b's old header is now inside a used block
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
    const p = victim.malloc(5000);
    victim.malloc(5000);
    victim.u32[(p - 4) / 4] = 40; // a size that breaks the tiling
    assert.throws(() => victim.check(), HeapCorruptionError);
    assert.throws(() => victim.free(p), InvalidFreeError, "and free refuses the forged header");
  });
});

describe("Heap: mid and TLSF sizes", () => {
  for (const seed of [1, 2, 3]) {
    it(`random operations on 257..4856-byte blocks in a full fixed store, against the model (seed ${seed})`, () => {
      // 2 MiB that cannot grow: mallocs run out, and out of memory must change nothing.
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
        if (op % 10 === 0) model.checkLaws();
      }
      assert.ok(outOfMemory > 0, "the store filled up");
      for (const ptr of [...model.live.keys()]) model.free(ptr);
      model.verifyAll();
      assert.ok(heap.stats().midSlabs <= 1, "the heap keeps one spare mid slab, of any class");
    });
  }

  for (const seed of [4, 5]) {
    it(`random mid-size operations with forged and repeated frees mixed in, check() after each (seed ${seed})`, () => {
      const heap = new Heap({ kind: "array-buffer", initialBytes: 1 << 21, maxBytes: 1 << 21 });
      const model = new ReferenceModel(heap);
      const random = rng(seed);
      const freed: number[] = [];
      const snapshot = () => JSON.stringify(heap.stats());
      for (let op = 0; op < 1500; op++) {
        const r = random();
        const size = 257 + Math.floor(random() * (Mid.MAX_BYTES - 256));
        if (r < 0.45 || model.live.size === 0) model.malloc(size, random() < 0.2 ? 16 : 8);
        else if (r < 0.75) {
          const ptr = model.pick(random())!;
          model.free(ptr);
          freed.push(ptr);
        } else if (r < 0.85) model.realloc(model.pick(random())!, size);
        else {
          // A pointer that is not a live block: inside one, or one freed before (its memory may
          // since have gone to another block: then it is live again and left alone).
          const bad = random() < 0.5 ? model.pick(random())! + 8 * (1 + Math.floor(random() * 8)) : freed[Math.floor(random() * freed.length)];
          if (bad === undefined || model.live.has(bad)) continue;
          const before = snapshot();
          assert.throws(() => heap.free(bad), InvalidFreeError, `free(${bad})`);
          assert.equal(snapshot(), before, `a refused free(${bad}) changed nothing`);
        }
        heap.check();
      }
      model.verifyAll();
    });
  }

  it("a mid malloc that runs out of memory changes nothing; near the limit a hot class gets TLSF blocks, not a slab", () => {
    for (let kib = 64; kib <= 480; kib += 4) {
      for (const first of [0, 3000, 9000]) {
        const heap = new Heap({ kind: "array-buffer", initialBytes: kib * 1024 });
        if (first > 0) heap.malloc(first);
        for (let i = 0; ; i++) {
          const size = [300, 1000, 3000][i % 3]!;
          const before = JSON.stringify(heap.stats());
          if (heap.malloc(size) !== 0) continue;
          assert.equal(JSON.stringify(heap.stats()), before, `${kib} KiB store: a failed malloc(${size}) changed the stats`);
          break;
        }
        heap.check();
      }
    }
    // The first mid slab of a nearly full heap, the room left stepping down 256 bytes at a time:
    // without room for a slab and its metadata the request is a TLSF block of its own, and
    // without room for that either malloc returns 0 and changes nothing.
    let blocks = 0;
    let failures = 0;
    for (let taken = 24_000; taken < 80_000; taken += 256) {
      const heap = new Heap({ kind: "array-buffer", initialBytes: 96 * 1024 });
      warmMidClass(heap, 1000);
      if (heap.malloc(taken) === 0) break;
      const before = JSON.stringify([heap.stats(), [...heap.walk()]]);
      const bytes = heap.store.u8.slice();
      const p = heap.malloc(1000);
      if (p !== 0) {
        if (heap.stats().midSlabs === 0) blocks++;
        heap.check();
        continue;
      }
      failures++;
      assert.equal(JSON.stringify([heap.stats(), [...heap.walk()]]), before, `after a ${taken}-byte block: a failed first mid malloc changed the heap`);
      assert.ok(Buffer.from(heap.store.u8).equals(Buffer.from(bytes)), `after a ${taken}-byte block: a failed first mid malloc changed a byte`);
      heap.check();
    }
    assert.ok(blocks > 10 && failures > 0, `${blocks} TLSF blocks, ${failures} failures: the steps reach both`);
  });

  it("finds a mid slot's descriptor from any page of its slab, and nothing elsewhere", () => {
    const heap = new Heap({ maxBytes: 2 ** 26 });
    const big = heap.malloc(3 << 20); // pushes the slabs across a 4 MiB boundary of the page table
    warmMidClass(heap, 3000);
    const slots = Array.from({ length: 400 }, () => heap.malloc(3000));
    const u32 = heap.u32;
    const root = midRootWord(u32);
    const inSlabs = slots.filter((p) => midDescriptorOf(u32, root, p) !== 0); // the rest fill holes (slab alignment gaps)
    assert.ok(inSlabs.length > 300, `${inSlabs.length} of 400 in slabs`);
    for (const p of inSlabs) {
      const d = midDescriptorOf(u32, root, p);
      const base = u32[(d >>> 2) + Mid.BASE]!;
      assert.ok(p >= base + Mid.FIRST_SLOT && p < base + midSlabBytesOf(u32, d), `slot ${p}`);
      for (let page = base; page < base + midSlabBytesOf(u32, d); page += Layout.SLAB_PAGE_BYTES) assert.equal(midDescriptorOf(u32, root, page), d);
    }
    assert.ok(new Set(inSlabs.map((p) => inSlabs[0]! >>> Mid.REGION_SHIFT !== p >>> Mid.REGION_SHIFT)).size === 2, "the slabs span two leaves");
    assert.equal(midDescriptorOf(u32, root, big), 0, "a TLSF block is in no mid slab");
    heap.check();
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
          if (op % 100 === 0) model.checkLaws();
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

/**
 * Where the Heap puts blocks and slabs (src/heap/mid-layout.ts, mid-slabs.ts, tlsf.ts): the mid
 * classes with their 16 and 32 KiB slabs, a hot class filling a free hole before the heap grows
 * for a slab, and aligned requests reusing a hole of any list that holds them aligned.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/index.js";
import { blockSizeFor, Layout, Word } from "../src/heap/layout.js";
import { Mid, MID_CLASS_OF, MID_CLASSES, midDescriptorOf, midRootWord, midSlotIndex } from "../src/heap/mid-layout.js";
import { warmMidClass } from "./support/mid.js";
import { ReferenceModel, rng } from "./support/model.js";

const classOf = (size: number) => MID_CLASSES[MID_CLASS_OF[(size + 15) >>> 4]!]!;

/** How many slot sizes strictly between `below` and `above` pack a 32 KiB slab with at most PACKED_MAX_SLOTS slots. */
function widePackings(below: number, above: number): number {
  const room = Mid.WIDE_SLAB_BYTES - Mid.FIRST_SLOT;
  let count = 0;
  for (let bytes = below + 16; bytes < above; bytes += 16) {
    const n = Math.floor(room / bytes);
    if (n <= Mid.PACKED_MAX_SLOTS && Math.floor(room / n / 16) * 16 === bytes) count++;
  }
  return count;
}

/** The powers of two that are mid classes of their own (mid-layout.ts, withPowersOfTwo). */
const POWERS_OF_TWO = [512, 1024, 2048, 4096];

describe("Heap: mid classes and their slab sizes", () => {
  it("has a wide (32 KiB) class between two 16 KiB classes more than 1/16 apart where a descriptor can describe its slab, and no other", () => {
    const narrow = MID_CLASSES.filter((c) => c.slabBytes === Mid.SLAB_BYTES);
    for (let k = 1; k < narrow.length; k++) {
      const [below, above] = [narrow[k - 1]!.slotBytes, narrow[k]!.slotBytes];
      const between = MID_CLASSES.filter((c) => c.slotBytes > below && c.slotBytes < above && !POWERS_OF_TWO.includes(c.slotBytes));
      assert.equal(between.length, below + below / Mid.SPACING < above && widePackings(below, above) > 0 ? 1 : 0, `classes between ${below} and ${above}`);
      for (const c of between) assert.equal(c.slabBytes, Mid.WIDE_SLAB_BYTES);
    }
    for (let k = 1; k < MID_CLASSES.length; k++) {
      const [below, above] = [MID_CLASSES[k - 1]!.slotBytes, MID_CLASSES[k]!.slotBytes];
      const bound = below < 544 ? 0.11 : above <= 2336 ? 0.075 : 0.125;
      assert.ok(above / below - 1 <= bound, `class ${above} is ${((above / below - 1) * 100).toFixed(1)} % above ${below}`);
    }
    assert.equal(classOf(1032).slotBytes, 1056, "1 KiB and a header: 24 bytes of rounding, not 56");
  });

  it("finds a slot's index by its reciprocal at exactly the slot starts of every class (midSlotIndex)", () => {
    for (const [k, c] of MID_CLASSES.entries()) {
      for (let offset = -Mid.FIRST_SLOT; offset < c.slabBytes - Mid.FIRST_SLOT; offset += 8) {
        const i = offset / c.slotBytes;
        const want = Number.isInteger(i) && i >= 0 && i < c.capacity ? i : -1;
        if (midSlotIndex(Mid.FIRST_SLOT + offset, 0, k) !== want) assert.fail(`class ${c.slotBytes}: offset ${offset} gives ${midSlotIndex(Mid.FIRST_SLOT + offset, 0, k)}, not ${want}`);
      }
    }
  });

  it("has a class at each power of two from 512 to 4096, in the slab (up to 64 slots) whose tail costs each slot less than the class above would", () => {
    for (const bytes of [512, 1024, 2048, 4096]) {
      const c = classOf(bytes);
      const tailPerSlot = (c.slabBytes - Mid.FIRST_SLOT - c.capacity * c.slotBytes) / c.capacity;
      assert.equal(c.slotBytes === bytes, POWERS_OF_TWO.includes(bytes), `a class of exactly ${bytes} bytes`);
      if (c.slotBytes === bytes) assert.ok(tailPerSlot < classOf(bytes + 1).slotBytes - bytes, `${bytes}: ${tailPerSlot} bytes of tail a slot`);
    }
    assert.deepEqual(POWERS_OF_TWO.map((bytes) => [classOf(bytes).slabBytes >> 10, classOf(bytes).capacity]), [[32, 63], [64, 63], [128, 63], [128, 31]]);
  });

  it("serves a wide class from 32 KiB slabs whose every page maps to the descriptor, and re-forms its spare only for a class of the same slab size", () => {
    const heap = new Heap();
    const wide = classOf(1032);
    assert.equal(wide.slabBytes, Mid.WIDE_SLAB_BYTES);
    const warm = warmMidClass(heap, 1032);
    const slots = Array.from({ length: wide.capacity }, () => heap.malloc(1032));
    const u32 = heap.u32;
    const d = midDescriptorOf(u32, midRootWord(u32), slots[0]!);
    const base = u32[(d >>> 2) + Mid.BASE]!;
    assert.equal(base % Layout.SLAB_PAGE_BYTES, 0, "the slab starts a page");
    assert.deepEqual(slots, slots.map((_, i) => base + Mid.FIRST_SLOT + i * wide.slotBytes), "one slab holds the class's capacity, in address order");
    for (let page = base; page < base + Mid.WIDE_SLAB_BYTES; page += Layout.SLAB_PAGE_BYTES) assert.equal(midDescriptorOf(u32, midRootWord(u32), page), d);
    heap.check();
    for (const p of slots) heap.free(p);
    assert.equal(heap.stats().midSlabs, 1, "the emptied slab is the spare");
    warm.push(...warmMidClass(heap, 1000));
    const narrow = heap.malloc(1000);
    assert.ok(narrow < base || narrow >= base + Mid.WIDE_SLAB_BYTES, "a 16 KiB class does not take a 32 KiB spare");
    assert.equal(heap.stats().midSlabs, 2);
    warm.push(...warmMidClass(heap, 1100));
    assert.equal(classOf(1100).slabBytes, Mid.WIDE_SLAB_BYTES);
    assert.equal(heap.malloc(1100), base + Mid.FIRST_SLOT, "a wide class re-forms the wide spare");
    heap.check();
  });

  it("keeps random mid-sized work in both slab sizes consistent with a model", () => {
    const heap = new Heap();
    const model = new ReferenceModel(heap);
    const random = rng(17);
    const live: number[] = [];
    for (let step = 0; step < 6000; step++) {
      if (live.length > 0 && random() < 0.45) {
        const k = Math.floor(random() * live.length);
        model.free(live[k]!);
        live[k] = live.at(-1)!;
        live.pop();
      } else {
        live.push(model.malloc(Layout.SMALL_MAX_BYTES + 1 + Math.floor(random() * (Mid.MAX_BYTES - Layout.SMALL_MAX_BYTES))));
      }
      if (step % 500 === 0) heap.check();
    }
    assert.ok(heap.stats().midSlabs > 10);
    for (const p of live) model.free(p);
    heap.check();
  });
});

describe("Heap: free space before growth", () => {
  it("a large block carved from the top releases the empty spare slab that ends there and lands on its space", () => {
    for (const size of [1000, 1100]) {
      const heap = new Heap();
      const warm = warmMidClass(heap, 700);
      warm.push(heap.malloc(700), ...warmMidClass(heap, size)); // the first slab brings a descriptor page and a leaf
      const slots = Array.from({ length: classOf(size).capacity }, () => heap.malloc(size));
      const base = slots[0]! - Mid.FIRST_SLOT;
      assert.equal(base + classOf(size).slabBytes, heap.top, "the slab is the block below top");
      for (const p of slots) heap.free(p);
      assert.equal(heap.stats().midSlabs, 2, "the emptied slab is kept as the spare");
      const small = heap.malloc(Layout.LARGE_MIN_BYTES - 4096);
      assert.ok(small >= base + classOf(size).slabBytes, "a block below a page span's size is carved above the spare");
      heap.free(small);
      const large = heap.malloc(Layout.LARGE_MIN_BYTES);
      assert.ok(large < base + 64, `the page span lands on the spare's space (${large}, spare at ${base})`);
      assert.ok(heap.top < base + classOf(size).slabBytes + Layout.LARGE_MIN_BYTES, "the extent grew by less than the page span");
      assert.equal(heap.stats().midSlabs, 1, "the spare was released");
      heap.check();
      for (const p of [...warm, large]) heap.free(p);
      heap.check();
    }
  });

  it("a hot mid class whose slabs are full takes a free hole that fits before it grows the heap for a slab", () => {
    const heap = new Heap();
    const c = classOf(1000);
    warmMidClass(heap, 1000);
    const slab = Array.from({ length: c.capacity }, () => heap.malloc(1000));
    assert.notEqual(midDescriptorOf(heap.u32, midRootWord(heap.u32), slab[0]!), 0, "the class is hot: its blocks are slots");
    const hole = heap.malloc(5000);
    heap.malloc(5000); // keeps the hole off the top
    heap.free(hole);
    const holes = [...heap.walk()].filter((s) => s.kind === "free" && s.group === undefined && s.bytes >= blockSizeFor(1000));
    assert.ok(holes.some((s) => s.start === hole - Layout.HEADER_BYTES));
    const top = heap.u32[Word.TOP]!;
    const p = heap.malloc(1000);
    assert.ok(holes.some((s) => p > s.start && p + 1000 <= s.start + s.bytes), `the next 1000-byte block, at ${p}, fills a hole`);
    assert.equal(midDescriptorOf(heap.u32, midRootWord(heap.u32), p), 0, "as a TLSF block of its own");
    assert.equal(heap.u32[Word.TOP], top, "and the heap did not grow");
    heap.check();
    heap.free(p);
    heap.check();
  });

  it("an aligned request takes an aligned place in a free block of a list below size + align", () => {
    const heap = new Heap();
    const first = heap.malloc(5000);
    // Places the next block's payload 1000 bytes past a page start.
    const pad = (((1000 - (first + blockSizeFor(5000))) % 4096) + 4096) % 4096 + 2 * 4096;
    heap.malloc(pad - Layout.HEADER_BYTES);
    const a = heap.malloc(7500);
    assert.equal(a % 4096, 1000);
    heap.malloc(5000); // keeps the hole off the top
    heap.free(a);
    const top = heap.u32[Word.TOP]!;
    const p = heap.malloc(4000, 4096);
    assert.equal(p, a + 3096, "the page start inside the 7,508-byte hole");
    assert.equal(heap.u32[Word.TOP], top, "the heap did not grow");
    heap.check();
  });
});

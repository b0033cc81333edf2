/**
 * A Heap on a range [start, end) of a buffer it does not own (ByteStore.wrap(backing, { start,
 * end })), whose offsets are relative to the range's base (start rounded up to 16): random
 * malloc/calloc/realloc/free/trim/freeAll against the reference model (its pointers are the
 * heap's offsets), with every byte of the whole buffer outside the range compared with what it
 * was after every step, on a plain
 * ArrayBuffer (a range in the middle, start not 8-aligned), a WebAssembly.Memory (a range after
 * some "module data", grown by the heap), a growable SharedArrayBuffer (the concurrency guard's
 * word in the range's control block) and a DebugHeap's fills; two heaps side by side in one
 * buffer; typed arrays at base + offset in the whole buffer; attach round trips; and the errors
 * of bad ranges.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DebugHeap } from "../src/debug/debug-heap.js";
import { InvalidHeapImageError, InvalidRangeError, InvalidStoreError } from "../src/errors.js";
import { Heap } from "../src/heap/heap.js";
import { Layout, Word } from "../src/heap/layout.js";
import { ByteStore } from "../src/memory/store.js";
import { policies } from "../src/policies.js";
import { SharedHeap } from "../src/shared/shared-heap.js";
import { fillPattern, patternWord } from "../src/trace/pattern.js";
import type { Allocator } from "../src/allocator.js";
import { ReferenceModel, rng } from "./support/model.js";

type Backing = ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory;

function bufferOf(backing: Backing): ArrayBuffer | SharedArrayBuffer {
  return backing instanceof WebAssembly.Memory ? backing.buffer : backing;
}

/** Every byte outside [start, end), as it was when made: bytes the buffer gains later (growth) must stay 0. */
class Outside {
  private readonly before: Buffer;
  private readonly after: Buffer;

  constructor(private readonly backing: Backing, private readonly start: number, private readonly end: number) {
    const u8 = new Uint8Array(bufferOf(backing));
    for (let i = 0; i < u8.length; i++) if (i < start || i >= end) u8[i] = (i * 31 + 7) & 255;
    this.before = Buffer.from(u8.slice(0, start));
    this.after = Buffer.from(u8.slice(end));
  }

  assertUnchanged(when: string): void {
    const buffer = bufferOf(this.backing);
    const length = buffer.byteLength;
    assert.ok(Buffer.from(buffer, 0, this.start).equals(this.before), `${when}: a byte below the range's start ${this.start} changed`);
    const tail = length > this.end ? Buffer.from(buffer, this.end, length - this.end) : Buffer.alloc(0);
    assert.ok(tail.subarray(0, this.after.length).equals(this.after.subarray(0, tail.length)), `${when}: a byte at or above the range's end ${this.end} changed`);
    for (let i = this.after.length; i < tail.length; i++) assert.equal(tail[i], 0, `${when}: byte ${this.end + i}, grown beyond the range, was written`);
  }
}

/** Random work on one range heap (or a wrapper of one) beside its model, the outside compared after every step. */
class RangeWork {
  model: ReferenceModel;
  private callocWord = 1 << 20;

  constructor(readonly allocator: Allocator, readonly heap: Heap, readonly start: number, readonly end: number, private readonly r: () => number) {
    this.model = new ReferenceModel(allocator);
  }

  size(): number {
    const p = this.r();
    return Math.floor(p < 0.55 ? this.r() * 257 : p < 0.85 ? 257 + this.r() * 3824 : p < 0.98 ? 4081 + this.r() * 60000 : 262144 + this.r() * 200000);
  }

  step(i: number): void {
    const p = this.r();
    const m = this.model;
    if (p < 0.4 || m.live.size === 0) this.inRange(m.malloc(this.size(), this.r() < 0.1 ? [16, 64, 4096][Math.floor(this.r() * 3)]! : 8));
    else if (p < 0.5) this.calloc();
    else if (p < 0.8) m.free(m.pick(this.r())!);
    else if (p < 0.95) this.inRange(m.realloc(m.pick(this.r())!, this.size()));
    else if (p < 0.99) this.trim();
    else if (this.allocator === this.heap) this.freeAll();
    if (i % 25 === 0) this.checkStats();
  }

  /** calloc's block is zeroed; then the model holds it like any other. */
  private calloc(): void {
    const size = this.size();
    const ptr = this.allocator instanceof Heap ? this.allocator.calloc(1, size) : this.allocator.malloc(size);
    if (ptr === 0) return;
    this.inRange(ptr);
    if (this.allocator instanceof Heap) assert.ok(this.allocator.u8.subarray(ptr, ptr + size).every((b) => b === 0), `calloc(1, ${size}) at ${ptr} is not zeroed`);
    const word = patternWord(this.callocWord++);
    this.model.live.set(ptr, { size, word });
    fillPattern(this.allocator.store, ptr, 0, size, word);
  }

  private trim(): void {
    const length = bufferOf(this.heap.store.handle as Backing).byteLength;
    assert.equal(this.heap.trim(), 0, "a range heap gives nothing back (the buffer is not its own)");
    assert.equal(bufferOf(this.heap.store.handle as Backing).byteLength, length, "trim left the buffer's length alone");
  }

  private freeAll(): void {
    this.heap.freeAll();
    this.model = new ReferenceModel(this.allocator);
  }

  /** A block's offset, relative to the base: base + ptr lies in [base, end). */
  inRange(ptr: number): void {
    const base = this.heap.base;
    if (ptr !== 0) assert.ok(ptr > 0 && base + ptr < this.end, `${ptr} (at ${base + ptr} in the buffer) is outside the range [${this.start}, ${this.end})`);
  }

  checkStats(): void {
    this.model.checkLaws();
    const s = this.heap.stats();
    const base = Math.ceil(this.start / 16) * 16;
    assert.equal(this.heap.base, base, "the base is the start rounded up to 16");
    assert.equal(s.baseOffset, 0, "the walk's spans start at offset 0 of the range (its base)");
    assert.equal(s.reservedBytes, this.end - base, "reserved bytes are the range's from its base");
    assert.ok(s.committedBytes <= s.reservedBytes && s.extentBytes <= s.reservedBytes, "the heap stays in its range");
    assert.equal(this.heap.u8.byteOffset, base, "the views start at the base");
    assert.ok(this.heap.u8.length <= this.end - base, "the views end at the range's end");
  }
}

interface RangeCase {
  name: string;
  make(): { backing: Backing; start: number; end: number };
  debug?: boolean;
}

const CASES: RangeCase[] = [
  { name: "a plain ArrayBuffer, a range in its middle (start 12345, not 8-aligned)", make: () => ({ backing: new ArrayBuffer(6 << 20), start: 12345, end: (5 << 20) + 333 }) },
  { name: "a WebAssembly.Memory, a range after 300,001 bytes of module data, grown by the heap", make: () => ({ backing: new WebAssembly.Memory({ initial: 8, maximum: 160 }), start: 300_001, end: 9 << 20 }) },
  { name: "a growable SharedArrayBuffer, a page-aligned range (the guard's word in the range)", make: () => ({ backing: new SharedArrayBuffer(1 << 20, { maxByteLength: 8 << 20 }), start: 65536, end: (7 << 20) + 4 }) },
  { name: "a DebugHeap over a range heap (its fills stay in the range)", make: () => ({ backing: new ArrayBuffer(5 << 20), start: 4099, end: (4 << 20) + 1 }), debug: true },
];

describe("Heap on a range of a buffer", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const { backing, start, end } = c.make();
      const outside = new Outside(backing, start, end);
      const heap = new Heap({ store: ByteStore.wrap(backing, { start, end }) });
      outside.assertUnchanged("format");
      assert.ok(heap.u8.byteOffset + heap.u8.length <= end, "the heap's views end at the range's end");
      const allocator = c.debug ? new DebugHeap(heap, { quarantineBytes: 30000 }) : heap;
      const work = new RangeWork(allocator, heap, start, end, rng(0x7a4e + start));
      for (let i = 0; i < 900; i++) {
        work.step(i);
        outside.assertUnchanged(`step ${i}`);
      }
      work.model.verifyAll();
      work.checkStats();
      for (const ptr of [...work.model.live.keys()]) work.model.free(ptr);
      allocator.check();
      outside.assertUnchanged("the end");
    });
  }

  test("two heaps in disjoint ranges of one buffer, interleaved: neither touches the other", () => {
    const buffer = new ArrayBuffer(3 << 20);
    const ranges = [[1000, (3 << 19) + 17], [(3 << 19) + 17, (3 << 20) - 9]] as const;
    const outside = new Outside(buffer, ranges[0][0], ranges[1][1]);
    const u8 = new Uint8Array(buffer);
    const r = rng(0xd15c);
    const works = ranges.map(([start, end], k) => {
      const heap = new Heap({ store: ByteStore.wrap(buffer, { start, end }) });
      return new RangeWork(heap, heap, start, end, rng(k + 11));
    });
    for (let i = 0; i < 1200; i++) {
      const k = r() < 0.5 ? 0 : 1;
      const [otherStart, otherEnd] = ranges[1 - k];
      const other = Buffer.from(u8.slice(otherStart, otherEnd));
      works[k]!.step(i);
      assert.ok(Buffer.from(buffer, otherStart, otherEnd - otherStart).equals(other), `step ${i} of heap ${k} changed a byte of the other heap's range`);
      outside.assertUnchanged(`step ${i}`);
    }
    for (const w of works) {
      w.model.verifyAll();
      w.checkStats();
    }
  });
});

describe("typed arrays of a range heap's blocks", () => {
  test("mallocAs, callocAs and view are at base + offset in the buffer, also after a WASM memory grew", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64 });
    const start = 65536 + 3;
    const outside = new Outside(memory, start, 40 << 20);
    const heap = new Heap({ store: ByteStore.wrap(memory, { start, end: 40 << 20 }) });
    assert.equal(heap.base, 65536 + 16);
    const f = heap.mallocAs(Float64Array, 3);
    const p = f.byteOffset - heap.base;
    f.set([1.5, -2, 3.25]);
    assert.deepEqual([...heap.f64.subarray(p / 8, p / 8 + 3)], [1.5, -2, 3.25], "the heap's views see the typed array's elements");
    const generation = heap.generation;
    const big = heap.malloc(3 << 20); // grows the memory: its buffer is replaced
    assert.notEqual(heap.generation, generation);
    assert.equal(heap.u8.byteOffset, heap.base, "views remade after growth start at the base again");
    assert.deepEqual([...new Float64Array(memory.buffer, heap.base + p, 3)], [1.5, -2, 3.25], "WASM-style access: base + offset");
    heap.u8.fill(0xee, big, big + 64);
    const z = heap.callocAs(BigInt64Array, 8);
    assert.ok(z.every((x) => x === 0n) && z.buffer === memory.buffer);
    const v = heap.view(big, Uint32Array, 16);
    assert.equal(v.byteOffset, heap.base + big);
    assert.ok(v.every((x) => x === 0xeeeeeeee), "view(big) shows the bytes written through heap.u8 at big");
    heap.free(p);
    heap.free(z.byteOffset - heap.base);
    heap.free(big);
    heap.check();
    outside.assertUnchanged("typed arrays");
  });
});

describe("Heap.attach of a range heap", () => {
  test("reopens it at its start: its range, blocks and root, on an ArrayBuffer and a WebAssembly.Memory", () => {
    for (const backing of [new ArrayBuffer(3 << 20), new WebAssembly.Memory({ initial: 2, maximum: 64 })] as Backing[]) {
      const start = 70_003;
      const end = 3 << 20;
      const heap = new Heap({ store: ByteStore.wrap(backing, { start, end }) });
      const outside = new Outside(backing, start, end);
      const work = new RangeWork(heap, heap, start, end, rng(5));
      for (let i = 0; i < 300; i++) work.step(i);
      const root = heap.malloc(40);
      heap.root = root;
      const attached = Heap.attach(backing, { start });
      attached.check();
      assert.deepEqual(attached.stats(), heap.stats(), "the attached heap sees the same heap");
      assert.equal(attached.root, root);
      assert.equal(attached.stats().reservedBytes, end - attached.base, "the range's end comes from the control block");
      const q = attached.malloc(5000);
      work.inRange(q);
      attached.free(q);
      attached.free(root);
      attached.check();
      outside.assertUnchanged("attach, malloc and free");
    }
  });

  test("a start that finds no heap, or another range's start, is refused and changes nothing", () => {
    const buffer = new ArrayBuffer(2 << 20);
    const start = 10_001;
    new Heap({ store: ByteStore.wrap(buffer, { start, end: 2 << 20 }) });
    const before = new Uint8Array(buffer).slice();
    assert.throws(() => Heap.attach(buffer), (e) => e instanceof InvalidHeapImageError && e.field === "magic" && /offset 0/.test(e.message));
    assert.throws(() => Heap.attach(buffer, { start: start + 16 }), (e) => e instanceof InvalidHeapImageError && e.field === "magic" && /10032/.test(e.message));
    Heap.attach(buffer, { start: start + 6 }).check(); // the same base (10016): the same heap
    const store = ByteStore.wrap(buffer, { start, end: 2 << 20 });
    for (const wrong of [(2 << 20) + 16, 10016]) {
      store.u32[Word.RANGE_END] = wrong;
      assert.throws(() => Heap.attach(buffer, { start }), (e) => e instanceof InvalidHeapImageError && e.field === "range end" && e.message.includes(String(wrong)), `range end ${wrong}`);
    }
    store.u32[Word.RANGE_END] = 4 << 20;
    assert.throws(() => Heap.attach(store), (e) => e instanceof InvalidHeapImageError && e.field === "range end");
    store.u32[Word.RANGE_END] = 2 << 20;
    assert.deepEqual(new Uint8Array(buffer), before, "refused attaches wrote nothing");
    const widened = ByteStore.wrap(buffer, { start, end: 2 << 20 });
    const narrow = new ArrayBuffer(4 << 20);
    new Heap({ store: ByteStore.wrap(narrow, { start: 64, end: 1 << 20 }) });
    new Uint32Array(narrow, 64)[Word.RANGE_END] = 4 << 20; // wider than its page map covers
    assert.throws(() => Heap.attach(narrow, { start: 64 }), (e) => e instanceof InvalidHeapImageError && e.field === "range end" && /page map/.test(e.message));
    assert.throws(() => Heap.attach(widened, { start: 8 }), InvalidRangeError);
  });

  test("an older layout names both versions", () => {
    const buffer = new ArrayBuffer(1 << 20);
    const store = ByteStore.wrap(buffer, { start: 4097, end: 1 << 20 });
    new Heap({ store });
    store.u32[Word.VERSION] = Layout.VERSION - 1;
    assert.throws(() => Heap.attach(buffer, { start: 4097 }), (e) => e instanceof InvalidHeapImageError && e.field === "version"
      && e.message.includes(`version ${Layout.VERSION - 1}`) && e.message.includes(`version ${Layout.VERSION}`));
  });
});

describe("bad ranges", () => {
  test("NaN, negative, fractional, end <= start and beyond the buffer are InvalidRangeError naming the value", () => {
    const buffer = new ArrayBuffer(1 << 20);
    const bad: [number | undefined, number | undefined, RegExp][] = [
      [NaN, undefined, /NaN/], [-1, undefined, /-1/], [1.5, undefined, /1\.5/], [0, 0, /bound 0/], [5000, 4000, /4000/],
      [0, (1 << 20) + 1, /1048577/], [1 << 20, undefined, /1048576/], [0, Infinity, /Infinity/], [undefined, NaN, /NaN/],
    ];
    for (const [start, end, names] of bad) {
      assert.throws(() => ByteStore.wrap(buffer, { start, end }), (e) => e instanceof InvalidRangeError && names.test(e.message), `start ${start}, end ${end}`);
    }
    assert.throws(() => ByteStore.wrap(new WebAssembly.Memory({ initial: 1 }), { start: 2 ** 32 }), InvalidRangeError);
    assert.ok(new Uint8Array(buffer).every((b) => b === 0), "nothing was written");
  });

  test("a range too small for the control block is InvalidStoreError naming it, and nothing is written", () => {
    const buffer = new ArrayBuffer(1 << 20);
    const u8 = new Uint8Array(buffer).fill(0xa5);
    assert.throws(() => new Heap({ store: ByteStore.wrap(buffer, { start: 1000, end: 4000 }) }), (e) => e instanceof InvalidStoreError && /\[1000, 4000\)/.test(e.message) && /has 2992\b/.test(e.message));
    assert.ok(u8.every((b) => b === 0xa5), "a refused range keeps its bytes");
  });

  test("the other policies and SharedHeap refuse a range store", () => {
    const store = ByteStore.wrap(new ArrayBuffer(1 << 20), { start: 4096 });
    for (const name of ["pool", "buddy", "first-fit", "arena"] as const) {
      assert.throws(() => policies[name].create({ store } as never), InvalidStoreError, name);
    }
    const shared = ByteStore.wrap(new SharedArrayBuffer(1 << 20, { maxByteLength: 4 << 20 }), { start: 4096 });
    assert.throws(() => new SharedHeap({ store: shared }), (e) => e instanceof InvalidStoreError && /range/.test(e.message));
  });

  test("malloc past the range's end returns 0 and changes nothing outside it", () => {
    const buffer = new ArrayBuffer(2 << 20);
    const start = 8;
    const end = 1 << 20;
    const outside = new Outside(buffer, start, end);
    const heap = new Heap({ store: ByteStore.wrap(buffer, { start, end }) });
    const blocks: number[] = [];
    for (let p = heap.malloc(100_000); p !== 0; p = heap.malloc(100_000)) blocks.push(p);
    assert.ok(blocks.length >= 8 && blocks.every((p) => heap.base + p + 100_000 <= end), `${blocks.length} blocks, all in the range`);
    assert.equal(heap.malloc(900_000), 0);
    for (let p = heap.malloc(3000); p !== 0; p = heap.malloc(3000)) blocks.push(p);
    for (let p = heap.malloc(24); p !== 0; p = heap.malloc(24)) blocks.push(p);
    heap.check();
    outside.assertUnchanged("a full range");
    for (const p of blocks) heap.free(p);
    heap.check();
    assert.throws(() => heap.free(end - heap.base + 8), /outside the heap's blocks/);
    outside.assertUnchanged("frees");
  });
});

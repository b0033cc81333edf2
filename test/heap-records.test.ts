/**
 * What people who hold binary records use: the heap's views of every element type, mallocAs
 * and callocAs, UTF-8 strings, freeAll, and what views do after
 * growth and trim on each store kind (decision 3 of ../shared/notes/decisions.md).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DoubleFreeError, Heap, InvalidFreeError, InvalidSizeError, type StoreKind } from "../src/index.js";
import { rng } from "./support/model.js";

const TYPES = [Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;
const VIEW_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64", "i64", "u64"] as const;

describe("Heap: views of every element type", () => {
  it("each view spans the store and aliases the same bytes", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const p = heap.mallocOrThrow(64);
    heap.f64[p / 8] = -2.5;
    const bytes = heap.u8.slice(p, p + 8);
    for (const [i, name] of VIEW_NAMES.entries()) {
      const view = heap[name];
      assert.ok(view instanceof TYPES[i]!, name);
      assert.equal(view.byteLength, heap.store.buffer.byteLength, `${name} spans the store's buffer`);
    }
    assert.deepEqual(new Uint8Array(heap.f32.buffer, p, 8), bytes);
    heap.i64[p / 8 + 1] = -5n;
    assert.equal(heap.u64[p / 8 + 1], 2n ** 64n - 5n);
    assert.equal(heap.i16[(p + 8) / 2], -5);
  });

  it("stay the same views when the default store grows (and its generation stays)", () => {
    const heap = new Heap({ maxBytes: 2 ** 26 });
    const before = heap.generation;
    const old = heap.f64;
    const p = heap.mallocOrThrow(8 << 20);
    assert.equal(heap.generation, before);
    assert.equal(heap.f64, old, "growth commits within the same buffer");
    heap.f64[p / 8 + (1 << 20) - 1] = 7;
    assert.equal(heap.view(p, Float64Array)[(1 << 20) - 1], 7);
  });
});

describe("Heap: mallocAs and callocAs", () => {
  it("give a typed array of each element type over a block that free takes back", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    for (const [t, Type] of TYPES.entries()) {
      for (const count of [0, 1, 3, 100, 1000]) {
        const array = heap.mallocAs(Type, count);
        assert.ok(array instanceof Type);
        assert.equal(array.length, count);
        assert.equal(array.byteOffset % 8, 0);
        assert.ok(heap.usableSize(array.byteOffset) >= count * Type.BYTES_PER_ELEMENT);
        if (count > 0) {
          const three = (typeof array[0] === "bigint" ? 3n : 3) as never;
          (array as Uint8Array)[count - 1] = three;
          assert.equal(heap[VIEW_NAMES[t]!][array.byteOffset / Type.BYTES_PER_ELEMENT + count - 1], three, Type.name);
        }
        heap.free(array.byteOffset);
      }
    }
    heap.check();
    assert.equal(heap.stats().liveBlocks, 0);
  });

  it("callocAs zeroes what a freed block left", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    for (const size of [24, 600, 9000]) {
      const dirty = heap.mallocOrThrow(size);
      heap.u8.fill(0xab, dirty, dirty + size);
      heap.free(dirty);
      const clean = heap.callocAs(Float64Array, size / 8);
      assert.equal(clean.byteOffset, dirty, "the same block, reused");
      assert.ok(clean.every((x) => x === 0));
      heap.free(clean.byteOffset);
    }
    const big = heap.callocAs(BigInt64Array, 5);
    assert.deepEqual([...big], [0n, 0n, 0n, 0n, 0n]);
  });

  it("refuse a bad count with a typed error, changing nothing", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    for (const count of [-1, 1.5, NaN, 2 ** 40]) assert.throws(() => heap.mallocAs(Float64Array, count), InvalidSizeError, String(count));
    heap.check();
    assert.equal(heap.stats().mallocCount, 0);
  });
});

describe("Heap: UTF-8 strings", () => {
  const samples = ["", "a", "heapkit", "grüße", "日本語のテキスト", "emoji 🎉 and 𝄞", "x".repeat(5000), "lone \ud800 surrogate"];

  for (const kind of ["reserved", "shared"] as StoreKind[]) {
    it(`${kind}: allocString then readString gives the string back, NUL-terminated`, () => {
      const heap = new Heap({ kind, maxBytes: 2 ** 24 });
      for (const s of samples) {
        const p = heap.allocString(s);
        const encoded = new TextEncoder().encode(s);
        assert.equal(heap.requestedSize(p), encoded.length + 1);
        assert.deepEqual(heap.u8.slice(p, p + encoded.length), encoded);
        assert.equal(heap.u8[p + encoded.length], 0);
        assert.equal(heap.readString(p), new TextDecoder().decode(encoded));
        assert.equal(heap.readString(p, encoded.length), new TextDecoder().decode(encoded));
        heap.free(p);
      }
      heap.check();
    });
  }

  it("random strings round-trip, and readString stops at a 0 byte or at the block's end", () => {
    const heap = new Heap({ maxBytes: 2 ** 24 });
    const random = rng(11);
    for (let i = 0; i < 300; i++) {
      const s = String.fromCodePoint(...Array.from({ length: Math.floor(random() * 40) }, () => 1 + Math.floor(random() * 0x10ffff) % 0xd7ff));
      const p = heap.allocString(s);
      assert.equal(heap.readString(p), s);
      heap.free(p);
    }
    const p = heap.mallocOrThrow(5);
    heap.u8.set([104, 105, 0, 106, 107], p);
    assert.equal(heap.readString(p), "hi");
    heap.u8[p + 2] = 33;
    assert.equal(heap.readString(p), "hi!jk", "no 0 byte: the requested bytes");
    assert.throws(() => heap.readString(p, 6), InvalidSizeError);
    assert.throws(() => heap.readString(p + 8), InvalidFreeError);
  });
});

describe("Heap: freeAll", () => {
  for (const kind of ["reserved", "resizable", "shared", "wasm"] as StoreKind[]) {
    it(`${kind}: frees every block; the heap works as new and refuses the old offsets`, () => {
      const heap = new Heap({ kind, maxBytes: 2 ** 26 });
      const random = rng(5);
      const ptrs = Array.from({ length: 3000 }, () => heap.mallocOrThrow(Math.floor(random() * 20000)));
      heap.freeAll();
      heap.check();
      const stats = heap.stats();
      assert.equal(stats.liveBlocks, 0);
      assert.equal(stats.liveBytes, 0);
      assert.equal(stats.extentBytes, heap.stats().extentBytes);
      assert.throws(() => heap.free(ptrs[2999]!), (e: Error) => e instanceof InvalidFreeError || e instanceof DoubleFreeError);
      const again = Array.from({ length: 500 }, () => heap.mallocOrThrow(Math.floor(random() * 20000)));
      for (const p of again) heap.free(p);
      heap.check();
      assert.equal(Heap.attach(heap.store).stats().liveBlocks, 0, "an attach reads the freed heap");
    });
  }
});

describe("the default store of new Heap()", () => {
  it("is a reserved plain ArrayBuffer that commits as it grows and gives memory back on trim", () => {
    const heap = new Heap();
    assert.equal(heap.store.kind, "reserved");
    assert.ok(heap.store.buffer instanceof ArrayBuffer && !heap.store.buffer.resizable);
    assert.equal(heap.store.buffer.byteLength, heap.store.reservedBytes);
    const p = heap.mallocOrThrow(20 << 20);
    heap.u32[p / 4] = 0xfeed;
    const q = heap.mallocOrThrow(100);
    assert.equal(heap.u32[p / 4], 0xfeed);
    const committed = heap.stats().committedBytes;
    assert.ok(committed >= 20 << 20 && committed < 24 << 20, `committed ${committed}: what the heap reaches, not the reservation`);
    heap.free(p);
    heap.free(q);
    assert.ok(heap.trim() > 0);
    assert.ok(heap.stats().committedBytes < committed);
    heap.check();
    heap.free(heap.mallocOrThrow(1000));
  });

  it("after growth, a view from view() stays valid on the default, resizable and shared stores and is detached on wasm", () => {
    const results: Record<string, number> = {};
    const remade: Record<string, boolean> = {};
    for (const kind of ["reserved", "resizable", "shared", "wasm"] as StoreKind[]) {
      const heap = new Heap({ kind, maxBytes: 2 ** 26 });
      const p = heap.mallocOrThrow(80);
      const view = heap.view(p, Float64Array);
      const generation = heap.generation;
      heap.mallocOrThrow(8 << 20);
      results[kind] = view.length;
      remade[kind] = heap.generation !== generation;
    }
    assert.deepEqual(results, { reserved: 10, resizable: 10, shared: 10, wasm: 0 });
    assert.deepEqual(remade, { reserved: false, resizable: true, shared: true, wasm: true }, "generation changes exactly when views are remade");
  });
});

/**
 * The default store of `new Heap()` ("reserved", src/memory/store.ts) against decisions 1 and 3
 * of ../shared/notes/decisions.md: growth never invalidates a view from view() or mallocAs (same
 * length, same bytes, same generation); trim gives memory back (committedBytes drops, RSS drops
 * in a child process where /proc says so), detaches old views and changes generation; a failed
 * growth changes nothing; an engine that refuses the reservation gets a resizable store.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { ByteStore, Heap } from "../src/index.js";
import { rng } from "./support/model.js";

/** Live blocks and views of them, each filled with a pattern of its own. */
interface Held {
  view: Float64Array;
  seed: number;
}

function fill(view: Float64Array, seed: number): void {
  for (let i = 0; i < view.length; i++) view[i] = seed * 1000 + i;
}

function holdsPattern(view: Float64Array, seed: number): boolean {
  for (let i = 0; i < view.length; i++) if (view[i] !== seed * 1000 + i) return false;
  return true;
}

describe("the reserved store: views across growth", () => {
  it("views from view() and mallocAs keep their length and bytes while random work grows the heap", () => {
    const heap = new Heap({ maxBytes: 2 ** 27 });
    const random = rng(14);
    const generation = heap.generation;
    const held: Held[] = [];
    let committed = heap.store.committedBytes;
    let growths = 0;
    for (let op = 0; op < 1500; op++) {
      if (held.length > 0 && random() < 0.3) {
        const [gone] = held.splice(Math.floor(random() * held.length), 1);
        assert.ok(holdsPattern(gone!.view, gone!.seed), `op ${op}: a block's bytes before its free`);
        heap.free(gone!.view.byteOffset);
        continue;
      }
      const count = 1 + Math.floor(random() ** 3 * 20000);
      const view = random() < 0.5 ? heap.mallocAs(Float64Array, count) : heap.view(heap.mallocOrThrow(count * 8), Float64Array, count);
      fill(view, op);
      held.push({ view, seed: op });
      if (heap.store.committedBytes > committed) growths++;
      committed = heap.store.committedBytes;
    }
    assert.ok(growths >= 10, `the heap grew ${growths} times`);
    assert.equal(heap.generation, generation, "growth does not remake the views");
    for (const { view, seed } of held) {
      assert.ok(view.length > 0 && holdsPattern(view, seed), "every view made before the growth still reads its block");
      assert.deepEqual(new Float64Array(heap.u8.slice(view.byteOffset, view.byteOffset + view.byteLength).buffer), view);
    }
    heap.check();
  });

  it("a malloc that fails at the reservation changes neither the views nor committedBytes", () => {
    const heap = new Heap({ maxBytes: 2 ** 22 });
    const generation = heap.generation;
    const u8 = heap.u8;
    const ptrs: number[] = [];
    for (;;) {
      const before = heap.store.committedBytes;
      const p = heap.malloc(3000);
      if (p === 0) {
        assert.equal(heap.store.committedBytes, before, "a failed malloc took back what it committed");
        break;
      }
      ptrs.push(p);
    }
    assert.equal(heap.generation, generation);
    assert.equal(heap.u8, u8);
    heap.check();
    for (const p of ptrs) heap.free(p);
    heap.check();
  });
});

describe("the reserved store: trim", () => {
  it("drops committedBytes, detaches old views, changes generation and keeps every live byte", () => {
    const heap = new Heap({ maxBytes: 2 ** 27 });
    const keep = heap.mallocAs(Float64Array, 1000);
    const ptr = keep.byteOffset;
    fill(keep, 7);
    const big = heap.mallocAs(Float64Array, (16 << 20) / 8);
    big.fill(1);
    heap.free(big.byteOffset);
    const committed = heap.store.committedBytes;
    const generation = heap.generation;
    const released = heap.trim();
    assert.ok(released >= 15 << 20, `released ${released}`);
    assert.equal(heap.store.committedBytes, committed - released);
    assert.notEqual(heap.generation, generation, "views must be remade: generation says so");
    assert.equal(keep.length, 0, "a view made before the trim is detached, not silently stale");
    const again = heap.view(ptr, Float64Array, 1000);
    assert.ok(holdsPattern(again, 7), "the bytes below the top moved to the new buffer");
    assert.equal(heap.store.buffer.byteLength, heap.store.reservedBytes, "the new buffer is a whole reservation again");
    heap.check();
    const after = heap.generation;
    assert.equal(heap.trim(), 0, "nothing more to give back");
    assert.equal(heap.generation, after, "a trim that releases nothing leaves the views alone");
    const grown = heap.mallocAs(Float64Array, (8 << 20) / 8);
    assert.equal(heap.generation, after, "growth after a trim commits in the new buffer");
    heap.free(grown.byteOffset);
    heap.free(ptr);
    heap.check();
  });

  it("gives the pages back to the operating system (RSS of a child process)", { skip: !existsSync("/proc/self/status") }, () => {
    const index = new URL("../src/index.js", import.meta.url).href;
    const script = `
      import { readFileSync } from "node:fs";
      import { Heap } from ${JSON.stringify(index)};
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
      const start = rss();
      const heap = new Heap();
      const reserved = rss();
      const p = heap.mallocOrThrow(64 << 20);
      heap.u8.fill(1, p, p + (64 << 20));
      const touched = rss();
      heap.free(p);
      heap.trim();
      if (typeof ArrayBuffer.prototype.transfer !== "function") {
        // Without transfer, the detached memory is freed after the next collection, by a sweeper.
        globalThis.gc();
        await new Promise((done) => setTimeout(done, 500));
      }
      console.log(JSON.stringify({ start, reserved, touched, trimmed: rss() }));`;
    const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { encoding: "utf8" });
    const { start, reserved, touched, trimmed } = JSON.parse(out) as Record<string, number>;
    const MiB = 1 << 20;
    assert.ok(reserved - start < 8 * MiB, `reserving 1 GiB cost ${(reserved - start) / MiB} MiB of RSS`);
    assert.ok(touched - reserved > 60 * MiB, `writing 64 MiB added ${(touched - reserved) / MiB} MiB`);
    assert.ok(touched - trimmed > 56 * MiB, `trim gave back ${(touched - trimmed) / MiB} MiB`);
  });
});

describe("the reserved store: an engine that refuses the reservation", () => {
  it("gets a resizable store instead, and the heap works on it", () => {
    const Original = globalThis.ArrayBuffer;
    const Refusing = function (this: unknown, bytes: number, options?: { maxByteLength: number }) {
      if (options === undefined && bytes > 2 ** 20) throw new RangeError("Array buffer allocation failed");
      return new Original(bytes, options);
    } as unknown as ArrayBufferConstructor;
    Object.defineProperty(Refusing, "prototype", { value: Original.prototype });
    globalThis.ArrayBuffer = Refusing;
    let store: ByteStore;
    try {
      store = ByteStore.create({ kind: "reserved", maxBytes: 2 ** 24 });
    } finally {
      globalThis.ArrayBuffer = Original;
    }
    assert.equal(store.kind, "resizable");
    assert.equal(store.reservedBytes, 2 ** 24);
    const heap = new Heap({ store });
    heap.free(heap.mallocOrThrow(4 << 20));
    heap.check();
  });
});

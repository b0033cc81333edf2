/**
 * A heap on a (non-shared) WASM memory that its module grows between two calls: the heap's views
 * are detached (length 0, every read undefined), and its next call must read the heap again. In
 * a file of its own: see the note in the test.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/heap/heap.js";
import { ByteStore } from "../src/memory/store.js";

describe("Heap: a WASM memory its module grows", () => {
  it("a small malloc after the views were detached reads the heap again (the magic stays)", () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64 });
    const heap = new Heap({ store: ByteStore.wrap(memory), concurrencyGuard: false });
    const kept = [heap.mallocOrThrow(24), heap.mallocOrThrow(100)];
    const magic = new Uint32Array(memory.buffer)[0];
    memory.grow(1); // the module's own growth: the heap's views are detached
    kept.push(heap.mallocOrThrow(24));
    assert.equal(new Uint32Array(memory.buffer)[0], magic);
    heap.check();
    const stats = heap.stats();
    assert.equal(stats.liveBlocks, 3);
    assert.equal(stats.mallocCount, 3);
    // Alone in its process: on Node 20 and 22, TurboFan code of Heap.free that has also run on
    // views of resizable buffers reads a detached view's old length (the report of task sheap2).
    memory.grow(1);
    for (const p of kept) heap.free(p);
    heap.check();
    assert.equal(heap.stats().liveBlocks, 0);
  });
});

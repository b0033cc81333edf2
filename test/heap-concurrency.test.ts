/**
 * Two Workers calling one Heap on a shared store at once: the concurrent-use guard refuses the
 * colliding calls with ConcurrentUseError, nothing else goes wrong, no block is handed out twice,
 * and check() passes afterwards. `concurrencyGuard: false` turns the guard off; on an unshared
 * store the Heap's methods are the prototype's own (the guard costs nothing there).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { ConcurrentUseError } from "../src/errors.js";
import { IN_USE_WORD } from "../src/heap/guard.js";
import { Heap } from "../src/heap/heap.js";
import type { HammerJob, HammerResult } from "./support/hammer-worker.js";

function runAgent(job: HammerJob): Promise<HammerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./support/hammer-worker.js", import.meta.url), { workerData: job });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

describe("Heap: the concurrent-use guard", () => {
  test("two Workers hammering one shared heap: collisions refused, nothing else wrong", { timeout: 120_000 }, async () => {
    let collisions = 0;
    for (let round = 0; round < 4 && collisions === 0; round++) {
      const heap = new Heap({ kind: "shared", initialBytes: 1 << 20, maxBytes: 64 << 20 });
      const buffer = heap.store.u8.buffer as SharedArrayBuffer;
      const results = await Promise.all([0, 1].map((agent) => runAgent({ buffer, agent, ops: 60_000 })));
      for (const r of results) {
        assert.deepEqual(r.problems, []);
        assert.ok(r.done > 0);
        collisions += r.collisions;
      }
      heap.check();
      assert.equal(heap.stats().liveBlocks, 0);
      assert.equal(heap.store.i32[IN_USE_WORD], 0, "the in-use word is free again");
    }
    assert.ok(collisions > 0, "the agents collided at least once in four rounds");
  });

  test("a call while another agent is inside is refused and changes nothing", () => {
    const heap = new Heap({ kind: "shared" });
    const p = heap.malloc(100);
    const bytes = heap.store.u8.slice();
    Atomics.store(heap.store.i32, IN_USE_WORD, 1); // as another agent inside a call would
    assert.throws(() => heap.malloc(10), ConcurrentUseError);
    assert.throws(() => heap.free(p), (e: unknown) => e instanceof ConcurrentUseError && /a SharedHeap for many agents is planned/.test(e.message));
    Atomics.store(heap.store.i32, IN_USE_WORD, 0);
    const after = heap.store.u8.slice();
    after[IN_USE_WORD * 4] = bytes[IN_USE_WORD * 4]!;
    assert.ok(Buffer.from(after).equals(Buffer.from(bytes)));
    heap.free(heap.realloc(p, 5000)); // realloc's own malloc and free nest
    heap.check();
  });

  test("concurrencyGuard: false, and unshared stores, keep the prototype's methods", () => {
    const off = new Heap({ kind: "shared", concurrencyGuard: false });
    Atomics.store(off.store.i32, IN_USE_WORD, 1);
    off.free(off.malloc(10));
    assert.equal(Object.hasOwn(off, "malloc"), false);
    for (const kind of ["array-buffer", "resizable", "wasm"] as const) {
      assert.equal(Object.hasOwn(new Heap({ kind }), "malloc"), false, kind);
    }
    assert.equal(Object.hasOwn(new Heap({ kind: "shared" }), "malloc"), true);
  });
});

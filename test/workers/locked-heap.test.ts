/**
 * Two plain Heaps, one per Worker, on one shared store, taking turns (the shared-heap bench's
 * global-lock baseline, with short turns): each frees the other's blocks and needs slabs while
 * the other has made slabs beyond this instance's views. Each instance must notice what the
 * other changed. Afterwards check() passes and the live blocks are those left in the slot array.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { Heap } from "../../src/heap/heap.js";
import { ByteStore } from "../../src/memory/store.js";
import type { LockedAgentJob } from "./locked-heap-agent.js";

const AGENT = new URL("./locked-heap-agent.js", import.meta.url);

/** Runs one Worker per id; if one fails, the others are stopped too (they would wait for its turn). */
async function runAll(job: Omit<LockedAgentJob, "id">): Promise<void> {
  const pool = Array.from({ length: job.workers }, (_, id) => new Worker(AGENT, { workerData: { ...job, id } satisfies LockedAgentJob }));
  try {
    await Promise.all(pool.map((worker) => new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    })));
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

describe("two Heap instances in two Workers, taking turns", () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: cross-Worker frees keep the heap whole`, async () => {
      const heap = new Heap({ store: ByteStore.create({ kind: "shared", maxBytes: 64 << 20 }), concurrencyGuard: false });
      const workers = 2;
      const slots = 2000;
      const control = new SharedArrayBuffer((8 + slots) * 4);
      const base = { handle: heap.store.handle as SharedArrayBuffer, control, workers, ops: 30_000, slots, seed };
      await runAll(base);
      heap.check();
      const held = new Int32Array(control, 8 * 4).filter((p) => p !== 0);
      assert.equal(heap.stats().liveBlocks, held.length);
      for (const p of held) heap.free(p);
      heap.check();
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }
});

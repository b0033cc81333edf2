/**
 * SharedHeap under real Workers (`npm run test:workers`, not in `npm test`): 2 to 8 Workers on one heap doing random
 * work with cross-Worker frees, Workers that detach and attach again while others run, and a
 * Worker terminated mid-run that another thread recovers. After each, check() passes, live bytes
 * equal what the Workers say they hold, and no block was ever held by two (a shared bitmap).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { SharedHeap } from "../../src/shared/shared-heap.js";
import { RING_SLOTS, type WorkerJob } from "../support/shared-heap-job.js";

const WORKER = new URL("../support/shared-heap-worker.js", import.meta.url);
const STORE_BYTES = 256 << 20;

interface Run {
  heap: SharedHeap;
  rings: SharedArrayBuffer;
  owners: SharedArrayBuffer;
  workers: number;
}

function newRun(workers: number): Run {
  return {
    heap: new SharedHeap({ maxBytes: STORE_BYTES }),
    rings: new SharedArrayBuffer(workers * workers * (RING_SLOTS + 2) * 4),
    owners: new SharedArrayBuffer(STORE_BYTES / 16 / 8),
    workers,
  };
}

function start(run: Run, id: number, job: Partial<WorkerJob>): { worker: Worker; attached: Promise<number>; done: Promise<Array<[number, number]>> } {
  const worker = new Worker(WORKER, {
    workerData: { handle: run.heap.store.handle, rings: run.rings, owners: run.owners, id, workers: run.workers, ops: 20000, seed: id + 1, reattachEvery: 0, forever: false, smallLiveCap: 0, ...job },
  });
  let attached!: (id: number) => void;
  const attachedP = new Promise<number>((resolve) => (attached = resolve));
  const done = new Promise<Array<[number, number]>>((resolve, reject) => {
    worker.on("message", (m: { kind: string; threadId: number; live: Array<[number, number]> }) => (m.kind === "attached" ? attached(m.threadId) : resolve(m.live)));
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`worker ${id} exited with ${code}`))));
  });
  return { worker, attached: attachedP, done };
}

/**
 * Frees the blocks still in the rings (sent, never received) and returns their count. The rings
 * into a terminated Worker are left alone: it may have freed a block and died before moving its
 * ring's head past it (those blocks stay live, as any block a dead thread held).
 */
function drainRings(run: Run, terminated = -1): number {
  const rings = new Int32Array(run.rings);
  let n = 0;
  for (let r = 0; r < run.workers * run.workers; r++) {
    if (r % run.workers === terminated) continue;
    const base = r * (RING_SLOTS + 2);
    for (let head = rings[base + RING_SLOTS]!; head < rings[base + RING_SLOTS + 1]!; head++) {
      run.heap.free(rings[base + (head % RING_SLOTS)]!);
      n++;
    }
  }
  return n;
}

async function runWorkers(workers: number, job: Partial<WorkerJob> = {}): Promise<void> {
  const run = newRun(workers);
  const started = Array.from({ length: workers }, (_, id) => start(run, id, job));
  const held = (await Promise.all(started.map((s) => s.done))).flat();
  run.heap.check();
  const inFlight = drainRings(run);
  const stats = run.heap.stats();
  assert.equal(stats.liveBlocks, held.length, `live blocks: the Workers hold ${held.length} (${inFlight} were in flight)`);
  assert.equal(stats.liveBytes, held.reduce((sum, [, size]) => sum + size, 0));
  for (const [ptr] of held) run.heap.free(ptr);
  run.heap.check();
  assert.equal(run.heap.stats().liveBlocks, 0);
}

describe("SharedHeap with Workers", () => {
  for (const workers of [2, 4, 8]) {
    it(`${workers} Workers: random work with cross-Worker frees, nothing lost or shared`, async () => {
      await runWorkers(workers, { ops: 40000 / workers });
    });
  }

  it("Workers that detach and attach again while others run", async () => {
    await runWorkers(3, { ops: 12000, reattachEvery: 1500 });
  });

  it("a Worker terminated mid-run is recovered by another thread", async () => {
    const run = newRun(2);
    const victim = start(run, 0, { forever: true, smallLiveCap: 1000 });
    victim.done.catch(() => undefined); // it is terminated: exit code 1 is expected
    const steady = start(run, 1, { ops: 20000 });
    const victimThread = await victim.attached;
    await new Promise((resolve) => setTimeout(resolve, 150));
    await victim.worker.terminate();
    await steady.done;
    run.heap.recover(victimThread);
    run.heap.check();
    drainRings(run, 0);
    run.heap.check();
  });
});

/**
 * One Worker of test/workers/locked-heap.test.ts: its own `Heap.attach` of a shared heap (guard
 * off). The Workers take turns (a turn word stands for a lock of the caller's, and makes the
 * turns short: a few calls each, as a busy lock hands over): in its turn a Worker replaces random
 * slots of one shared slot array, freeing whatever block is there, its own or the other's.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap/heap.js";
import { rng } from "../../src/util/random.js";

export interface LockedAgentJob {
  handle: SharedArrayBuffer;
  /** [0] whose turn, [1] Workers done; the slot array from word 8. */
  control: SharedArrayBuffer;
  id: number;
  workers: number;
  ops: number;
  slots: number;
  seed: number;
}

const job = workerData as LockedAgentJob;
const control = new Int32Array(job.control);
const random = rng(job.seed * 31 + job.id);

/** Waits for this Worker's turn (or for the others to be done). */
function awaitTurn(): void {
  for (let turn = Atomics.load(control, 0); turn !== job.id && Atomics.load(control, 1) < job.workers - 1; turn = Atomics.load(control, 0)) {
    Atomics.wait(control, 0, turn, 5);
  }
}

function passTurn(): void {
  Atomics.store(control, 0, (job.id + 1) % job.workers);
  Atomics.notify(control, 0);
}

awaitTurn();
const heap = Heap.attach(job.handle, { concurrencyGuard: false });
for (let done = 0; done < job.ops; ) {
  for (let run = 1 + Math.floor(random() * 16); run > 0 && done < job.ops; run--, done++) {
    const k = 8 + Math.floor(random() * job.slots);
    if (control[k] !== 0) heap.free(control[k]!);
    control[k] = heap.malloc(16 + Math.floor(random() * 241));
  }
  passTurn();
  awaitTurn();
}
Atomics.add(control, 1, 1);
passTurn();
parentPort!.postMessage("done");

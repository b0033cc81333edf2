/**
 * One of the agents of the concurrent-use test (heap-concurrency.test.ts): attaches the shared
 * heap and mallocs, fills, verifies and frees blocks as fast as it can. A ConcurrentUseError is
 * counted (the call was refused, so it is retried later); any other error, or a block whose bytes
 * another agent changed (a block handed out twice), is reported.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { ConcurrentUseError } from "../../src/errors.js";
import { Heap } from "../../src/heap/heap.js";
import { rng } from "./model.js";

export interface HammerJob { buffer: SharedArrayBuffer; agent: number; ops: number }
export interface HammerResult { collisions: number; done: number; problems: string[] }

// Run as a Worker only (a test runner given the whole folder loads this file as a test too).
if (!isMainThread) hammer();

function hammer(): void {
  const job = workerData as HammerJob;
  const heap = Heap.attach(job.buffer);
  const r = rng(job.agent * 7717);
  const live: { ptr: number; size: number; mark: number }[] = [];
  const result: HammerResult = { collisions: 0, done: 0, problems: [] };

  function step(): void {
    if (live.length < 64 && (live.length === 0 || r() < 0.55)) {
      const size = 8 + Math.floor(r() * 3000);
      const ptr = heap.malloc(size);
      if (ptr === 0) return;
      const mark = (job.agent * 64 + (result.done % 61)) & 0xff;
      heap.u8.fill(mark, ptr, ptr + size);
      live.push({ ptr, size, mark });
    } else {
      const i = Math.floor(r() * live.length);
      const block = live[i]!;
      const u8 = heap.u8;
      for (let k = block.ptr; k < block.ptr + block.size; k++) {
        if (u8[k] !== block.mark) {
          result.problems.push(`block ${block.ptr} (${block.size} bytes) was changed by another agent at byte ${k}: handed out twice`);
          break;
        }
      }
      heap.free(block.ptr);
      live.splice(i, 1);
    }
  }

  for (let n = 0; n < job.ops && result.problems.length < 5; n++) {
    try {
      step();
      result.done++;
    } catch (error) {
      if (error instanceof ConcurrentUseError) result.collisions++;
      else result.problems.push(String((error as Error).stack ?? error));
    }
  }
  // Give every block back, retrying refused calls.
  while (live.length > 0) {
    try {
      heap.free(live[live.length - 1]!.ptr);
      live.pop();
    } catch (error) {
      if (!(error instanceof ConcurrentUseError)) { result.problems.push(String(error)); break; }
    }
  }
  parentPort!.postMessage(result);
}

/**
 * A second agent of a shared heap, run as a worker_threads Worker by test/heap-agents.test.ts:
 * it attaches the heap it is sent, answers "malloc" with the blocks it allocated (growing the
 * store) and "check" by checking the heap. Imported any other way it does nothing.
 */
import { parentPort } from "node:worker_threads";
import { Heap } from "../../src/heap/heap.js";

export interface AgentRequest {
  op: "attach" | "malloc" | "check";
  handle?: SharedArrayBuffer | WebAssembly.Memory;
  sizes?: number[];
}

export interface AgentReply {
  ok: boolean;
  ptrs?: number[];
  committedBytes?: number;
  error?: string;
}

let heap: Heap | undefined;

function answer(request: AgentRequest): AgentReply {
  if (request.op === "attach") heap = Heap.attach(request.handle!);
  if (heap === undefined) return { ok: false, error: "not attached" };
  const ptrs = request.op === "malloc" ? request.sizes!.map((size) => heap!.mallocOrThrow(size)) : undefined;
  if (request.op === "check") heap.check();
  return { ok: true, ptrs, committedBytes: heap.store.committedBytes };
}

parentPort?.on("message", (request: AgentRequest) => {
  try {
    parentPort!.postMessage(answer(request));
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: String(e) });
  }
});

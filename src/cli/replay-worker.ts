/**
 * A worker thread of the replay pool (replay-pool.ts): replays one (trace, policy) job per
 * message and posts the result back. Traces arrive once per worker and are kept by index.
 */
import { parentPort } from "node:worker_threads";
import { replayTrace } from "../trace/replay.js";
import type { Trace } from "../trace/trace.js";
import type { JobMessage, JobReply } from "./replay-pool.js";
import { replayablePolicy } from "./policy-list.js";

const traces = new Map<number, Trace>();

parentPort!.on("message", (message: JobMessage) => {
  if (message.trace !== undefined) traces.set(message.traceIndex, message.trace);
  parentPort!.postMessage(runJob(message));
});

function runJob(message: JobMessage): JobReply {
  try {
    const policy = replayablePolicy(message.policy);
    const trace = traces.get(message.traceIndex)!;
    return { result: replayTrace(trace, () => policy.create(), { sampleCount: message.sampleCount, timeLimitMs: message.timeLimitMs }), error: null };
  } catch (error) {
    return { result: null, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/**
 * Replays a recorded trace (or its first `limit` ops) through one allocator on the stepping
 * replayer: every block's pattern written on malloc and verified when it leaves, check() every
 * `checkEvery` ops, then every live block and check() once more where the replay stops, and the
 * allocator's live counts compared with the trace's.
 */
import assert from "node:assert/strict";
import type { Allocator } from "../../src/allocator.js";
import { readTraceFile } from "../../src/trace/reader.js";
import { TraceStepper } from "../../src/trace/stepper.js";
import type { Trace } from "../../src/trace/trace.js";
import { sharedTracePath } from "./traces.js";

export function loadSharedTrace(name: string): Promise<Trace> {
  return readTraceFile(sharedTracePath(name));
}

export function replayChecked(allocator: Allocator, trace: Trace, limit = trace.opCount, checkEvery = 10_000): TraceStepper {
  const stepper = new TraceStepper(trace, () => allocator, { checkEvery, reopen: null });
  stepper.step(limit);
  assert.equal(stepper.failure, null, stepper.failure?.message);
  assert.equal(stepper.opIndex, Math.min(limit, trace.opCount));
  const atStop = stepper.checkAll();
  assert.equal(atStop, null, atStop?.message);
  const stats = allocator.stats();
  assert.equal(stats.liveBlocks, stepper.liveCount, "stats().liveBlocks disagrees with the trace");
  assert.equal(stats.liveBytes, stepper.liveBytes, "stats().liveBytes disagrees with the trace");
  return stepper;
}

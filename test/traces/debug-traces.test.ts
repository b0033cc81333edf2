/**
 * Zero false positives on real programs: the four shared traces replayed through DebugHeap and
 * HardenedHeap over the Heap, and git-log-p over every general-purpose allocator, on the stepping
 * replayer: every block is filled with its own pattern (all of its bytes, up to the red zone),
 * verified before it is freed or resized, and the wrappers' check() runs every CHECK_EVERY ops
 * and at the end. The traces are complete, so the blocks live at the end are the
 * program's own leaks: the leak report must count exactly those.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Allocator } from "../../src/allocator.js";
import { DebugHeap } from "../../src/debug/debug-heap.js";
import { HardenedHeap } from "../../src/debug/hardened-heap.js";
import { Heap } from "../../src/heap/heap.js";
import { readTraceFile } from "../../src/trace/reader.js";
import { TraceStepper } from "../../src/trace/stepper.js";
import type { Trace } from "../../src/trace/trace.js";
import { GENERAL_PURPOSE_ALLOCATORS } from "../support/debug-inners.js";
import { SHARED_TRACE_NAMES, sharedTracePath } from "../support/traces.js";

const CHECK_EVERY = 200_000;

/** Replays `trace` with patterns on the stepping replayer; fails on the first wrapper error or lost byte. */
function replay(trace: Trace, allocator: Allocator): void {
  const stepper = new TraceStepper(trace, () => allocator, { checkEvery: CHECK_EVERY, reopen: null });
  stepper.step(Infinity);
  assert.equal(stepper.failure, null, stepper.failure?.message);
  assert.ok(stepper.done);
}

describe("debug and hardened modes over the Heap: the shared traces, no false positives", () => {
  for (const name of SHARED_TRACE_NAMES) {
    test(`${name}: DebugHeap, then HardenedHeap with delayed reuse`, async () => {
      const trace = await readTraceFile(sharedTracePath(name));

      const debug = new DebugHeap(new Heap());
      replay(trace, debug);
      const leaks = debug.leaks();
      assert.equal(leaks.blocks, trace.finalLiveBlocks);
      assert.equal(leaks.bytes, trace.finalLiveBytes);
      assert.equal(debug.stats().liveBytes, trace.finalLiveBytes);
      debug.flushQuarantine();
      debug.check();

      const hardened = new HardenedHeap(new Heap(), { quarantineBytes: 1 << 20 });
      replay(trace, hardened);
      assert.equal(hardened.stats().liveBlocks, trace.finalLiveBlocks);
      assert.equal(hardened.stats().liveBytes, trace.finalLiveBytes);
    });
  }
});

describe("debug and hardened modes over every general-purpose allocator: git-log-p, no false positives", () => {
  for (const inner of GENERAL_PURPOSE_ALLOCATORS) {
    test(`${inner.name}: DebugHeap and HardenedHeap`, async () => {
      const trace = await readTraceFile(sharedTracePath("git-log-p"));
      const debug = new DebugHeap(inner.create());
      replay(trace, debug);
      assert.equal(debug.leaks().blocks, trace.finalLiveBlocks);
      const hardened = new HardenedHeap(inner.create(), { quarantineBytes: 1 << 18 });
      replay(trace, hardened);
      assert.equal(hardened.stats().liveBytes, trace.finalLiveBytes);
    });
  }
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../../src/index.js";
import { readTraceFile } from "../../src/trace/reader.js";
import { replayTrace } from "../../src/trace/replay.js";
import { SHARED_TRACE_NAMES, sharedTraceMeta, sharedTracePath } from "../support/traces.js";

describe("Heap replays every shared trace, every block keeping its contents", () => {
  for (const name of SHARED_TRACE_NAMES) {
    it(name, async () => {
      const trace = await readTraceFile(sharedTracePath(name));
      const heaps: Heap[] = [];
      const result = replayTrace(trace, () => heaps[heaps.push(new Heap()) - 1]!, { sampleCount: 20 });
      assert.equal(result.failure, null, result.failure?.message);
      for (const heap of heaps) heap.check();
      const meta = sharedTraceMeta(name);
      assert.equal(result.peakLiveBytes, meta.peak_live_bytes);
      assert.equal(result.final.liveBlocks, meta.live_blocks_at_end);
      assert.equal(result.final.liveBytes, meta.live_bytes_at_end);
      const utilization = result.utilization ?? 0;
      assert.ok(utilization >= 0.85, `utilization ${utilization.toFixed(3)} is below 0.85`);
    });
  }
});

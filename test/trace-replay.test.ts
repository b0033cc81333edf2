import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Heap } from "../src/heap/heap.js";
import { ByteStore } from "../src/memory/store.js";
import { fillPattern, findPatternMismatch, patternWord } from "../src/trace/pattern.js";
import { parseTrace } from "../src/trace/parser.js";
import { readTraceFile } from "../src/trace/reader.js";
import { replayTrace } from "../src/trace/replay.js";
import { BumpAllocator, type BumpOptions } from "./support/bump.js";
import { sharedTraceMeta, sharedTracePath, traceText } from "./support/traces.js";

const trace = (lines: string[]) => parseTrace(new TextEncoder().encode(traceText(lines)), "t.rep");
const bump = (options?: BumpOptions) => () => new BumpAllocator(options);

describe("block patterns", () => {
  it("find the first changed byte at any alignment and length", () => {
    const store = ByteStore.create({ initialBytes: 4096 });
    for (const ptr of [8, 9, 10, 11]) {
      for (const size of [0, 1, 3, 4, 7, 8, 33]) {
        const word = patternWord(ptr * 100 + size);
        fillPattern(store, ptr, 0, size, word);
        assert.equal(findPatternMismatch(store, ptr, size, word), -1);
        for (const at of new Set([0, size >> 1, size - 1])) {
          if (at < 0 || size === 0) continue;
          store.u8[ptr + at] ^= 0x40;
          assert.equal(findPatternMismatch(store, ptr, size, word), at, `ptr ${ptr} size ${size} byte ${at}`);
          store.u8[ptr + at] ^= 0x40;
        }
      }
    }
  });

  it("continue across a fill in two parts (a grown realloc)", () => {
    const store = ByteStore.create({ initialBytes: 4096 });
    const word = patternWord(7);
    fillPattern(store, 16, 0, 5, word);
    fillPattern(store, 16, 5, 40, word);
    assert.equal(findPatternMismatch(store, 16, 40, word), -1);
  });
});

describe("replayTrace", () => {
  it("measures peaks, utilization and samples on a trace worked out by hand", () => {
    const result = replayTrace(trace(["a 0 10", "a 1 20", "r 0 30", "f 1", "f 0"]), bump(), { sampleCount: 5 });
    assert.equal(result.failure, null);
    assert.equal(result.opCount, 5);
    assert.equal(result.peakLiveBytes, 50);
    assert.equal(result.peakExtentBytes, 80); // 8 (null page) + 16 + 24 + 32
    assert.equal(result.utilization, 50 / 80);
    assert.equal(result.atPeak?.liveBlocks, 2);
    assert.deepEqual(result.series.op, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(result.series.liveBytes, [0, 10, 30, 50, 30, 0]);
    assert.deepEqual(result.series.extentBytes, [8, 24, 48, 80, 80, 80]);
    assert.equal(result.final.liveBlocks, 0);
    assert.ok(result.nsPerOp !== null && result.nsPerOp > 0);
  });

  it("reports a realloc that loses contents, naming the op and block", () => {
    const result = replayTrace(trace(["a 0 10", "r 0 30", "f 0"]), bump({ forgetsToCopy: true }));
    assert.deepEqual(result.failure, {
      kind: "content",
      op: 1,
      message: "op 2 (r 0 30): block 0 (10 bytes at offset 24) lost its contents at byte 0 after realloc (the kept bytes)",
    });
    assert.equal(result.nsPerOp, null);
  });

  it("reports malloc returning 0 as out of memory", () => {
    const result = replayTrace(trace(["a 0 10", "a 1 100", "f 0"]), bump({ limitBytes: 64 }));
    assert.deepEqual(result.failure, { kind: "out-of-memory", op: 1, message: "op 2 (a 1 100): malloc(100) returned 0 (out of memory)" });
  });

  it("reports an allocator that throws, with the error", () => {
    const result = replayTrace(trace(["a 0 10", "a 1 8589934592"]), bump({ throwsOnSize: 2 ** 33 }));
    assert.deepEqual(result.failure, { kind: "allocator-error", op: 1, message: "op 2 (a 1 8589934592): RangeError: no 8589934592" });
  });

  it("rejects a size above 2^32 cleanly under Heap", () => {
    const result = replayTrace(trace(["a 0 8589934592"]), () => new Heap());
    assert.equal(result.failure?.kind, "allocator-error");
    assert.match(result.failure!.message, /^op 1 \(a 0 8589934592\): InvalidSizeError: invalid size 8589934592/);
  });

  it("replays a shared trace under Heap: counts and utilization match the recorder", async () => {
    const meta = sharedTraceMeta("git-log-p");
    const shared = await readTraceFile(sharedTracePath("git-log-p"));
    const result = replayTrace(shared, () => new Heap());
    assert.equal(result.failure, null);
    assert.equal(result.opCount, meta["ops"]);
    assert.equal(result.peakLiveBytes, meta["peak_live_bytes"]);
    assert.equal(result.final.liveBlocks, meta["live_blocks_at_end"]);
    assert.equal(result.final.liveBytes, meta["live_bytes_at_end"]);
    assert.equal(result.utilization, meta["peak_live_bytes"]! / result.final.peakExtentBytes);
    assert.ok(result.utilization > 0.5 && result.utilization <= 1);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heapkit } from "./support/cli.js";
import { SHARED_TRACE_NAMES, sharedTraceMeta, sharedTracePath, tmpDir, traceText, writeTrace } from "./support/traces.js";

describe("heapkit trace-stats", () => {
  it("counts a small trace exactly (--json)", async () => {
    const lines = ["a 0 100", "a 1 3", "r 0 200", "f 1", "f -1", "a 1", "f 0", "a 2 0"];
    const file = writeTrace(tmpDir(), "small.rep", traceText(lines, 3));
    const run = await heapkit(["trace-stats", file, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      name: file,
      ops: { total: 7, alloc: 4, realloc: 1, free: 2 },
      normalised: { freeNullDropped: 1, reusedIds: 1, repeatedSizes: 1 },
      sizes: {
        requests: 5,
        totalBytes: 503,
        maxBytes: 200,
        meanBytes: 503 / 5,
        histogram: [
          { from: 0, to: 0, count: 1 },
          { from: 1, to: 1, count: 0 },
          { from: 2, to: 3, count: 1 },
          { from: 4, to: 7, count: 0 },
          { from: 8, to: 15, count: 0 },
          { from: 16, to: 31, count: 0 },
          { from: 32, to: 63, count: 0 },
          { from: 64, to: 127, count: 1 },
          { from: 128, to: 255, count: 2 },
        ],
      },
      lifetimes: {
        freedBlocks: 2,
        meanOps: (2 + 5) / 2,
        medianOps: (2 + 5) / 2,
        histogram: [{ from: 2, to: 3, count: 1 }, { from: 4, to: 7, count: 1 }],
      },
      peakLiveBytes: 400, // "a 1" repeats the size before it: 200
      peakLiveAfterOps: 5,
      liveBlocksAtEnd: 2,
      liveBytesAtEnd: 200,
    });
  });

  it("prints the summary and both histograms as text", async () => {
    const file = writeTrace(tmpDir(), "small.rep", traceText(["a 0 100", "f 0"]));
    const run = await heapkit(["trace-stats", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^ops +2: 1 malloc, 0 realloc, 1 free *$/m);
    assert.match(run.stdout, /^request sizes \(bytes\)$/m);
    assert.match(run.stdout, /^block lifetimes \(ops from malloc to free\)$/m);
    assert.match(run.stdout, /^ +64 +127 +1 +100\.0 % +#{40} *$/m);
  });

  for (const name of SHARED_TRACE_NAMES) {
    it(`agrees with the recorder on ${name}`, async () => {
      const meta = sharedTraceMeta(name);
      const run = await heapkit(["trace-stats", sharedTracePath(name), "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const stats = JSON.parse(run.stdout);
      assert.deepEqual(stats.ops, { total: meta["ops"], alloc: meta["allocs"], realloc: meta["reallocs"], free: meta["frees"] });
      assert.equal(stats.sizes.requests, meta["allocs"]! + meta["reallocs"]!);
      assert.equal(stats.lifetimes.freedBlocks, meta["frees"]);
      assert.equal(stats.peakLiveBytes, meta["peak_live_bytes"]);
      assert.equal(stats.liveBlocksAtEnd, meta["live_blocks_at_end"]);
      assert.equal(stats.liveBytesAtEnd, meta["live_bytes_at_end"]);
    });
  }

  it("exits 2 on a malformed trace", async () => {
    const file = writeTrace(tmpDir(), "bad.rep", traceText(["a 0 1", "r 0"]));
    const run = await heapkit(["trace-stats", file]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `heapkit: ${file}:6: missing size\n`);
  });
});

describe("heapkit policies", () => {
  it("lists the registry one line each, as text and as JSON", async () => {
    const json = await heapkit(["policies", "--json"]);
    assert.equal(json.code, 0);
    const list = JSON.parse(json.stdout) as { name: string; description: string; replaysTraces: boolean; cannotReplay: string | null }[];
    assert.ok(list.some((p) => p.name === "heap" && p.replaysTraces && p.cannotReplay === null));
    assert.ok(list.some((p) => p.name === "pool" && !p.replaysTraces && typeof p.cannotReplay === "string"));
    for (const policy of list) assert.deepEqual(Object.keys(policy).sort(), ["cannotReplay", "description", "name", "replaysTraces"]);
    const text = await heapkit(["policies"]);
    assert.equal(text.code, 0);
    const lines = text.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 1 + list.length);
    for (const [i, policy] of list.entries()) assert.match(lines[i + 1]!, new RegExp(`^${policy.name} +${policy.replaysTraces ? "yes" : "no"} `));
  });
});

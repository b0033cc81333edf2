import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { heapkit } from "./support/cli.js";
import { sharedTraceMeta, sharedTracePath, tmpDir, traceText, writeTrace } from "./support/traces.js";

const SMALL = ["a 0 100", "a 1 50", "r 0 200", "f 1", "f -1", "a 2 10"];
const RESULT_KEYS = ["allocator", "atPeak", "failure", "final", "nsPerOp", "opCount", "peakExtentBytes", "peakLiveBytes", "series", "trace", "utilization"];
const STATS_KEYS = [
  "committedBytes", "externalFragmentation", "extentBytes", "freeBytes", "freeCount", "internalFragmentationBytes", "largestFreeBytes",
  "liveBlocks", "liveBytes", "mallocCount", "peakExtentBytes", "peakLiveBytes", "reservedBytes",
];
const SERIES_KEYS = ["committedBytes", "extentBytes", "externalFragmentation", "freeBytes", "internalFragmentationBytes", "liveBytes", "op"];

/** Peak requested bytes, worked out here from the trace lines, without heapkit's reader. */
function peakLive(lines: string[]): number {
  const live = new Map<string, number>();
  let total = 0;
  let peak = 0;
  for (const line of lines) {
    const [op, id, size] = line.split(" ") as [string, string, string?];
    if (op === "f" && id === "-1") continue;
    total -= live.get(id) ?? 0;
    if (op === "f") live.delete(id);
    else live.set(id, Number(size));
    total += live.get(id) ?? 0;
    peak = Math.max(peak, total);
  }
  return peak;
}

describe("heapkit replay", () => {
  it("replays a small trace: --json with exact counts and an independently computed utilization", async () => {
    const file = writeTrace(tmpDir(), "small.rep", traceText(SMALL, 3));
    const run = await heapkit(["replay", file, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const result = JSON.parse(run.stdout);
    assert.deepEqual(Object.keys(result).sort(), RESULT_KEYS);
    assert.ok(STATS_KEYS.every((key) => typeof result.final[key] === "number"), "final has every AllocatorStats field");
    assert.ok(STATS_KEYS.every((key) => typeof result.atPeak[key] === "number"), "atPeak has every AllocatorStats field");
    assert.deepEqual(Object.keys(result.series).sort(), SERIES_KEYS);
    assert.equal(result.trace, file);
    assert.equal(result.allocator, "heap");
    assert.equal(result.opCount, 5);
    assert.equal(result.peakLiveBytes, 250);
    assert.equal(peakLive(SMALL), 250);
    assert.equal(result.final.liveBlocks, 2);
    assert.equal(result.final.liveBytes, 210);
    assert.equal(result.atPeak.liveBytes, 250);
    assert.equal(result.utilization, peakLive(SMALL) / result.final.peakExtentBytes);
    assert.equal(result.failure, null);
    assert.equal(typeof result.nsPerOp, "number");
  });

  it("prints a readable summary by default", async () => {
    const file = writeTrace(tmpDir(), "small.rep.gz", traceText(SMALL, 3));
    const run = await heapkit(["replay", file, "--allocator", "heap"]);
    assert.equal(run.code, 0, run.stderr);
    for (const label of ["ops", "ns per op", "peak live", "peak extent", "utilization", "committed", "internal frag. at peak", "external frag. at peak", "final stats"]) {
      assert.match(run.stdout, new RegExp(`^${label}  `, "m"), label);
    }
    assert.match(run.stdout, /^ops +5 *$/m);
    assert.match(run.stdout, /^peak live +250 B *$/m);
    assert.match(run.stdout, /^result +ok: every block kept its contents/m);
  });

  it("reads plain and gzipped traces from stdin with -", async () => {
    for (const input of [traceText(SMALL, 3), gzipSync(traceText(SMALL, 3))]) {
      const run = await heapkit(["replay", "-", "--json"], input);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.equal(result.trace, "<stdin>");
      assert.equal(result.opCount, 5);
    }
  });

  it("exits 1 and says why when the allocator fails (a size beyond its limit, one beyond 2^32)", async () => {
    const file = writeTrace(tmpDir(), "huge.rep", traceText(["a 0 16", "a 1 8589934592"]));
    const run = await heapkit(["replay", file]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^result +FAILED \(allocator-error\): op 2 \(a 1 8589934592\): InvalidSizeError: invalid size 8589934592/m);
    const json = JSON.parse((await heapkit(["replay", file, "--json"])).stdout);
    assert.equal(json.failure.kind, "allocator-error");
    assert.equal(json.failure.op, 1);
    assert.equal(json.utilization, null);
    assert.equal(json.nsPerOp, null);
  });

  it("exits 2 with file:line: reason for malformed traces", async () => {
    const dir = tmpDir();
    const cases: [string, string, string][] = [
      ["unknown.rep", traceText(["a 0 1", "m 0 1"]), "6: unknown op \"m\": expected a, r or f"],
      ["dead.rep.gz", traceText(["a 0 1", "f 0", "f 0"]), "7: free of id 0, which is not live"],
      ["range.rep", traceText(["a 0 1", "a 5 1"], 2), "6: id 5 is out of range: the header declares 2 ids (0 to 1)"],
    ];
    for (const [name, text, reason] of cases) {
      const file = writeTrace(dir, name, text);
      const run = await heapkit(["replay", file]);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, "");
      assert.equal(run.stderr, `heapkit: ${file}:${reason}\n`);
    }
  });

  it("exits 2 for bad usage: unknown allocator, one that cannot replay, unknown option, missing file", async () => {
    const file = writeTrace(tmpDir(), "small.rep", traceText(SMALL, 3));
    const unknown = await heapkit(["replay", file, "-a", "nope"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^heapkit: unknown allocator "nope": choose from heap, /);
    const pool = await heapkit(["replay", file, "-a", "pool"]);
    assert.equal(pool.code, 2);
    assert.match(pool.stderr, /^heapkit: allocator "pool" cannot replay a trace: /);
    assert.equal((await heapkit(["replay", file, "--bogus"])).code, 2);
    assert.equal((await heapkit(["replay"])).code, 2);
    const missing = await heapkit(["replay", `${file}.none`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the file: ENOENT/);
  });

  it("answers --help with exit 0 for every command", async () => {
    for (const command of ["replay", "compare", "report", "trace-stats", "policies"]) {
      const run = await heapkit([command, "--help"]);
      assert.equal(run.code, 0, command);
      assert.match(run.stdout, new RegExp(`^Usage: heapkit ${command} `, "m"));
      assert.match(run.stdout, /--json/);
    }
    assert.equal((await heapkit(["--help"])).code, 0);
  });

  it("replays a shared trace under the heap with the recorder's counts", async () => {
    const meta = sharedTraceMeta("git-log-p");
    const run = await heapkit(["replay", sharedTracePath("git-log-p"), "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.opCount, meta["ops"]);
    assert.equal(result.peakLiveBytes, meta["peak_live_bytes"]);
    assert.equal(result.final.liveBlocks, meta["live_blocks_at_end"]);
    assert.equal(result.final.liveBytes, meta["live_bytes_at_end"]);
    assert.equal(result.atPeak.liveBytes, meta["peak_live_bytes"]);
    assert.equal(result.utilization, meta["peak_live_bytes"]! / result.peakExtentBytes);
    assert.ok(result.peakExtentBytes >= result.final.peakExtentBytes);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heapkit } from "./support/cli.js";
import { sharedTraceMeta, sharedTracePath, tmpDir, traceText, writeTrace } from "./support/traces.js";

const ROW_KEYS = ["allocator", "reason", "result", "status", "trace"];

async function policyList(): Promise<{ name: string; replaysTraces: boolean }[]> {
  return JSON.parse((await heapkit(["policies", "--json"])).stdout);
}

describe("heapkit compare", () => {
  it("runs every policy on every trace: --json rows, skipped policies say why, progress only on stderr", async () => {
    const dir = tmpDir();
    const first = writeTrace(dir, "one.rep", traceText(["a 0 100", "a 1 2000", "f 0", "a 2 50", "r 1 10", "f 2"]));
    const second = writeTrace(dir, "two.rep.gz", traceText(["a 0 8", "a 1 8", "a 2 8", "f 1"]));
    const policies = await policyList();
    const run = await heapkit(["compare", first, second, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.deepEqual(json.traces, [{ name: first, opCount: 6, peakLiveBytes: 2100 }, { name: second, opCount: 4, peakLiveBytes: 24 }]);
    assert.equal(json.rows.length, 2 * policies.length);
    for (const row of json.rows) {
      assert.deepEqual(Object.keys(row).sort(), ROW_KEYS);
      const policy = policies.find((p) => p.name === row.allocator)!;
      if (policy.replaysTraces) {
        assert.equal(row.status, "ok", `${row.allocator}: ${row.reason}`);
        assert.equal(row.result.failure, null);
        assert.equal(row.result.utilization, row.result.peakLiveBytes / row.result.peakExtentBytes);
        assert.equal("series" in row.result, false);
      } else {
        assert.equal(row.status, "skipped");
        assert.equal(typeof row.reason, "string");
        assert.equal(row.result, null);
      }
    }
    const jobs = 2 * policies.filter((p) => p.replaysTraces).length;
    const progress = run.stderr.trimEnd().split("\n");
    assert.equal(progress.length, jobs);
    assert.ok(progress.every((line) => /^\[\d+\/\d+\] (one\.rep|two\.rep\.gz) × [\w-]+: ok in \d+\.\d s$/.test(line)), run.stderr);
  });

  it("prints one table with the best value per trace marked and n/a for policies that cannot replay", async () => {
    const file = writeTrace(tmpDir(), "one.rep", traceText(["a 0 100", "a 1 2000", "f 0"]));
    const run = await heapkit(["compare", file, "--allocators", "heap,pool,buddy"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /│ trace +│ allocator +│ +ns\/op │ peak extent │ utilization │/);
    assert.match(run.stdout, /│ one\.rep +│ pool +│ +- │ .* │ n\/a: /);
    assert.match(run.stdout, /\* best for its trace\n$/);
    assert.match(run.stdout, /│ one\.rep +│ heap +│ .* │ ok +│/);
    assert.ok((run.stdout.match(/ \*/g) ?? []).length >= 6, "every measure has a best");
  });

  it("lists a job past its time limit as too slow, without failing", async () => {
    const file = writeTrace(tmpDir(), "one.rep", traceText(["a 0 100", "f 0"]));
    const run = await heapkit(["compare", file, "-a", "heap", "--time-limit", "0.000001", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const [row] = JSON.parse(run.stdout).rows;
    assert.equal(row.status, "stopped");
    assert.equal(row.reason, "the time limit came first, after 1 of 2 ops");
  });

  it("exits 1 when an allocator fails on a trace, 2 for bad usage", async () => {
    const file = writeTrace(tmpDir(), "huge.rep", traceText(["a 0 8589934592"]));
    const failed = await heapkit(["compare", file, "-a", "heap", "--json"]);
    assert.equal(failed.code, 1);
    const [row] = JSON.parse(failed.stdout).rows;
    assert.equal(row.status, "failed");
    assert.match(row.reason, /^allocator-error: op 1 \(a 0 8589934592\): InvalidSizeError/);
    assert.equal((await heapkit(["compare", file, "-a", "heap,nope"])).code, 2);
    assert.equal((await heapkit(["compare", file, "-t", "soon"])).code, 2);
    assert.equal((await heapkit(["compare"])).code, 2);
  });

  it("compares on a shared trace with the recorder's counts", async () => {
    const meta = sharedTraceMeta("git-log-p");
    const run = await heapkit(["compare", sharedTracePath("git-log-p"), "-a", "heap,pool", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.traces[0].opCount, meta["ops"]);
    const heap = json.rows.find((row: { allocator: string }) => row.allocator === "heap");
    assert.equal(heap.result.peakLiveBytes, meta["peak_live_bytes"]);
    assert.equal(heap.result.final.liveBlocks, meta["live_blocks_at_end"]);
    assert.equal(heap.result.utilization, meta["peak_live_bytes"]! / heap.result.peakExtentBytes);
  });
});

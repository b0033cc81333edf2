import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Heap } from "../src/heap/heap.js";
import { readTraceFile } from "../src/trace/reader.js";
import { replayTrace } from "../src/trace/replay.js";
import { REPO_ROOT } from "./support/traces.js";

const CORPUS = path.join(REPO_ROOT, "corpus");
const NAMES = readdirSync(CORPUS).filter((name) => name.endsWith(".rep.gz")).map((name) => name.replace(/\.rep\.gz$/, ""));
/** Replayed in full here; the rest are replayed by the benchmark. */
const REPLAYED = new Set(["git-blame", "espresso-ex4"]);

function meta(name: string): Record<string, string> {
  const text = readFileSync(path.join(CORPUS, `${name}.meta`), "utf8");
  return Object.fromEntries(text.trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

describe("the corpus", () => {
  it("has at least six programs, each with a .meta that says how to re-record it", () => {
    assert.ok(NAMES.length >= 6, NAMES.join(", "));
    for (const name of NAMES) {
      const m = meta(name);
      assert.equal(m.rerecord, `bash corpus/record-all.sh ${name}`);
      assert.ok(m.program !== undefined && m.program !== "", `${name} names its program`);
      assert.ok(Array.isArray(JSON.parse(m.args!)), `${name} lists its arguments`);
    }
  });

  for (const name of NAMES) {
    it(`${name}: the trace reads back with the recorder's counts${REPLAYED.has(name) ? ", and replays under the Heap" : ""}`, async () => {
      const m = meta(name);
      const trace = await readTraceFile(path.join(CORPUS, `${name}.rep.gz`));
      assert.equal(trace.opCount, Number(m.ops));
      assert.equal(trace.idCount, Number(m.ids));
      assert.equal(trace.peakLiveBytes, Number(m.peak_live_bytes));
      assert.equal(trace.finalLiveBytes, Number(m.live_bytes_at_end));
      assert.equal(trace.finalLiveBlocks, Number(m.live_blocks_at_end));
      if (!REPLAYED.has(name)) return;
      const result = replayTrace(trace, () => new Heap(), { sampleCount: 0, timedRuns: 0 });
      assert.equal(result.failure, null);
      assert.equal(result.final.liveBlocks, Number(m.live_blocks_at_end));
    });
  }
});

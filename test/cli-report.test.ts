import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { heapkit } from "./support/cli.js";
import { parseTags } from "./support/html.js";
import { tmpDir, traceText, writeTrace } from "./support/traces.js";

const PLOTS_PER_TRACE = 4;

describe("heapkit report", () => {
  it("writes one self-contained HTML page: the table, and four plots per trace", async () => {
    const dir = tmpDir();
    const lines = ["a 0 100", "a 1 2000", "f 0", "a 2 50", "r 1 10", "a 0 5", "f 2"];
    const first = writeTrace(dir, "one.rep", traceText(lines, 3));
    const tricky = writeTrace(dir, "a<b>&c.rep.gz", traceText(["a 0 8", "a 1 8", "f 1"]));
    const out = path.join(dir, "report.html");
    const run = await heapkit(["report", first, tricky, "--out", out, "--allocators", "heap,buddy,pool"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `wrote ${out}: 2 trace(s) x 3 allocator(s)\n`);
    const html = readFileSync(out, "utf8");
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">/);
    const tags = parseTags(html);
    const count = (name: string): number => tags.filter((tag) => tag === name).length;
    assert.equal(count("html"), 1);
    assert.equal(count("table"), 1);
    assert.equal(count("tr"), 1 + 2 * 3, "a head row and one row per trace and allocator");
    assert.equal(count("section"), 2);
    assert.equal(count("svg"), 2 * PLOTS_PER_TRACE);
    assert.equal(count("polyline"), 2 * (2 + 1 + 2), "per trace: two extents and the live line, two fragmentation lines");
    assert.ok(count("rect") > 0, "histogram bars");
    for (const title of ["Footprint (heap extent) and live bytes over time", "External fragmentation over time", "Request sizes (bytes, log scale)", "Block lifetimes"]) {
      assert.equal(html.split(`aria-label="${title}`).length - 1, 2, title);
    }
    assert.match(html, /<td>pool<\/td><td class="note" colspan="6">n\/a: /);
    assert.match(html, /a&#60;b&#62;&#38;c\.rep\.gz/);
    assert.equal(html.includes("a<b>"), false);
    assert.equal(/<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), false, "nothing to fetch: opens offline");
  });

  it("says of a job stopped at the time limit what compare says: n/a, too slow (not FAILED)", async () => {
    const dir = tmpDir();
    const file = writeTrace(dir, "one.rep", traceText(["a 0 100", "f 0"]));
    const out = path.join(dir, "stopped.html");
    const run = await heapkit(["report", file, "-o", out, "-a", "heap", "--time-limit", "0.000001"]);
    assert.equal(run.code, 0, run.stderr);
    const html = readFileSync(out, "utf8");
    assert.match(html, /<td>heap<\/td><td class="note" colspan="6">n\/a: too slow: the time limit came first, after 1 of 2 ops<\/td>/);
    assert.equal(html.includes("FAILED"), false);
  });

  it("prints the comparison with --json and exits 2 without --out", async () => {
    const dir = tmpDir();
    const file = writeTrace(dir, "one.rep", traceText(["a 0 100", "f 0"]));
    const out = path.join(dir, "r.html");
    const run = await heapkit(["report", file, "-o", out, "-a", "heap", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const json = JSON.parse(run.stdout);
    assert.equal(json.out, out);
    assert.deepEqual(json.traces, [{ name: file, opCount: 2, peakLiveBytes: 100 }]);
    assert.equal(json.rows[0].status, "ok");
    const missing = await heapkit(["report", file]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '-o, --out <file>' not specified/);
    const unwritable = await heapkit(["report", file, "-o", dir, "-a", "heap"]);
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.stderr, new RegExp(`^heapkit: cannot write ${dir}: EISDIR`, "m"));
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TraceFormatError } from "../src/trace/errors.js";
import { parseTrace, TraceParser } from "../src/trace/parser.js";
import { readTraceFile } from "../src/trace/reader.js";
import { OP_ALLOC, OP_FREE, OP_REALLOC, type Trace } from "../src/trace/trace.js";
import { rng } from "./support/model.js";
import { SHARED_TRACE_NAMES, sharedTraceMeta, sharedTracePath, tmpDir, traceText, writeTrace } from "./support/traces.js";

const encode = (text: string) => new TextEncoder().encode(text);
const parse = (text: string) => parseTrace(encode(text), "t.rep");

function ops(trace: Trace): string[] {
  const letters = { [OP_ALLOC]: "a", [OP_REALLOC]: "r", [OP_FREE]: "f" } as Record<number, string>;
  return Array.from(trace.kinds, (kind, i) => `${letters[kind]} ${trace.ids[i]} ${trace.sizes[i]}`);
}

describe("parseTrace", () => {
  it("reads ops into typed arrays, with the size being freed on f", () => {
    const trace = parse(traceText(["a 0 120", "a 1 8", "r 0 240", "f 1", "f 0"]));
    assert.deepEqual(trace.header, { weight: 1, idCount: 2, opCount: 5 });
    assert.ok(trace.kinds instanceof Uint8Array && trace.ids instanceof Uint32Array && trace.sizes instanceof Float64Array);
    assert.deepEqual(ops(trace), ["a 0 120", "a 1 8", "r 0 240", "f 1 8", "f 0 240"]);
    assert.equal(trace.opCount, 5);
    assert.equal(trace.idCount, 2);
    assert.equal(trace.peakLiveBytes, 248);
    assert.equal(trace.peakLiveOp, 2);
    assert.equal(trace.finalLiveBytes, 0);
    assert.equal(trace.finalLiveBlocks, 0);
  });

  it("normalises f -1, id reuse after free and an a without size", () => {
    const trace = parse(traceText(["a 0 16", "f -1", "f 0", "a 0 32", "a 1", "f 0"], 2));
    assert.deepEqual(ops(trace), ["a 0 16", "f 0 16", "a 0 32", "a 1 32", "f 0 32"]);
    assert.equal(trace.freeNullCount, 1);
    assert.equal(trace.reusedIdCount, 1);
    assert.equal(trace.repeatedSizeCount, 1);
    assert.equal(trace.finalLiveBlocks, 1);
    assert.equal(trace.finalLiveBytes, 32);
    assert.equal(trace.peakLiveBytes, 64);
  });

  it("keeps sizes above 2^32 exactly, and size 0", () => {
    const trace = parse(traceText(["a 0 8589934593", "a 1 0", "f 0"]));
    assert.equal(trace.sizes[0], 2 ** 33 + 1);
    assert.equal(trace.sizes[1], 0);
  });

  it("accepts blank lines, tabs, CRLF and no final newline", () => {
    const trace = parse("1\r\n2\r\n\r\n3\r\n0\r\na\t0  5\r\n\na 1 6\r\nf 0");
    assert.deepEqual(ops(trace), ["a 0 5", "a 1 6", "f 0 5"]);
  });

  it("parses odd spacing (the general path) exactly like canonical lines (the fast path)", () => {
    const canonical = parse(traceText(["a 0 120", "a 1 8", "r 0 240", "f 1", "a 1 7", "f 0"]));
    const odd = parse(traceText(["a  0 120", "a\t1\t8", " r 0 240", "f 1 ", "a 1 007\r", "f 0\r"], 2));
    assert.deepEqual(odd, canonical);
  });

  it("gives the same trace whatever the chunk boundaries", () => {
    const bytes = encode(traceText(["a 0 120", "a 1 8", "r 0 240", "f 1", "a 2", "f 0"]));
    const whole = parseTrace(bytes, "t");
    const parser = new TraceParser("t");
    for (let i = 0; i < bytes.length; i += 3) parser.push(bytes.subarray(i, i + 3));
    assert.deepEqual(parser.finish(), whole);
  });
});

describe("malformed traces: each kind of error names file, line and reason", () => {
  const cases: [string, string, string][] = [
    ["unknown op", traceText(["a 0 1", "x 0 1"]), "t.rep:6: unknown op \"x\": expected a, r or f"],
    ["op word", traceText(["alloc 0 1"]), "t.rep:5: unknown op \"alloc\": expected a, r or f"],
    ["missing id", traceText(["a 0 1", "f"], 1), "t.rep:6: missing id"],
    ["missing id on a", traceText(["a"], 1), "t.rep:5: missing id"],
    ["missing size on r", traceText(["a 0 1", "r 0"]), "t.rep:6: missing size"],
    ["a without size and nothing to repeat", traceText(["a 0"]), "t.rep:5: missing size, and no earlier size to repeat"],
    ["id not an integer", traceText(["a x 1"], 1), "t.rep:5: id \"x\" is not an integer"],
    ["id fraction", traceText(["a 0 1", "f 0.5"], 1), "t.rep:6: id \"0.5\" is not an integer"],
    ["size not an integer", traceText(["a 0 12k"]), "t.rep:5: size \"12k\" is not a non-negative integer"],
    ["negative size", traceText(["a 0 -5"]), "t.rep:5: size \"-5\" is not a non-negative integer"],
    ["size above 2^53", traceText(["a 0 9007199254740993"]), "t.rep:5: size \"9007199254740993\" is too large (above 2^53 - 1)"],
    ["id out of range", traceText(["a 0 1", "a 2 1"], 2), "t.rep:6: id 2 is out of range: the header declares 2 ids (0 to 1)"],
    ["negative id on a", traceText(["a -1 1"], 1), "t.rep:5: id -1 is out of range: the header declares 1 ids (0 to 0)"],
    ["free of a dead id", traceText(["a 0 1", "f 0", "f 0"]), "t.rep:7: free of id 0, which is not live"],
    ["free of a never used id", traceText(["a 0 1", "f 1"], 2), "t.rep:6: free of id 1, which is not live"],
    ["realloc of a dead id", traceText(["r 0 4"]), "t.rep:5: realloc of id 0, which is not live"],
    ["alloc of a live id", traceText(["a 0 1", "a 0 2"]), "t.rep:6: alloc of id 0, which is already live"],
    ["extra field", traceText(["a 0 1", "f 0 1"]), "t.rep:6: unexpected extra field \"1\""],
    ["header not a number", "1\nmany\n1\n0\na 0 1\n", "t.rep:2: header: the number of ids must be a non-negative integer, not \"many\""],
    ["header with two fields", "1\n2 3\n1\n0\na 0 1\n", "t.rep:2: unexpected extra field \"3\""],
    ["short header", "1\n2\n", "t.rep:2: the header has 2 of its 4 lines; the file ends"],
    ["empty file", "", "t.rep: the header has 0 of its 4 lines; the file ends"],
    ["fewer ops than declared", "1\n1\n3\n0\na 0 1\nf 0\n", "t.rep:6: the header declares 3 ops but the file has 2"],
    ["more ops than declared", "1\n1\n1\n0\na 0 1\nf 0\n", "t.rep:6: more ops than the header declares (1)"],
    ["too many ids", "1\n100000000\n0\n0\n", "t.rep:4: header: 100000000 ids is above heapkit's limit of 67108864"],
  ];
  for (const [kind, text, message] of cases) {
    it(kind, () => {
      assert.throws(() => parse(text), (error: unknown) => {
        assert.ok(error instanceof TraceFormatError);
        assert.equal(error.message, message);
        assert.equal(error.file, "t.rep");
        return true;
      });
    });
  }

  it("gzip bytes handed to parseTrace", async () => {
    const { gzipSync } = await import("node:zlib");
    assert.throws(() => parseTrace(gzipSync("1\n"), "t.rep.gz"), {
      message: "t.rep.gz:1: the data is gzip-compressed: decompress it first (readTraceFile does)",
    });
  });
});

describe("readTraceFile", () => {
  const text = traceText(["a 0 100", "a 1 50", "r 0 10", "f 1"]);

  it("reads plain and gzipped files alike (gzip told by its magic bytes, not the name)", async () => {
    const dir = tmpDir();
    const plain = await readTraceFile(writeTrace(dir, "plain.rep", text));
    const gzipped = await readTraceFile(writeTrace(dir, "packed.gz", text));
    const { gzipSync } = await import("node:zlib");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${dir}/disguised.rep`, gzipSync(text));
    const disguised = await readTraceFile(`${dir}/disguised.rep`);
    for (const trace of [gzipped, disguised]) {
      assert.deepEqual(ops(trace), ops(plain));
    }
    assert.equal(plain.peakLiveBytes, 150);
  });

  it("names the file for a missing file, a truncated gzip and a malformed line", async () => {
    const dir = tmpDir();
    await assert.rejects(readTraceFile(`${dir}/none.rep`), (error: unknown) =>
      error instanceof TraceFormatError && error.message.startsWith(`${dir}/none.rep: cannot read the file: ENOENT`));
    const { gzipSync } = await import("node:zlib");
    const { writeFileSync } = await import("node:fs");
    const gz = gzipSync(text);
    writeFileSync(`${dir}/cut.gz`, gz.subarray(0, gz.length - 10));
    await assert.rejects(readTraceFile(`${dir}/cut.gz`), {
      name: "TraceFormatError",
      message: `${dir}/cut.gz: broken gzip data: unexpected end of file`,
    });
    const bad = writeTrace(dir, "bad.rep.gz", traceText(["a 0 1", "q 0"]));
    await assert.rejects(readTraceFile(bad), { message: `${bad}:6: unknown op "q": expected a, r or f` });
  });

  it("parses a real trace the same whatever the chunk sizes (seeded random chunking)", async () => {
    const { gunzipSync } = await import("node:zlib");
    const { readFileSync } = await import("node:fs");
    const bytes = gunzipSync(readFileSync(sharedTracePath("git-log-p")));
    const whole = parseTrace(bytes, "git-log-p");
    const random = rng(5);
    const parser = new TraceParser("git-log-p");
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(random() * 64);
      parser.push(bytes.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(parser.finish(), whole);
  });

  for (const name of SHARED_TRACE_NAMES) {
    it(`reads the shared trace ${name} with the recorder's counts`, async () => {
      const meta = sharedTraceMeta(name);
      const trace = await readTraceFile(sharedTracePath(name));
      const counts = [0, 0, 0];
      for (const kind of trace.kinds) counts[kind]!++;
      assert.equal(trace.opCount, meta["ops"]);
      assert.deepEqual(counts, [meta["allocs"], meta["reallocs"], meta["frees"]]);
      assert.equal(trace.idCount, meta["ids"]);
      assert.equal(trace.peakLiveBytes, meta["peak_live_bytes"]);
      assert.equal(trace.finalLiveBytes, meta["live_bytes_at_end"]);
      assert.equal(trace.finalLiveBlocks, meta["live_blocks_at_end"]);
    });
  }
});

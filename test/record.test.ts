import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { TraceBuilder } from "../src/node/record/convert.js";
import { EVENT_ALIGNED, EVENT_CALLOC, EVENT_FREE, EVENT_MALLOC, EVENT_REALLOC } from "../src/node/record/events.js";
import { metaPath } from "../src/node/record/record.js";
import { heapkit, type CliRun } from "./support/cli.js";
import { REPO_ROOT, tmpDir } from "./support/traces.js";

const HAS_CC = spawnSync("cc", ["--version"]).status === 0;
const NO_CC = HAS_CC ? false : "no C compiler (cc) on this machine: heapkit record cannot build its preload library";

/** Calls with sizes no libc start-up makes, so the test can find them among the rest. */
const PROGRAM = `
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void *worker(void *arg) { void *p = malloc(54321); free(p); return arg; }
int main(void) {
  char *a = malloc(12345);
  char *b = calloc(7, 1001);
  a = realloc(a, 23456);
  void *c = NULL;
  if (posix_memalign(&c, 64, 3333) != 0) return 1;
  void *d = aligned_alloc(256, 4096);
  void *e = memalign(128, 777);
  void *volatile nothing = NULL; /* volatile: the compiler may drop a free(NULL) it can see */
  free(nothing); free(nothing); free(nothing);
  free(b); free(c); free(d);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  pid_t child = fork();
  if (child == 0) { void *p = malloc(99999); free(p); _exit(0); }
  waitpid(child, NULL, 0);
  free(a);
  (void)e; /* e stays live: a block the program never frees */
  return 0;
}
`;

const MARKED = new Set([12345, 7007, 23456, 3333, 4096, 777, 54321, 99999]);

function run(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/heapkit.js", ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

function readMeta(file: string): Record<string, string> {
  return Object.fromEntries(readFileSync(file, "utf8").trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

describe("heapkit record", { skip: NO_CC }, () => {
  it("records a C program's calls, in order, with threads and a forked child noted, and the trace replays", async () => {
    const dir = tmpDir();
    const source = path.join(dir, "calls.c");
    const binary = path.join(dir, "calls");
    writeFileSync(source, PROGRAM);
    const cc = spawnSync("cc", ["-O0", "-pthread", "-o", binary, source], { encoding: "utf8" });
    assert.equal(cc.status, 0, cc.stderr);
    const out = path.join(dir, "calls.rep.gz");
    const recorded = await heapkit(["record", "--out", out, "--", binary]);
    assert.equal(recorded.code, 0, recorded.stderr);

    const lines = gunzipSync(readFileSync(out)).toString("utf8").trim().split("\n");
    const ops = lines.slice(4);
    const meta = readMeta(path.join(dir, "calls.meta"));
    assert.deepEqual(lines.slice(0, 4), ["1", meta.ids, meta.ops, "0"]);
    assert.equal(ops.length, Number(meta.ops));
    const count = (letter: string) => ops.filter((line) => line.startsWith(`${letter} `)).length;
    assert.equal(count("a"), Number(meta.allocs));
    assert.equal(count("r"), Number(meta.reallocs));
    assert.equal(count("f"), Number(meta.frees));

    const sizeOfId = new Map<string, string>();
    const idOfSize = new Map<string, string>();
    const marked: string[] = [];
    for (const line of ops) {
      const [op, id, size] = line.split(" ") as [string, string, string?];
      if (op !== "f" && MARKED.has(Number(size))) {
        sizeOfId.set(id, size!);
        idOfSize.set(size!, id);
        marked.push(`${op} ${size}`);
      }
      if (op === "f" && sizeOfId.has(id)) marked.push(`f ${sizeOfId.get(id)}`);
    }
    // The child's malloc(99999) is in its own process image, not in the root's trace.
    assert.deepEqual(marked, ["a 12345", "a 7007", "r 23456", "a 3333", "a 4096", "a 777", "f 7007", "f 3333", "f 4096", "a 54321", "f 54321", "f 23456"]);
    assert.equal(idOfSize.get("12345"), idOfSize.get("23456"), "realloc keeps the block's id");
    assert.ok(Number(meta.free_null_ignored) >= 3);
    assert.ok(Number(meta.aligned_allocs) >= 3);
    assert.equal(meta.threads, "2");
    assert.equal(meta.process_images, "2");
    assert.equal(meta.program, binary);
    assert.equal(meta.args, "[]");
    assert.equal(meta.exit_code, "0");

    const replay = await heapkit(["replay", out, "--json"]);
    assert.equal(replay.code, 0, replay.stderr);
    const result = JSON.parse(replay.stdout);
    assert.equal(result.opCount, Number(meta.ops));
    assert.equal(result.peakLiveBytes, Number(meta.peak_live_bytes));
    assert.equal(result.final.liveBlocks, Number(meta.live_blocks_at_end));
    assert.equal(result.failure, null);
  });

  it("keeps the busiest process image with --process busiest, and caps the ops with --max-ops", async () => {
    const dir = tmpDir();
    const out = path.join(dir, "sh.rep");
    // perl is on every Debian machine (perl-base) and mallocs per hash entry; awk may be mawk,
    // which serves a script like this from pools of its own with a few hundred mallocs.
    const script = "perl -e 'my %h; $h{$_} = \"x$_\" for 1 .. 20000'; true";
    const recorded = await heapkit(["record", "--out", out, "--process", "busiest", "--max-ops", "5000", "--", "sh", "-c", script]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const meta = readMeta(path.join(dir, "sh.meta"));
    assert.equal(meta.ops, "5000");
    assert.equal(meta.cap_reached, "1");
    assert.ok(Number(meta.untraced_after_cap) > 0);
    assert.notEqual(JSON.parse(meta.recorded_command)[0], meta.program);
    const replay = await heapkit(["replay", out, "--json"]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(JSON.parse(replay.stdout).opCount, 5000);
  });

  it("without a compiler fails with a clear error and exit code 2", async () => {
    const missing = "/nonexistent/heapkit-test-cc";
    const run2 = await run(["record", "--out", path.join(tmpDir(), "t.rep.gz"), "--", "true"], { CC: missing, XDG_CACHE_HOME: tmpDir() });
    assert.equal(run2.code, 2);
    assert.match(run2.stderr, /no C compiler: "\/nonexistent\/heapkit-test-cc" could not be run/);
  });

  it("names a command that cannot be run", async () => {
    const run2 = await heapkit(["record", "--out", path.join(tmpDir(), "t.rep.gz"), "--", "/nonexistent/program"]);
    assert.equal(run2.code, 2);
    assert.match(run2.stderr, /cannot run "\/nonexistent\/program"/);
  });
});

describe("record's event-to-trace conversion", () => {
  it("normalises like the shared traces' recorder and counts what it did", () => {
    const b = new TraceBuilder(0);
    b.event(EVENT_MALLOC, 0x1000, 0, 16, 1); //        a 0 16
    b.event(EVENT_CALLOC, 0x2000, 0, 0, 1); //         a 1 0
    b.event(EVENT_FREE, 0, 0, 0, 1); //                free(NULL): dropped
    b.event(EVENT_FREE, 0, 0x9999, 0, 2); //           unknown: dropped
    b.event(EVENT_MALLOC, 0, 0, 1e12, 1); //           failed: dropped
    b.event(EVENT_REALLOC, 0x3000, 0x1000, 32, 2); //  r 0 32 (moved)
    b.event(EVENT_REALLOC, 0x3000, 0x3000, 8, 1); //   r 0 8 (in place)
    b.event(EVENT_REALLOC, 0, 0x3000, 64, 1); //       failed: the block stays
    b.event(EVENT_REALLOC, 0x4000, 0, 24, 1); //       realloc(NULL): a 2 24
    b.event(EVENT_REALLOC, 0x5000, 0x7777, 40, 1); //  unknown: a 3 40
    b.event(EVENT_ALIGNED, 0x6000, 64, 100, 1); //     a 4 100
    b.event(EVENT_MALLOC, 0x6000, 0, 50, 1); //        a live address: f 4, a 5 50
    b.event(EVENT_REALLOC, 0, 0x2000, 0, 1); //        realloc(p, 0): f 1
    const { text, counters } = b.finish();
    assert.equal(text, ["1", "6", "10", "0", "a 0 16", "a 1 0", "r 0 32", "r 0 8", "a 2 24", "a 3 40", "a 4 100", "f 4", "a 5 50", "f 1", ""].join("\n"));
    assert.deepEqual(
      { ...counters },
      {
        ops: 10, allocs: 6, frees: 2, reallocs: 2, ids: 6, peak_live_bytes: 8 + 24 + 40 + 100, live_bytes_at_end: 8 + 24 + 40 + 50, live_blocks_at_end: 4,
        free_null_ignored: 1, free_unknown_ignored: 1, realloc_unknown_as_alloc: 1, realloc_zero_as_free: 1, aligned_allocs: 1, zero_size_allocs: 1,
        failed_allocs: 1, failed_reallocs: 1, live_address_reused: 1, max_ops_cap: 0, cap_reached: 0, untraced_after_cap: 0,
      },
    );
    assert.deepEqual(b.threadEvents.slice(1), [11, 2]);
  });

  it("stops at the op cap and counts the events left out", () => {
    const b = new TraceBuilder(2);
    for (let i = 1; i <= 5; i++) b.event(EVENT_MALLOC, i * 16, 0, 8, 1);
    const { text, counters } = b.finish();
    assert.equal(text, "1\n2\n2\n0\na 0 8\na 1 8\n");
    assert.equal(counters.cap_reached, 1);
    assert.equal(counters.untraced_after_cap, 3);
  });

  it("puts the .meta file where the shared traces have it", () => {
    assert.equal(metaPath("corpus/awk.rep.gz"), "corpus/awk.meta");
    assert.equal(metaPath("x.rep"), "x.meta");
    assert.equal(metaPath("trace.txt"), "trace.txt.meta");
  });
});

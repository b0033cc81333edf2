import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { heapkit, type CliRun } from "./support/cli.js";
import { REPO_ROOT } from "./support/traces.js";

const MiB = 2 ** 20;

/**
 * Runs heapkit through `sh -c`, so that `$$` is heapkit's own PID (exec keeps it) and `$!` a
 * child of heapkit: a sandbox may let a process read the map of itself and its descendants only.
 */
function heapkitSh(script: string, uid?: number): Promise<CliRun> {
  return new Promise((resolve) => {
    const options = { cwd: REPO_ROOT, maxBuffer: 16 << 20, ...(uid === undefined ? {} : { uid, gid: uid }) };
    execFile("sh", ["-c", script.replaceAll("HEAPKIT", `exec "${process.execPath}" bin/heapkit.js`)], options, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

interface Step { step: string; storeVszBytes: number; storeRssBytes: number; processRssBytes: number; committedBytes: number }
interface Case { name: string; storeKind: string; reservedBytes: number; writtenBytes: number; trimmedBytes: number; found: { span: { start: string; end: string }; gainedBytes: number; how: string } | null; steps: Step[] }

/** The three parts run side by side: each test waits mostly on its own child processes. */
describe("heapkit maps", { concurrency: true }, () => {
  describe("heapkit maps: the demonstration", { concurrency: true }, () => {
    it("finds each store by its growth; Rss follows the write, and falls on trim where the store can shrink", async () => {
      const written = 16 * MiB;
      const run = await heapkit(["maps", "--json", "--write-mib", "16"]);
      assert.equal(run.code, 0, run.stderr);
      const cases = (JSON.parse(run.stdout) as { cases: Case[] }).cases;
      assert.deepEqual(cases.map((c) => c.name), ["default", "resizable", "shared", "wasm"]);
      for (const c of cases) {
        assert.ok(c.found !== null, `${c.name}: not found`);
        assert.ok(c.found.gainedBytes >= 0.95 * written && c.found.gainedBytes <= written + 2 * MiB, `${c.name}: gained ${c.found.gainedBytes}`);
        assert.ok(BigInt(c.found.span.end) - BigInt(c.found.span.start) >= BigInt(c.reservedBytes), `${c.name}: the span covers the reservation`);
        const [made, write, freed] = c.steps as [Step, Step, Step];
        assert.ok(made.storeVszBytes >= c.reservedBytes && made.storeRssBytes < MiB, `${c.name}: reserved, not resident, when made`);
        assert.ok(Math.abs(write.storeRssBytes - made.storeRssBytes - written) <= 0.05 * written, `${c.name}: Rss rose by the write`);
        assert.ok(write.processRssBytes >= write.storeRssBytes, `${c.name}: the store's Rss is part of the process's`);
        if (c.storeKind === "reserved") {
          // trim moved the heap to a fresh buffer; the old one is freed at once where the engine
          // has ArrayBuffer.prototype.transfer (Node 22+), at the next collection on Node 20.
          assert.ok(c.trimmedBytes >= written, `${c.name}: trim gave back ${c.trimmedBytes}`);
          if (typeof ArrayBuffer.prototype.transfer === "function") assert.ok(freed.storeRssBytes < MiB, `${c.name}: the old buffer's pages are gone`);
          continue;
        }
        assert.equal(freed.storeVszBytes, made.storeVszBytes, `${c.name}: the reservation stays`);
        if (c.storeKind === "resizable") {
          assert.ok(c.trimmedBytes >= written && freed.storeRssBytes < MiB, `${c.name}: trim gave the pages back`);
        } else {
          assert.ok(c.trimmedBytes === 0 && freed.storeRssBytes >= 0.95 * written, `${c.name}: a ${c.storeKind} store cannot shrink`);
        }
      }
    });

    it("prints the cases as text within 100 columns, and refuses an unknown case", async () => {
      const run = await heapkit(["maps", "--kinds", "resizable", "--write-mib", "8"]);
      assert.equal(run.code, 0, run.stderr);
      for (const line of run.stdout.split("\n")) assert.ok(line.length <= 100, line);
      assert.match(run.stdout, /^new Heap\(\{ kind: "resizable", maxBytes: 2 \*\* 30 \}\): resizable, 1\.00G reserved, malloc\(8\.0 MiB\)$/m);
      const found = run.stdout.replaceAll("\n    ", " ");
      assert.match(found, /^ {2}found: of \d+ mappings, [0-9a-f]+-[0-9a-f]+ gained the most Rss across the write: 8\.0 MiB for 8\.0 MiB written \(next largest gain: \d+\.\d MiB\); with the PROT_NONE mappings next to it that appeared when the heap was made, the store spans 1024\.0 MiB\.$/m);
      assert.match(run.stdout, /^ {2}trim\(\) gave back 8\.0 MiB$/m);
      const bad = await heapkit(["maps", "--kinds", "resizable,nope"]);
      assert.deepEqual([bad.code, bad.stderr], [2, 'heapkit: unknown demonstration case "nope": use default, resizable, shared, wasm\n']);
    });
  });

  describe("heapkit maps PID", { concurrency: true }, () => {
    it("prints a process's map by group within 100 columns, with a total", async () => {
      const run = await heapkitSh("HEAPKIT maps $$");
      assert.equal(run.code, 0, run.stderr);
      for (const line of run.stdout.split("\n")) assert.ok(line.length <= 100, line);
      for (const head of ["program text", "read-only data", "data and bss", "brk heap", "anonymous mmaps", "shared libraries", "main stack", "vdso/vvar"]) {
        assert.match(run.stdout, new RegExp(`^${head}: \\d+ regions? `, "m"));
      }
      assert.match(run.stdout, /^total: VSZ \S+ \(\d+ B\) reserved, RSS \S+ \(\d+ B\) resident$/m);
    });

    it("prints valid JSON whose groups add up to the total", async () => {
      const run = await heapkitSh("HEAPKIT maps $$ --json");
      assert.equal(run.code, 0, run.stderr);
      const map = JSON.parse(run.stdout);
      const groups = map.groups as { totals: { sizeBytes: number; rssBytes: number }; regions: { start: string; sizeBytes: number }[] }[];
      assert.equal(groups.reduce((n, g) => n + g.totals.sizeBytes, 0), map.total.vszBytes);
      assert.equal(groups.reduce((n, g) => n + g.totals.rssBytes, 0), map.total.rssBytes);
      for (const g of groups) for (const r of g.regions) assert.match(r.start, /^0x[0-9a-f]+$/);
      assert.ok(map.total.rssBytes > 0 && map.total.rssBytes < map.total.vszBytes);
    });

    it("exits 2 with the reason for a bad PID or a missing process", async () => {
      const beyondPidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;
      const missing = await heapkit(["maps", String(beyondPidMax)]);
      assert.deepEqual([missing.code, missing.stderr], [2, `heapkit: no process ${beyondPidMax}: /proc/${beyondPidMax} does not exist (the process never existed or has exited)\n`]);
      const bad = await heapkit(["maps", "12ab"]);
      assert.deepEqual([bad.code, bad.stderr], [2, 'heapkit: invalid PID "12ab": expected a positive integer\n']);
    });

    it("exits 2 naming EACCES for a process of another user", { skip: process.getuid?.() === 0 ? false : "needs root to run heapkit as another user (procmaps.test covers EACCES by file mode)" }, async () => {
      const run = await heapkitSh(`HEAPKIT maps ${process.pid}`, 65534);
      assert.equal(run.code, 2);
      assert.match(run.stderr, new RegExp(`^heapkit: cannot read /proc/${process.pid}/maps \\(EACCES\\): the kernel lets only a process that may ptrace`));
    });
  });

  describe("heapkit maps --watch", { concurrency: true }, () => {
    it("samples until the process exits, draws VSZ and RSS in the terminal, and writes an HTML page of both", async () => {
      const html = path.join(mkdtempSync(path.join(tmpdir(), "heapkit-watch-")), "watch.html");
      const child = spawn("sh", ["-c", `sleep 30 >/dev/null 2>&1 & echo "sleep $!"; exec "${process.execPath}" bin/heapkit.js maps --watch $! -i 50 -n 400 --html ${html}`], { cwd: REPO_ROOT });
      let stdout = "";
      let killed = false;
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        // The sleep is killed once heapkit has sampled it (at whatever time the first sample
        // lands on a loaded machine): heapkit must notice it is gone.
        if (!killed && /^ +\d+\.\d s {2}VSZ +\S+ {2}RSS +\S+$/m.test(stdout)) {
          killed = true;
          process.kill(Number(/^sleep (\d+)$/m.exec(stdout)![1]));
        }
      });
      const code = await new Promise((resolve) => child.on("close", resolve));
      assert.equal(code, 0, stdout);
      assert.match(stdout, /^VSZ \S+ \|\*+$/m);
      assert.match(stdout, /^RSS \S+ \|/m);
      const samples = Number(/^process \d+ exited after (\d+) samples$/m.exec(stdout)?.[1]);
      assert.ok(samples >= 1 && samples < 400, stdout);
      const page = readFileSync(html, "utf8");
      assert.equal(page.match(/<svg /g)?.length, 2);
      assert.match(page, /<polyline [^>]*points="[^"]+"><title>RSS<\/title>/);
    });

    it("prints the samples as JSON; without a PID it exits 2", async () => {
      const run = await heapkitSh(`sleep 30 >/dev/null 2>&1 & echo $! >&2; HEAPKIT maps --watch $! --interval 50 --samples 3 --json`);
      process.kill(Number(run.stderr.trim()));
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { exited: boolean; intervalMs: number; samples: { timeMs: number; vszBytes: number; rssBytes: number }[] };
      assert.deepEqual([result.exited, result.intervalMs, result.samples.length], [false, 50, 3]);
      for (const [i, s] of result.samples.entries()) {
        assert.ok(s.rssBytes > 0 && s.rssBytes < s.vszBytes);
        if (i > 0) assert.ok(s.timeMs > result.samples[i - 1]!.timeMs);
      }
      const bad = await heapkit(["maps", "--watch"]);
      assert.deepEqual([bad.code, bad.stderr], [2, "heapkit: --watch needs a PID: heapkit maps --watch PID\n"]);
    });
  });
});

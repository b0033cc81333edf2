import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { asciiPlot } from "../src/procmaps/ascii-plot.js";
import { InvalidPidError, NoAddressSpaceError, ProcessAccessError, ProcessNotFoundError, ProcMapsFormatError } from "../src/procmaps/errors.js";
import { locateStore, type Snapshot } from "../src/procmaps/find-store.js";
import { mapJson, mapText, shortBytes } from "../src/procmaps/format.js";
import { classifyRegions, groupRegions, totalsOf } from "../src/procmaps/group.js";
import { parseMaps, parseRollup, parseSmaps } from "../src/procmaps/parse.js";
import { checkPid, readProcessMap, readProcessTotals } from "../src/procmaps/read.js";
import { expectError } from "./support/expect-error.js";
import { REPO_ROOT } from "./support/traces.js";

const PROC = path.join(REPO_ROOT, "test/fixtures/proc");
const NODE = 4242; // node 20, 7 threads, on Linux 6.18
const OLD_NODE = 4243; // the same, with the fields older kernels lack removed
const CAT = 4244; // cat, one thread
const CAT_NO_ROLLUP = 4245; // the same, without smaps_rollup (Linux before 4.14)
const fixture = (pid: number, file: string): string => readFileSync(path.join(PROC, String(pid), file), "utf8");
const read = (pid: number) => readProcessMap(pid, { procRoot: PROC });

describe("parsing maps, smaps and smaps_rollup", () => {
  it("reads every field of a maps line, with addresses above 2^53 exact", () => {
    const regions = parseMaps(fixture(CAT, "maps"));
    assert.equal(regions.length, fixture(CAT, "maps").trimEnd().split("\n").length);
    assert.deepEqual(regions[1], {
      start: 0x555f9bda0000n, end: 0x555f9bda5000n, perms: "r-xp", offset: 0x2000n, device: "fe:00", inode: 260131,
      path: "/usr/bin/cat", sizeBytes: 0x5000, fields: {},
    });
    assert.equal(regions[6]!.path, "");
    assert.deepEqual([regions.at(-1)!.start, regions.at(-1)!.path], [0xffffffffff600000n, "[vsyscall]"]);
  });

  it("reads smaps: the same regions as maps, each kernel Size equal to end - start", () => {
    const smaps = parseSmaps(fixture(NODE, "smaps"));
    const maps = parseMaps(fixture(NODE, "maps"));
    assert.deepEqual(smaps.map((r) => [r.start, r.end, r.path]), maps.map((r) => [r.start, r.end, r.path]));
    for (const region of smaps) {
      assert.equal(region.fields["Size"], region.sizeBytes);
      assert.ok(region.fields["Rss"]! <= region.sizeBytes && region.fields["Pss"]! <= region.fields["Rss"]!);
      assert.ok(region.vmFlags!.includes("rd") === region.perms.startsWith("r"));
    }
  });

  it("sums of smaps agree with smaps_rollup", () => {
    const rollup = parseRollup(fixture(NODE, "smaps_rollup"));
    const totals = totalsOf(parseSmaps(fixture(NODE, "smaps")));
    assert.equal(totals.counters.Rss, rollup.fields["Rss"]);
    assert.equal(totals.counters.Private_Dirty, rollup.fields["Private_Dirty"]);
    assert.equal(rollup.fields["Pss_Anon"]! + rollup.fields["Pss_File"]! + rollup.fields["Pss_Shmem"]!, rollup.fields["Pss"]);
  });

  it("leaves a counter the kernel did not print absent, not 0", () => {
    const old = parseSmaps(fixture(OLD_NODE, "smaps"));
    assert.ok(old.every((r) => r.fields["Pss_Dirty"] === undefined && r.fields["Rss"] !== undefined));
    const rollup = parseRollup(fixture(OLD_NODE, "smaps_rollup"));
    assert.equal(rollup.fields["Pss_Anon"], undefined);
    assert.equal(rollup.fields["Rss"], parseRollup(fixture(NODE, "smaps_rollup")).fields["Rss"]);
  });

  it("names the file and line of text that is not the kernel's", () => {
    expectError(() => parseMaps("00400000-00b6f000 r--p 00000000 fe:00 1 /x\nnot a mapping\n", "m"), ProcMapsFormatError, { file: "m", line: 2 });
    expectError(() => parseSmaps("Rss: 4 kB\n", "s"), ProcMapsFormatError, { file: "s", line: 1 });
    expectError(() => parseMaps("00400000-00b6f000 rwzp 00000000 fe:00 1\n"), ProcMapsFormatError, { line: 1 });
    expectError(() => parseRollup(""), ProcMapsFormatError, { line: 1 });
  });
});

describe("grouping regions", () => {
  it("sorts cat's 38 mappings into the parts of a program", () => {
    const groups = groupRegions(read(CAT));
    assert.deepEqual(groups.map((g) => [g.name, g.regions.length]), [
      ["text", 1], ["rodata", 3], ["data", 1], ["heap", 1], ["anon", 3], ["file", 13], ["lib", 11], ["stack", 1], ["kernel", 4],
    ]);
    const lib = groups.find((g) => g.name === "lib")!.regions;
    // libc's bss: the anonymous rw-p mapping that starts where libc's writable data ends
    assert.ok(lib.some((r) => r.path === "" && r.start === 0x7f670e2b5000n));
    assert.ok(groups.find((g) => g.name === "file")!.regions.every((r) => r.path.startsWith("/usr/lib/locale/") || r.path.endsWith("gconv-modules.cache")));
  });

  it("finds node's six thread stacks by their stack pointers, each with its guard page", () => {
    const map = read(NODE);
    assert.equal(map.threadStackPointers.length, 6);
    const stacks = groupRegions(map).find((g) => g.name === "thread-stack")!.regions;
    assert.equal(stacks.length, 12);
    for (let i = 0; i < stacks.length; i += 2) {
      assert.deepEqual([stacks[i]!.perms, stacks[i]!.sizeBytes, stacks[i]!.end], ["---p", 4096, stacks[i + 1]!.start]);
      assert.ok(map.threadStackPointers.some((sp) => stacks[i + 1]!.start <= sp && sp < stacks[i + 1]!.end));
    }
    const names = classifyRegions(map);
    assert.deepEqual(map.regions.filter((_, i) => names[i] === "data").map((r) => r.path), ["/usr/bin/node", ""]);
  });

  it("puts every region in exactly one group, so the groups add up to the whole", () => {
    for (const pid of [NODE, CAT]) {
      const map = read(pid);
      const groups = groupRegions(map);
      assert.equal(groups.reduce((n, g) => n + g.regions.length, 0), map.regions.length);
      assert.equal(groups.reduce((n, g) => n + g.totals.sizeBytes, 0), totalsOf(map.regions).sizeBytes);
      assert.equal(groups.reduce((n, g) => n + g.totals.counters.Rss!, 0), map.rollup!.fields["Rss"]);
    }
  });
});

describe("reading a process", () => {
  it("falls back and says so where the kernel has no smaps_rollup", () => {
    const map = read(CAT_NO_ROLLUP);
    assert.equal(map.rollup, null);
    assert.match(mapText(map), /note: smaps_rollup is not available on this kernel \(it came in Linux 4\.14\)/);
    assert.equal(readProcessTotals(CAT_NO_ROLLUP, { procRoot: PROC }).rssBytes, totalsOf(map.regions).counters.Rss);
    assert.equal(readProcessTotals(NODE, { procRoot: PROC }).rssBytes, 40392 * 1024); // smaps_rollup's Rss line
  });

  it("notes the rollup fields an older kernel lacks, and a counter no region has", () => {
    assert.match(mapText(read(OLD_NODE)), /^note: smaps_rollup on this kernel has no Pss_Anon, Pss_File, Pss_Shmem$/m);
    const map = { ...read(CAT), rollup: null, notes: [], regions: parseSmaps("00400000-00401000 r--p 00000000 fe:00 1  /bin/x\nRss:  4 kB\nPss:  4 kB\nPrivate_Dirty: 0 kB\n") };
    const text = mapText(map);
    assert.match(text, /^note: Swap is not printed by this kernel: shown as "-"$/m);
    assert.match(text, /^00400000-00401000          r--p       4K       4K       4K        0        -  x$/m);
    assert.equal((mapJson(map)["total"] as Record<string, unknown>)["swapBytes"], null);
  });

  it("prints every line within 100 columns, a total with VSZ and RSS, and JSON with the same numbers", () => {
    const map = read(NODE);
    const text = mapText(map);
    for (const line of text.split("\n")) assert.ok(line.length <= 100, line);
    assert.match(text, /^total: VSZ 711\.2M \(745717760 B\) reserved, RSS 39\.4M \(41361408 B\) resident$/m);
    const json = JSON.parse(JSON.stringify(mapJson(map)));
    assert.deepEqual([json.total.vszBytes, json.total.rssBytes], [745717760, 41361408]);
    const stacks = json.groups.find((g: { name: string }) => g.name === "thread-stack");
    assert.deepEqual(stacks.regions.slice(0, 2).map((r: Record<string, unknown>) => [r["start"], r["end"], r["sizeBytes"]]), [
      ["0x7fd260c19000", "0x7fd260c1a000", 4096], ["0x7fd260c1a000", "0x7fd26141a000", 8 * 2 ** 20],
    ]);
  });

  it("refuses a PID that is not a positive integer, and names a missing process", () => {
    for (const pid of ["abc", "", "-1", "1.5", 0, -3, 2.5, Number.NaN, "12x"]) expectError(() => checkPid(pid), InvalidPidError, { pid });
    assert.equal(checkPid(" 42 "), 42);
    expectError(() => read(999), ProcessNotFoundError, { pid: 999 });
    const beyondPidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;
    expectError(() => readProcessMap(beyondPidMax), ProcessNotFoundError, { pid: beyondPidMax });
  });

  it("says a zombie has no map (it has exited, not yet been collected)", async () => {
    // The first sleep exits at once; its parent, exec'd into the second, never collects it.
    const parent = execFile("sh", ["-c", "sleep 0 & echo $!; exec sleep 5"]);
    const zombie = await new Promise<number>((resolve) => parent.stdout!.once("data", (line: string) => resolve(Number(line))));
    try {
      for (let i = 0; i < 100 && !readFileSync(`/proc/${zombie}/stat`, "utf8").includes(") Z "); i++) await new Promise((r) => setTimeout(r, 10));
      expectError(() => readProcessMap(zombie), NoAddressSpaceError, { pid: zombie, zombie: true });
    } finally {
      parent.kill();
    }
  });

  const kthreadd = existsSync("/proc/2/stat") && readFileSync("/proc/2/stat", "utf8").startsWith("2 (kthreadd) ");
  it("says a kernel thread has no map", { skip: kthreadd ? false : "PID 2 is not kthreadd here (a PID namespace)" }, () => {
    expectError(() => readProcessMap(2), NoAddressSpaceError, { pid: 2, zombie: false });
  });

  it("reads its own process: every part of a program is there, and the program is node", () => {
    const map = readProcessMap(process.pid);
    assert.equal(map.source, "smaps");
    assert.equal(map.exe, process.execPath);
    const names = groupRegions(map).map((g) => g.name);
    for (const name of ["text", "rodata", "data", "heap", "anon", "lib", "stack", "kernel"]) assert.ok(names.includes(name as never), name);
  });

  it("turns EACCES into a ProcessAccessError naming the file", { skip: process.getuid?.() === 0 ? "root reads any file: cli-maps tests EACCES as another user" : false }, () => {
    const root = mkdtempSync(path.join(tmpdir(), "heapkit-proc-"));
    cpSync(path.join(PROC, String(CAT)), path.join(root, String(CAT)), { recursive: true });
    chmodSync(path.join(root, String(CAT), "maps"), 0);
    expectError(() => readProcessMap(CAT, { procRoot: root }), ProcessAccessError, { pid: CAT, code: "EACCES" });
  });
});

describe("finding a store by its growth", () => {
  const region = (start: bigint, end: bigint, perms: string, rssBytes: number) => ({
    start, end, perms, offset: 0n, device: "00:00", inode: 0, path: "", sizeBytes: Number(end - start), fields: { Rss: rssBytes },
  });
  const MiB = 2 ** 20;
  const other = region(0x1000n, 0x2000n, "rw-p", 4096);
  const guard = region(0x0f00000n, 0x1000000n, "---p", 0); // PROT_NONE below, older than the store
  it("takes the mapping that gained the most Rss, with the PROT_NONE reservation made with it", () => {
    const before: Snapshot = { regions: [other, guard] };
    const made: Snapshot = { regions: [other, guard, region(0x1000000n, 0x1010000n, "rw-p", 0), region(0x1010000n, 0x41000000n, "---p", 0)] };
    const written: Snapshot = { regions: [{ ...other, fields: { Rss: 2 * MiB } }, guard, region(0x1000000n, 0x3000000n, "rw-p", 32 * MiB), region(0x3000000n, 0x41000000n, "---p", 0)] };
    const found = locateStore(before, made, written)!;
    assert.deepEqual(found.span, { start: 0x1000000n, end: 0x41000000n });
    assert.deepEqual([found.gainedBytes, found.nextGainBytes], [32 * MiB, 2 * MiB - 4096]);
    assert.equal(locateStore(before, made, made), undefined);
  });
});

describe("the terminal plot", () => {
  it("draws a rise as a run of | between the low and the high samples, labelled", () => {
    const lines = asciiPlot({ title: "RSS", times: [0, 500, 1000], values: [0, 0, 3 * 2 ** 20], format: shortBytes, width: 3, height: 4 });
    assert.deepEqual(lines, ["RSS 3.0M |  *", "         |  |", "         |  |", "       0 |**", "         +---", "          0 s1.0 s"]);
    const flat = asciiPlot({ title: "VSZ", times: [0, 100], values: [4096, 4096], format: shortBytes, width: 4, height: 2 });
    assert.deepEqual(flat.slice(0, 2), ["VSZ 4K |****", "    4K |"]);
  });
});

/**
 * Every trace (the four shared ones and the corpus) replayed under the Heap as shipped
 * (`new Heap()`, the default store, as `heapkit replay` does) and, in the same run, under glibc's
 * malloc and the installed native allocators (bench/native/replay.c):
 *   - utilization like for like (decision 11): the Heap's peak live / peak extent, glibc's peak
 *     live / the high-water of mallinfo2()'s arena + hblkhd sampled after every op; and glibc's
 *     with its large blocks kept in its heap too (no mmap), as all of a Heap's are in its buffer;
 *   - ns per op: the Heap's fastest of three timed passes (src/trace/replay.ts), each native
 *     allocator's fastest of three fresh processes; both make the bare calls only.
 * The bar of issue 11: utilization >= 0.85 and >= glibc's - 0.02 on every trace with >= 1 MiB
 * peak live; ns per op at most 3x glibc's.
 *
 *   npm run build && node dist/bench/replay-native.js [TRACE.rep.gz...]
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { Heap } from "../src/heap/heap.js";
import { readTraceFile } from "../src/trace/reader.js";
import { replayTrace } from "../src/trace/replay.js";
import { fmt, printSection, progress, ratio } from "./harness.js";
import { nativeReplayers, type NativeReplayer } from "./native.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SHARED = path.resolve(REPO_ROOT, "../shared/traces");
const CORPUS = path.join(REPO_ROOT, "corpus");
const MIB = 1 << 20;
const NATIVE_RUNS = 3;
const UTILIZATION_BAR = 0.85;
const GLIBC_SLACK = 0.02;
/** Traces this short are also measured with mallinfo2 after every op, to check the shortcut. */
const EVERY_OP_CHECK_OPS = 200_000;

function traceFiles(): string[] {
  const given = process.argv.slice(2);
  if (given.length > 0) return given;
  const list = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".rep.gz")).sort().map((name) => path.join(dir, name));
  return [...list(SHARED), ...list(CORPUS)];
}

function fastest(runs: number, fn: () => number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) best = Math.min(best, fn());
  return best;
}

function barText(peakLive: number, heapUtil: number, glibcUtil: number | null): string {
  if (peakLive < MIB) return "n/a (< 1 MiB)";
  const floor = glibcUtil === null ? UTILIZATION_BAR : Math.max(UTILIZATION_BAR, glibcUtil - GLIBC_SLACK);
  return heapUtil >= floor ? "yes" : `no (needs ${floor.toFixed(3)})`;
}

async function main(): Promise<void> {
  const natives = nativeReplayers();
  const glibc: NativeReplayer | undefined = natives.find((n) => n.name === "glibc");
  const others = natives.filter((n) => n !== glibc);
  const dir = mkdtempSync(path.join(tmpdir(), "heapkit-replay-native-"));
  const rows: (string | number)[][] = [];
  const checkedEveryOp: string[] = [];
  try {
    for (const file of traceFiles()) {
      const name = path.basename(file).replace(/\.rep\.gz$/, "");
      progress(`replay ${name}`);
      const trace = await readTraceFile(file);
      const heap = replayTrace(trace, () => new Heap(), { sampleCount: 0 });
      if (heap.failure !== null) throw new Error(`${name}: the Heap failed: ${heap.failure.message}`);
      const plain = path.join(dir, `${name}.rep`);
      writeFileSync(plain, gunzipSync(await readFile(file)));
      const util = glibc?.utilization?.(plain);
      const glibcUtil = util === undefined ? null : util.peakLiveBytes / util.peakFootprintBytes;
      const oneHeap = glibc?.utilization?.(plain, { oneHeap: true });
      if (util !== undefined && util.peakLiveBytes !== trace.peakLiveBytes) throw new Error(`${name}: the driver saw peak live ${util.peakLiveBytes}, heapkit ${trace.peakLiveBytes}`);
      if (util !== undefined && trace.opCount <= EVERY_OP_CHECK_OPS) {
        const exact = glibc!.utilization!(plain, { everyOp: true });
        if (exact.peakFootprintBytes !== util.peakFootprintBytes) throw new Error(`${name}: glibc's peak footprint is ${exact.peakFootprintBytes} sampled after every op, ${util.peakFootprintBytes} after the ops that can change it`);
        checkedEveryOp.push(name);
      }
      const glibcNs = glibc === undefined ? null : fastest(NATIVE_RUNS, () => glibc.time(plain));
      const otherNs = others.map((n) => fastest(NATIVE_RUNS, () => n.time(plain)));
      rmSync(plain);
      rows.push([
        name,
        trace.opCount.toLocaleString("en-US"),
        fmt(trace.peakLiveBytes / MIB),
        heap.utilization!.toFixed(3),
        glibcUtil === null ? "-" : glibcUtil.toFixed(3),
        glibcUtil === null ? "-" : (heap.utilization! - glibcUtil).toFixed(3),
        barText(trace.peakLiveBytes, heap.utilization!, glibcUtil),
        oneHeap === undefined ? "-" : (oneHeap.peakLiveBytes / oneHeap.peakFootprintBytes).toFixed(3),
        fmt(heap.nsPerOp!),
        glibcNs === null ? "-" : fmt(glibcNs),
        glibcNs === null ? "-" : ratio(heap.nsPerOp!, glibcNs),
        ...otherNs.map((ns) => fmt(ns)),
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printSection({
    title: "Every trace: the Heap (default store) vs glibc malloc, utilization and ns per op, same run",
    columns: ["trace", "ops", "peak live MiB", "Heap util.", "glibc util.", "Heap - glibc", "util. bar met", "glibc util., one heap", "Heap ns/op", "glibc ns/op", "Heap / glibc", ...others.map((n) => `${n.name} ns/op`)],
    rows,
    notes: [
      "Utilization: the Heap's peak live / peak extent (`heapkit replay`); glibc's peak live / the high-water of mallinfo2() arena + hblkhd, as sampled after every op (decision 11): " +
        `mallinfo2() is called after each op that can change it (a new sbrk(0), or a block of 64 KiB or more), and on ${checkedEveryOp.join(", ")} also after every op, with the same result. ` +
        `The bar: >= ${UTILIZATION_BAR} and >= glibc's - ${GLIBC_SLACK} on every trace with >= 1 MiB peak live. ` +
        "glibc, one heap: the same with glibc's mmap threshold at its most (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432), so that its large blocks too live in its one heap, " +
        "as a heapkit Heap's all live in its one buffer: glibc grows a large block in place with mremap and returns it to the system when freed, which a heap inside one buffer cannot. " +
        `ns/op: the Heap's fastest of 3 timed passes, each native allocator's fastest of ${NATIVE_RUNS} fresh processes of bench/native/replay.c (-O2; jemalloc, mimalloc, tcmalloc through LD_PRELOAD); bare calls, no block touched.`,
      ...(natives.length === 0 ? ["No C compiler: the native columns are left out."] : []),
    ],
  });
}

await main();

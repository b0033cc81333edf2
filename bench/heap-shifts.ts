/**
 * How much a trace's utilization under the Heap depends on where its blocks happen to fall:
 * replays each trace on a fresh `new Heap()` SHIFTS times, the k-th after one block of
 * k * 1000 + 17 bytes that stays live (k = 0: the trace as `heapkit replay` runs it), and prints
 * each peak live / peak extent with their mean and least. A trace whose figure jumps between
 * shifts has a placement coin-flip in it (for example a buffer that realloc grows by steps: which
 * step of it must move decides the peak).
 *
 *   npm run build && node dist/bench/heap-shifts.js TRACE.rep.gz... [--shifts 8]
 */
import { Heap } from "../src/heap/heap.js";
import { readTraceFile } from "../src/trace/reader.js";
import { OP_ALLOC, OP_REALLOC, type Trace } from "../src/trace/trace.js";

/** Peak live bytes (the trace's, the pinned block left out) over the heap's peak extent. */
function utilizationAfterShift(trace: Trace, shift: number): number {
  const heap = new Heap();
  if (shift > 0) heap.malloc(shift * 1000 + 17);
  const ptrs = new Uint32Array(trace.idCount);
  for (let op = 0; op < trace.opCount; op++) {
    const id = trace.ids[op]!;
    const kind = trace.kinds[op];
    if (kind === OP_ALLOC) ptrs[id] = heap.malloc(trace.sizes[op]!);
    else if (kind === OP_REALLOC) ptrs[id] = heap.realloc(ptrs[id]!, trace.sizes[op]!);
    else heap.free(ptrs[id]!);
  }
  return trace.peakLiveBytes / heap.stats().peakExtentBytes;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--shifts");
  const shifts = at >= 0 ? Number(args.splice(at, 2)[1]) : 8;
  if (!Number.isInteger(shifts) || shifts < 1) throw new Error(`--shifts takes a whole number of at least 1, not ${args[at + 1]}`);
  if (args.length === 0) throw new Error("usage: node dist/bench/heap-shifts.js TRACE.rep.gz... [--shifts 8]");
  console.log("| trace | utilization by shift (0 first) | mean | least |\n| --- | --- | --- | --- |");
  for (const file of args) {
    const trace = await readTraceFile(file);
    const utils = Array.from({ length: shifts }, (_, k) => utilizationAfterShift(trace, k));
    const mean = utils.reduce((a, b) => a + b, 0) / shifts;
    const name = file.split("/").pop()!.replace(/\.rep\.gz$/, "");
    console.log(`| ${name} | ${utils.map((u) => u.toFixed(3)).join(" ")} | ${mean.toFixed(3)} | ${Math.min(...utils).toFixed(3)} |`);
  }
}

await main();

/**
 * Where the Heap's bytes go at a trace's peak extent: replays the trace once to find the first op
 * after which the extent reached its peak, replays it again on a fresh `new Heap()` up to that op,
 * and sorts every span of the walk into what it is (live bytes, rounding inside slots, free slots
 * of partly used slabs, empty slabs, slab headers and tails, the mid layer's descriptor pages and
 * page-table leaves, TLSF free holes, TLSF headers and rounding).
 *
 *   npm run build && node dist/bench/heap-breakdown.js TRACE.rep.gz...
 */
import type { HeapSpan } from "../src/allocator.js";
import { Heap } from "../src/heap/heap.js";
import { Layout, Word } from "../src/heap/layout.js";
import { readTraceFile } from "../src/trace/reader.js";
import { OP_ALLOC, OP_REALLOC, type Trace } from "../src/trace/trace.js";

const MIB = 1 << 20;

/** Replays ops [0, count) of `trace` on `heap`; returns the op count after which the extent first peaked. */
function replay(trace: Trace, heap: Heap, count: number): number {
  const ptrs = new Uint32Array(trace.idCount);
  let peak = 0;
  let peakOp = 0;
  for (let op = 0; op < count; op++) {
    const id = trace.ids[op]!;
    const kind = trace.kinds[op];
    if (kind === OP_ALLOC) ptrs[id] = heap.malloc(trace.sizes[op]!);
    else if (kind === OP_REALLOC) ptrs[id] = heap.realloc(ptrs[id]!, trace.sizes[op]!);
    else heap.free(ptrs[id]!);
    const extent = heap.store.u32[Word.TOP]!; // stats() would sum over the slabs at every op
    if (extent > peak) {
      peak = extent;
      peakOp = op + 1;
    }
  }
  return peakOp;
}

type Row = Record<string, number>;

/** The walk's spans, sorted into rows; a slab is "empty" when none of its slots is used. */
function breakDown(spans: HeapSpan[]): Row {
  const row: Row = {};
  const add = (key: string, bytes: number) => (row[key] = (row[key] ?? 0) + bytes);
  let i = 0;
  while (i < spans.length) {
    const span = spans[i]!;
    const group = span.group;
    if (group?.kind === "slab") {
      const members: HeapSpan[] = [];
      while (i < spans.length && spans[i]!.group === group) members.push(spans[i++]!);
      const layer = group.sizeClassBytes! <= Layout.SMALL_MAX_BYTES ? "small" : "mid";
      const used = members.filter((s) => s.kind === "used");
      if (used.length === 0) {
        add(`${layer}: empty slabs`, group.bytes);
        continue;
      }
      for (const s of members) {
        if (s.kind === "used") {
          add("live bytes", s.requestedBytes!);
          add(`${layer}: rounding in slots`, s.bytes - s.requestedBytes!);
        } else if (s.kind === "free") add(`${layer}: free slots of partly used slabs`, s.bytes);
        else add(`${layer}: slab headers and tails`, s.bytes);
      }
      continue;
    }
    i++;
    if (span.kind === "used") {
      add("live bytes", span.requestedBytes!);
      add("tlsf: headers and rounding of blocks", span.bytes - span.requestedBytes!);
    } else if (span.kind === "free") add("tlsf: free holes", span.bytes);
    else if (span.detail?.startsWith("mid")) add(`meta: ${span.detail}`, span.bytes);
    else add("meta: control block, page map, root, alignment", span.bytes);
  }
  return row;
}

async function main(): Promise<void> {
  for (const file of process.argv.slice(2)) {
    const trace = await readTraceFile(file);
    const peakOp = replay(trace, new Heap(), trace.opCount);
    const heap = new Heap();
    replay(trace, heap, peakOp);
    const stats = heap.stats();
    const spans = [...heap.walk()].filter((s) => s.start < stats.extentBytes);
    const row = breakDown(spans);
    const extent = stats.extentBytes;
    console.log(`\n${file}: peak extent ${(extent / MIB).toFixed(2)} MiB after op ${peakOp} of ${trace.opCount}; peak live ${(trace.peakLiveBytes / MIB).toFixed(2)} MiB (utilization ${(trace.peakLiveBytes / stats.peakExtentBytes).toFixed(3)})`);
    for (const [key, bytes] of Object.entries(row).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${key.padEnd(48)} ${(bytes / 1024).toFixed(0).padStart(8)} KiB  ${((100 * bytes) / extent).toFixed(1).padStart(5)} %`);
    }
  }
}

await main();

/**
 * `npm start`: a short live demo of the Heap in the terminal. It allocates and frees blocks of
 * mixed sizes, draws the heap after each step (one character per span of bytes: # used, . free,
 * - allocator metadata) and prints the stats, then shows a memory bug being caught.
 */
import { DoubleFreeError, Heap, type BlockInfo } from "../src/index.js";

const WIDTH = 64;
const heap = new Heap({ maxBytes: 1 << 24 });

/** One row of WIDTH characters over [from, to): the state covering most of each cell. */
function draw(blocks: BlockInfo[], from: number, to: number): string {
  const cell = (to - from) / WIDTH;
  const cover = Array.from({ length: WIDTH }, () => ({ used: 0, free: 0, meta: 0 }));
  for (const b of blocks) {
    for (let i = Math.max(0, Math.floor((b.offset - from) / cell)); i < WIDTH && from + i * cell < b.offset + b.sizeBytes; i++) {
      const lo = Math.max(b.offset, from + i * cell);
      const hi = Math.min(b.offset + b.sizeBytes, from + (i + 1) * cell);
      if (hi > lo) cover[i]![b.state] += hi - lo;
    }
  }
  return cover.map((c) => (c.used + c.free + c.meta === 0 ? " " : c.used >= c.free && c.used >= c.meta ? "#" : c.free >= c.meta ? "." : "-")).join("");
}

function show(step: string): void {
  const blocks = [...heap.walk()];
  const s = heap.stats();
  const first = blocks[0]?.offset ?? 0;
  console.log(`\n${step}`);
  console.log(`  [${draw(blocks, first, Math.max(s.extentBytes, first + 1))}]`);
  console.log(`  live ${s.liveBlocks} blocks / ${s.liveBytes} B   extent ${s.extentBytes} B   committed ${s.committedBytes} B of ${s.reservedBytes} reserved`);
  console.log(`  free ${s.freeBytes} B (largest hole ${s.largestFreeBytes} B, external fragmentation ${(s.externalFragmentation * 100).toFixed(0)}%)   rounding ${s.internalFragmentationBytes} B`);
}

show("A new heap: only its control block.");
const sizes = [7000, 12000, 5000, 20000, 6000, 9000, 15000, 8000];
const blocks = sizes.map((size) => heap.malloc(size));
show(`malloc of ${sizes.join(", ")} bytes: above 4080 bytes, TLSF blocks, one after another.`);
for (const i of [1, 3, 5]) heap.free(blocks[i]!);
show("free of three of them: holes form between live blocks.");
heap.free(blocks[2]!);
show(`free of the block between two holes, at once: the three holes coalesce into one.`);
const reused = heap.malloc(30_000);
show(`malloc(30000) takes that hole (at ${reused}) instead of growing the heap.`);
const mid = Array.from({ length: 60 }, (_, i) => heap.malloc([300, 1000, 3000][i % 3]!));
show(`60 blocks of 300, 1000 and 3000 bytes (last at ${mid.at(-1)}): slots of 16 KiB mid slabs, one size class each, bookkeeping in the slab's header.`);
const small = Array.from({ length: 40 }, (_, i) => heap.malloc(8 + (i % 4) * 24));
show(`40 small blocks (8..80 bytes, last at ${small.at(-1)}): slab pages of one size class each, no header per block.`);
heap.check();
heap.free(blocks[0]!);
try {
  heap.free(blocks[0]!);
} catch (error) {
  if (!(error instanceof DoubleFreeError)) throw error;
  console.log(`\nA second free of the same block is caught, and the heap is unchanged:\n  ${error.name}: ${error.message}`);
}
heap.check();
console.log("\nMore: `npx heapkit --help` (replay and compare real traces), README.md.");

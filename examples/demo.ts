/**
 * `npm run demo`: a short live demo of the Heap in the terminal. It allocates and frees blocks of
 * mixed sizes, draws the heap after each step from its walk (one character per cell of bytes,
 * after the kind of span covering most of it: see LEGEND) and prints the stats, then shows a
 * memory bug being caught.
 */
import { DoubleFreeError, Heap, SPAN_FREE, SPAN_META, SPAN_PAD, SPAN_USED } from "../src/index.js";

const WIDTH = 64;
/** The reservation: the most the heap's store may grow to (it commits far less). */
const RESERVED_BYTES = 16 * 1024 * 1024;
const heap = new Heap({ maxBytes: RESERVED_BYTES });

/** A cell's character, by span kind code (SPAN_USED, SPAN_FREE, SPAN_META, SPAN_PAD). */
const GLYPHS = ["#", ".", "-", "~"];
const LEGEND = "# used   . free   - allocator metadata (control block, headers, descriptors)   ~ padding";
if (GLYPHS[SPAN_USED] !== "#" || GLYPHS[SPAN_FREE] !== "." || GLYPHS[SPAN_META] !== "-" || GLYPHS[SPAN_PAD] !== "~") throw new Error("demo: glyphs out of order");

/** One row of WIDTH characters over [from, to): the kind of span covering most of each cell. */
function draw(from: number, to: number): string {
  const cell = (to - from) / WIDTH;
  const cover = new Float64Array(WIDTH * GLYPHS.length);
  heap.walkInto((start, bytes, kind) => {
    const end = start + bytes;
    for (let i = Math.max(0, Math.floor((start - from) / cell)); i < WIDTH && from + i * cell < end; i++) {
      const covered = Math.min(end, from + (i + 1) * cell) - Math.max(start, from + i * cell);
      if (covered > 0) cover[i * GLYPHS.length + kind] += covered;
    }
  }, from, to);
  let row = "";
  for (let i = 0; i < WIDTH; i++) {
    let best = 0;
    for (let k = 1; k < GLYPHS.length; k++) if (cover[i * GLYPHS.length + k]! > cover[i * GLYPHS.length + best]!) best = k;
    row += cover[i * GLYPHS.length + best] === 0 ? " " : GLYPHS[best];
  }
  return row;
}

function show(step: string): void {
  const s = heap.stats();
  console.log(`\n${step}`);
  console.log(`  [${draw(s.baseOffset, Math.max(s.extentBytes, s.baseOffset + 1))}]`);
  console.log(`  live ${s.liveBlocks} blocks / ${s.liveBytes} B   extent ${s.extentBytes} B   committed ${s.committedBytes} B of ${s.reservedBytes} reserved`);
  console.log(`  free ${s.freeBytes} B (largest hole ${s.largestFreeBytes} B, external fragmentation ${(s.externalFragmentation * 100).toFixed(0)}%)   rounding ${s.internalFragmentationBytes} B`);
}

console.log(`A Heap reserving ${RESERVED_BYTES / 2 ** 20} MiB (the most its store may grow to; it commits only what it uses).`);
console.log(`Each row draws the heap from its start to its extent, ${WIDTH} cells:  ${LEGEND}`);
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
show(`60 blocks of 300, 1000 and 3000 bytes (last at ${mid.at(-1)}): slots of 16 KiB mid slabs, one size class each, their bookkeeping in descriptors packed on pages of their own.`);
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

/**
 * Mid classes in tests: a class whose slabs are all full (or that has none) serves TLSF blocks
 * until it holds a slab's worth of live ones (src/heap/mid-slabs.ts); a test about the mid slabs
 * first makes its class hot this way.
 */
import type { Heap } from "../../src/heap/heap.js";
import { Word } from "../../src/heap/layout.js";
import { MID_CLASS_OF, MID_CLASSES } from "../../src/heap/mid-layout.js";

/** Live TLSF blocks of `size`'s mid class, malloc'd until the class's next malloc makes a slab; returns them. */
export function warmMidClass(heap: Heap, size: number): number[] {
  const c = MID_CLASS_OF[(size + 15) >>> 4]!;
  const blocks: number[] = [];
  while (heap.u32[Word.MID_TLSF_LIVE + c]! < MID_CLASSES[c]!.capacity) blocks.push(heap.malloc(size));
  return blocks;
}

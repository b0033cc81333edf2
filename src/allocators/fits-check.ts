/**
 * `FitAllocator.check()`: walks every block (through the allocator's own walk, which throws at a
 * header that fails its seal) and the free list beside it, and compares the gauges with what the
 * blocks say. The invariants are listed in fits-layout.ts.
 */
import { HeapCorruptionError } from "../errors.js";
import type { FitAllocator } from "./fits.js";
import { Ctrl, Fits } from "./fits-layout.js";

export function checkFits(fits: FitAllocator): void {
  const u32 = fits.store.u32;
  const f64 = fits.store.f64;
  const fail = (message: string, at?: number): never => { throw new HeapCorruptionError(message, at); };
  if (u32[Ctrl.MAGIC >>> 2] !== Fits.MAGIC) fail("control block magic is wrong", 0);
  const top = u32[Ctrl.TOP >>> 2]!;
  if (top < Ctrl.HEAP_START || top % Fits.GRANULE_BYTES !== 0 || top > fits.store.committedBytes) fail(`TOP ${top} is outside the store`, 0);
  let liveBlocks = 0, liveBytes = 0, usedBlockBytes = 0, previousFree = false, end = Ctrl.HEAP_START;
  let listed = u32[Ctrl.FREE_HEAD >>> 2]!, prevListed = 0, roverSeen = u32[Ctrl.ROVER >>> 2] === 0;
  for (const block of fits.walk()) {
    if (block.kind === "meta") continue;
    const b = block.start;
    const s = block.bytes;
    end = b + s;
    if (u32[(b + s - Fits.FOOTER_BYTES) >>> 2] !== u32[b >>> 2]) fail("header and footer disagree", b);
    if (block.kind === "used") {
      const asked = block.requestedBytes!;
      if (asked > s - Fits.OVERHEAD_BYTES) fail(`asked ${asked} bytes of a ${s}-byte block`, b);
      liveBlocks++;
      liveBytes += asked;
      usedBlockBytes += s;
      previousFree = false;
      continue;
    }
    if (previousFree && fits.coalesce === "immediate") fail("two adjacent free blocks under immediate coalescing", b);
    previousFree = true;
    if (listed !== b) fail(`the free list holds ${listed} where the next free block is ${b}`, b);
    if (u32[(b + Fits.PREV) >>> 2] !== prevListed) fail(`back link ${u32[(b + Fits.PREV) >>> 2]} should be ${prevListed}`, b);
    if (b === u32[Ctrl.ROVER >>> 2]) roverSeen = true;
    prevListed = b;
    listed = u32[(b + Fits.NEXT) >>> 2]!;
  }
  if (end !== top) fail(`blocks end at ${end}, TOP is ${top}`, end);
  if (listed !== 0) fail("the free list continues past the last free block", listed);
  if (!roverSeen) fail("the roving pointer is not on the free list", u32[Ctrl.ROVER >>> 2]);
  const gauges: [string, number, number][] = [
    ["LIVE_BLOCKS", f64[Ctrl.LIVE_BLOCKS >>> 3]!, liveBlocks], ["LIVE_BYTES", f64[Ctrl.LIVE_BYTES >>> 3]!, liveBytes],
    ["USED_BLOCK_BYTES", f64[Ctrl.USED_BLOCK_BYTES >>> 3]!, usedBlockBytes],
  ];
  for (const [name, stored, counted] of gauges) if (stored !== counted) fail(`${name} is ${stored}, the blocks say ${counted}`, 0);
}

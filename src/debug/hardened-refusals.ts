/**
 * Why HardenedHeap (hardened-heap.ts) refuses a call: the error for an offset that cannot head a
 * block, for a block already freed, and for a header that fails its checksum (the slow path that
 * walks the inner allocator to tell a smashed header from an interior or forged offset), and an
 * inner InvalidSizeError reworded to name the size the caller asked. Error paths only: the
 * wrapper's fast path checks the header itself and comes here only to throw.
 */
import type { Allocator } from "../allocator.js";
import { DoubleFreeError, HeapCorruptionError, InvalidFreeError, InvalidSizeError } from "../errors.js";
import { CorruptedHeaderError } from "./errors.js";
import { FREED, HEADER_BYTES, type HeaderProbe } from "./hardened-header.js";

/** The calls that take a block's user offset. */
export type HardenedOperation = "free" | "realloc" | "usableSize";

/** An offset that is not a multiple of 8 inside the store: no block can start there. */
export function outsideError(ptr: unknown, operation: string): InvalidFreeError {
  return new InvalidFreeError(ptr, `${operation} of an offset that cannot head a block of this heap (blocks start at multiples of 8 inside the store)`);
}

/** A valid header that says FREED: a double free, or a realloc/usableSize of a freed block. */
export function notLiveError(ptr: number, operation: string): InvalidFreeError {
  return operation === "free"
    ? new DoubleFreeError(ptr, " (its hardened header says so; the free was refused)")
    : new InvalidFreeError(ptr, `${operation} of a freed block (use after free); refused`);
}

/**
 * The header at ptr-8 fails its checksum (words `w0`, `w1`). Slow path: walk the inner allocator
 * to tell a smashed header (ptr heads a live inner block) from an interior or forged offset, and
 * refuse either way.
 */
export function badHeaderError(inner: Allocator, probe: HeaderProbe, ptr: number, operation: HardenedOperation, w0: number, w1: number): Error {
  try {
    for (const block of inner.walk()) {
      if (block.start > ptr) break;
      if (block.kind === "free" && ptr - HEADER_BYTES < block.start + block.bytes) {
        return new InvalidFreeError(ptr, `${operation} of an offset in free memory (a double free, or a forged offset); refused`);
      }
      if (block.kind !== "used") continue;
      const owner = probe.find(block.ptr!);
      const end = block.ptr! + inner.usableSize(block.ptr!);
      if (ptr >= end) continue;
      if (owner < 0 || owner === ptr) {
        return new CorruptedHeaderError(ptr, operation, [w0, w1],
          "the block's header was overwritten (a write before its start, or past the end of the block before it)");
      }
      const freed = probe.state === FREED ? "freed " : "";
      return new InvalidFreeError(ptr, ptr > owner
        ? `${operation} of an interior offset: ${ptr - owner} bytes into ${freed}block ${owner} (${probe.size} bytes); refused`
        : `${operation} of an offset in the header of ${freed}block ${owner}; refused`);
    }
  } catch (error) {
    if (!(error instanceof HeapCorruptionError || error instanceof InvalidFreeError)) throw error;
    return new CorruptedHeaderError(ptr, operation, [w0, w1], `and the inner allocator cannot be walked (${(error as Error).message})`);
  }
  return new InvalidFreeError(ptr, `${operation} of an offset that is not a live block of this heap ` +
    "(no valid header: a forged offset, or a block already freed whose memory was reused); refused");
}

/**
 * `error` from the inner allocator for a block of `size` bytes plus its `pad`-byte header: an
 * InvalidSizeError for that total is reworded to name `size`, anything else passes through.
 */
export function callerSizeError(error: unknown, size: number, pad: number, innerName: string): unknown {
  if (!(error instanceof InvalidSizeError && error.size === Math.max(size, 1) + pad)) return error;
  return new InvalidSizeError(size, `with its ${pad}-byte header the block needs ${Math.max(size, 1) + pad} bytes, ` +
    `which ${innerName} refuses (${error.message})`);
}

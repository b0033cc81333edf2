/**
 * The block header of HardenedHeap (hardened-heap.ts, where the layout is drawn): its fields,
 * its keyed checksum, the probe that finds it in an inner block, and the wrapper's options and
 * stats.
 */
import type { Allocator, AllocatorStats } from "../allocator.js";
import type { ByteStore } from "../memory/store.js";
import { MAX_ALIGN } from "./options.js";

export const HEADER_BYTES = 8;
// Header fields (word 1 = checksum << 8 | state << STATE_SHIFT | shift).
export const STATE_SHIFT = 6;
export const ALIGN_SHIFT_MASK = 0x3f;
export const LIVE = 1;
export const FREED = 2;
/** Largest `shift` a probe tries: pads up to 8 << 13 = MAX_ALIGN. */
export const MAX_SHIFT = Math.log2(MAX_ALIGN) - 3;
if (8 << MAX_SHIFT !== MAX_ALIGN || MAX_SHIFT > ALIGN_SHIFT_MASK) throw new Error("hardened header: MAX_ALIGN does not fit the shift field");

export interface HardenedHeapOptions {
  /** The allocator to harden (the wrapper owns it from now on). @defaultValue a new Heap */
  inner?: Allocator;
  /** Freed bytes held before the inner allocator may reuse them; 0 reuses at once. @defaultValue 0 */
  quarantineBytes?: number;
  /** The key of the header checksums (an unsigned 32-bit integer). @defaultValue random per heap */
  secret?: number;
}

/** Stats in the user's view, plus the header cost and the delayed-reuse queue. */
export interface HardenedHeapStats extends AllocatorStats {
  /** Header and alignment padding bytes of live blocks. */
  headerBytes: number;
  quarantinedBlocks: number;
  quarantinedBytes: number;
}

/**
 * The keyed header checksum (24 bits): murmur3-style multiply-xorshift rounds, one per field, so
 * that no change of size and state together cancels out.
 */
export function headerChecksum(secret: number, ptr: number, size: number, low8: number): number {
  let h = Math.imul(ptr ^ secret, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ size, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13) ^ low8, 0xc2b2ae3d);
  return (h ^ (h >>> 16)) >>> 8;
}


/**
 * Finds the header of an inner block whose pad is not known (check(), walk(), and telling why an
 * offset was refused), trying each pad, the smaller first. Off the fast path, which reads the
 * pad from the header at ptr-8.
 */
export class HeaderProbe {
  /** The state of the header the last successful `find` read. */
  state = 0;
  /** The size of the header the last successful `find` read. */
  size = 0;

  constructor(private readonly store: ByteStore, private readonly secret: number) {}

  /** The user offset whose valid header sits in the inner block at `base` (trying each pad), or -1. */
  find(base: number): number {
    const u32 = this.store.u32;
    for (let shift = 0; shift <= MAX_SHIFT; shift++) {
      const ptr = base + (8 << shift);
      const h = (ptr - HEADER_BYTES) >>> 2;
      if (h + 1 >= u32.length) break;
      const size = u32[h]!;
      const meta = u32[h + 1]!;
      const low = meta & 0xff;
      if ((low & ALIGN_SHIFT_MASK) === shift && meta >>> 8 === headerChecksum(this.secret, ptr, size, low)) {
        const state = low >>> STATE_SHIFT;
        if (state !== LIVE && state !== FREED) continue;
        this.state = state;
        this.size = size;
        return ptr;
      }
    }
    return -1;
  }
}

/** The options of DebugHeap (debug-heap.ts), with their defaults and their validation, and its stats. */
import type { Allocator, AllocatorStats } from "../allocator.js";
import { MAX_STORE_BYTES } from "../memory/store.js";
import { ALLOC_FILL } from "./canaries.js";
import { option } from "./options.js";

export interface DebugHeapOptions {
  /** The allocator to check (the wrapper owns it from now on). @defaultValue a new Heap */
  inner?: Allocator;
  /** Bytes of red zone before (rounded up to the alignment) and at least after each block. @defaultValue 16 */
  redZoneBytes?: number;
  /**
   * Freed bytes (red zones included) held poisoned before reuse; 0 releases at once (and sees no
   * write after free). The newest freed block always waits, however big, so a block larger than
   * the quarantine is checked too, when the next free pushes it out. Bigger catches older stale
   * pointers but costs more: the poison of a block leaving quarantine is read back from memory
   * that has gone cold (see bench/debug.ts). @defaultValue 256 KiB
   */
  quarantineBytes?: number;
  /** Freed blocks remembered after leaving quarantine, to explain a late double free. @defaultValue 65536 */
  historyBlocks?: number;
  /** Capture a stack trace on every malloc, realloc and free (costly: several µs each). @defaultValue false */
  captureStacks?: boolean;
  /** Frames kept per stack. @defaultValue 12 */
  stackDepth?: number;
  /** Byte written over fresh user memory; null leaves it as the inner allocator returns it. @defaultValue 0xbe */
  allocFill?: number | null;
  /**
   * The most user bytes of a block filled on malloc; on free, the first and the last this many
   * user bytes are poisoned (then verified when the block leaves quarantine), so a write after
   * free into the middle of a block over twice this size goes unseen. Red zones are always
   * whole. Like ASan's `max_malloc_fill_size`, this keeps big blocks from costing a pass over all
   * their bytes. Infinity poisons whole blocks. @defaultValue 1024
   */
  maxFillBytes?: number;
  /** Largest blocks listed per site in leak reports. @defaultValue 8 */
  maxBlocksPerSite?: number;
}

export const DEFAULT_RED_ZONE_BYTES = 16;
export const DEFAULT_QUARANTINE_BYTES = 256 << 10;
export const DEFAULT_HISTORY_BLOCKS = 65536;
export const DEFAULT_STACK_DEPTH = 12;
export const DEFAULT_MAX_FILL_BYTES = 1024;
export const DEFAULT_MAX_BLOCKS_PER_SITE = 8;

/**
 * The options validated (an InvalidSizeError names the first bad one, in this order), with the
 * defaults filled in.
 */
export function debugHeapSettings(options: DebugHeapOptions) {
  const redZoneBytes = option("redZoneBytes", options.redZoneBytes, DEFAULT_RED_ZONE_BYTES, 1, 1 << 20);
  const historyBlocks = option("historyBlocks", options.historyBlocks, DEFAULT_HISTORY_BLOCKS, 0, 2 ** 31);
  const quarantineBytes = option("quarantineBytes", options.quarantineBytes, DEFAULT_QUARANTINE_BYTES, 0, MAX_STORE_BYTES);
  const maxBlocksPerSite = option("maxBlocksPerSite", options.maxBlocksPerSite, DEFAULT_MAX_BLOCKS_PER_SITE, 0, 2 ** 31);
  const allocFill = options.allocFill === undefined ? ALLOC_FILL : options.allocFill;
  if (allocFill !== null) option("allocFill", allocFill, 0, 0, 255);
  const maxFill = options.maxFillBytes ?? DEFAULT_MAX_FILL_BYTES;
  const maxFillBytes = maxFill === Infinity ? MAX_STORE_BYTES : option("maxFillBytes", maxFill, 0, 0, MAX_STORE_BYTES);
  const stackDepth = option("stackDepth", options.stackDepth, DEFAULT_STACK_DEPTH, 1, 200);
  return { redZoneBytes, historyBlocks, quarantineBytes, maxBlocksPerSite, allocFill, maxFillBytes, captureStacks: options.captureStacks ?? false, stackDepth };
}

/** Stats in the user's view (live bytes = requested bytes), plus what checking costs. */
export interface DebugHeapStats extends AllocatorStats {
  /** Red zone and slack bytes around live blocks. */
  redZoneBytes: number;
  quarantinedBlocks: number;
  /** Bytes held in quarantine, red zones included. */
  quarantinedBytes: number;
}

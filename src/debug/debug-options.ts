/** The options of DebugHeap (debug-heap.ts), with their defaults. */
import type { Allocator } from "../allocator.js";

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

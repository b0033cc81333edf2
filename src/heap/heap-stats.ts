/** The Heap's statistics: a leaf module, so that the files which compute them need not import heap.ts. */
import type { AllocatorStats } from "../allocator.js";

export interface HeapStats extends AllocatorStats {
  slabPages: number;
  /** Mid slabs (16 or 32 KiB each, by class) serving requests of 257..4080 bytes. */
  midSlabs: number;
}

/** The Heap's statistics: a leaf module, so that the files which compute them need not import heap.ts. */
import type { AllocatorStats } from "../allocator.js";

export interface HeapStats extends AllocatorStats {
  slabPages: number;
  /** Mid slabs (16, 32 or 64 KiB each, by class) serving requests of 257..8176 bytes. */
  midSlabs: number;
}

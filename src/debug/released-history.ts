/**
 * The released blocks DebugHeap (debug-heap.ts) still remembers: a block that has left quarantine
 * keeps its record and its shadow entry for a while, so that a late double free still has both
 * stories. At most `limitBlocks` are kept, oldest forgotten first. The order is kept in a ring of
 * (offset, slot) pairs (the FIFO of quarantine.ts, unbounded in bytes): an entry whose slot no
 * longer is that offset's released record (it came back to life, or was replaced) is skipped.
 */
import type { Shadow } from "./block-index.js";
import { type BlockTable, SlotState } from "./block-table.js";
import { Quarantine } from "./quarantine.js";

export class ReleasedHistory {
  /** Released blocks still in the shadow, oldest first (a FIFO used as a plain ring). */
  private readonly ring = new Quarantine(Infinity);

  constructor(
    private readonly table: BlockTable,
    private readonly shadow: Shadow,
    /** The most released blocks remembered. */
    private readonly limitBlocks: number,
  ) {}

  /** Remembers the block in `slot`, just released, at user offset `ptr`; forgets the oldest past the limit. */
  remember(ptr: number, slot: number): void {
    this.ring.push(ptr, slot, 0);
    while (this.ring.count > this.limitBlocks) {
      const oldPtr = this.ring.shift();
      const oldSlot = this.ring.lastAux;
      if (this.shadow.slotOf(oldPtr) === oldSlot && this.table.state(oldSlot) === SlotState.RELEASED) {
        this.shadow.clear(oldPtr);
        this.table.release(oldSlot);
      }
    }
  }
}

/**
 * The two ways into the debug heap's BlockTable besides a slot number:
 *
 *   Shadow     user offset -> slot, one Int32 per 8 store bytes (ASan's shadow memory, here
 *              holding slot + 1, 0 for none), for live blocks and freed ones still remembered.
 *              User offsets are multiples of 8, so no two blocks share an entry.
 *   LiveSlots  the slots of the live blocks, densely (order changes on removal); each row's
 *              `liveIndex` is the way back, so removal is O(1).
 */
import type { BlockTable } from "./block-table.js";

export class Shadow {
  private entries: Int32Array = new Int32Array(1024);

  /** The slot of the live or freed block whose user offset is `ptr`, or -1. */
  slotOf(ptr: number): number {
    if (!(typeof ptr === "number" && (ptr >>> 0) === ptr && (ptr & 7) === 0)) return -1;
    const i = ptr >>> 3;
    return i < this.entries.length ? this.entries[i]! - 1 : -1;
  }

  /** Records `slot` as the block at user offset `ptr` (a multiple of 8). */
  set(ptr: number, slot: number): void {
    const i = ptr >>> 3;
    if (i >= this.entries.length) this.entries = grownInt32(this.entries, Math.max(i + 1, this.entries.length * 2));
    this.entries[i] = slot + 1;
  }

  clear(ptr: number): void {
    this.entries[ptr >>> 3] = 0;
  }
}

export class LiveSlots {
  private slots: Int32Array = new Int32Array(256);
  private n = 0;

  constructor(private readonly table: BlockTable) {}

  get count(): number {
    return this.n;
  }

  /** The i-th live slot, 0 <= i < count. */
  at(i: number): number {
    return this.slots[i]!;
  }

  add(slot: number): void {
    if (this.n === this.slots.length) this.slots = grownInt32(this.slots, this.n * 2);
    this.table.setLiveIndex(slot, this.n);
    this.slots[this.n++] = slot;
  }

  /** Removes a live slot, moving the last one into its place. */
  remove(slot: number): void {
    const last = this.slots[--this.n]!;
    const index = this.table.liveIndex(slot);
    this.slots[index] = last;
    this.table.setLiveIndex(last, index);
  }

  /** The live block whose span [base, end) holds `offset` (a linear scan: error paths only). */
  around(offset: number): number | undefined {
    const t = this.table;
    for (let i = 0; i < this.n; i++) {
      const slot = this.slots[i]!;
      if (t.base(slot) <= offset && offset < t.end(slot)) return slot;
    }
    return undefined;
  }
}

function grownInt32(old: Int32Array, length: number): Int32Array {
  const bigger = new Int32Array(length);
  bigger.set(old);
  return bigger;
}

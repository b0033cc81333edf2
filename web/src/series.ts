/**
 * Footprint over time for the plot: live, extent and committed bytes sampled at op indices,
 * at most `capacity` points. When full, every other point is dropped and the sampling stride
 * doubles, so a million-op trace keeps an even, bounded history. Going back in time (undo, a
 * scrub backwards) drops the points after the new op.
 */
export class FootprintSeries {
  readonly ops: number[] = [];
  readonly live: number[] = [];
  readonly extent: number[] = [];
  readonly committed: number[] = [];
  /** Ops between kept samples. */
  stride = 1;

  constructor(readonly capacity = 2048) {}

  /** Whether `add(op, ...)` would keep a point (so a caller can skip reading the gauges). */
  wants(op: number): boolean {
    const last = this.ops.length === 0 ? -Infinity : this.ops[this.ops.length - 1]!;
    return op < last || op - last >= this.stride;
  }

  /** Records the gauges after op `op` (ignored when too close to the last kept point). */
  add(op: number, live: number, extent: number, committed: number): void {
    if (!this.wants(op)) return;
    const last = this.ops.length === 0 ? -Infinity : this.ops[this.ops.length - 1]!;
    if (op < last) this.truncateAfter(op);
    this.ops.push(op);
    this.live.push(live);
    this.extent.push(extent);
    this.committed.push(committed);
    if (this.ops.length >= this.capacity) this.halve();
  }

  /** Keeps only the points at or before `op`. */
  truncateAfter(op: number): void {
    let keep = this.ops.length;
    while (keep > 0 && this.ops[keep - 1]! > op) keep--;
    for (const column of [this.ops, this.live, this.extent, this.committed]) column.length = keep;
  }

  clear(): void {
    this.truncateAfter(-Infinity);
    this.stride = 1;
  }

  private halve(): void {
    for (const column of [this.ops, this.live, this.extent, this.committed]) {
      let out = 0;
      for (let i = 0; i < column.length; i += 2) column[out++] = column[i]!;
      column.length = out;
    }
    this.stride *= 2;
  }
}

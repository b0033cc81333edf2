/**
 * The growable typed arrays the parser fills: the op columns (kind, id, size per op) and the
 * per-id table of live sizes. Both double when full, so a multi-million-op trace costs a few
 * reallocations and 13 bytes per op, never an object per op.
 */

/** Reserve at most this many ops or ids up front, whatever the header promises. */
const MAX_RESERVED = 1 << 22;
const MIN_CAPACITY = 1024;

export class OpColumns {
  length = 0;
  private kinds = new Uint8Array(MIN_CAPACITY);
  private ids = new Uint32Array(MIN_CAPACITY);
  private sizes = new Float64Array(MIN_CAPACITY);

  /** Makes room for `count` ops (capped, the header may lie). */
  reserve(count: number): void {
    this.growTo(Math.min(count, MAX_RESERVED));
  }

  push(kind: number, id: number, size: number): void {
    const i = this.length;
    if (i === this.kinds.length) this.growTo(i * 2);
    this.kinds[i] = kind;
    this.ids[i] = id;
    this.sizes[i] = size;
    this.length = i + 1;
  }

  /** The filled part: the arrays themselves when full (the header was right), else copies. */
  trimmed(): { kinds: Uint8Array; ids: Uint32Array; sizes: Float64Array } {
    if (this.length === this.kinds.length) return { kinds: this.kinds, ids: this.ids, sizes: this.sizes };
    return {
      kinds: this.kinds.slice(0, this.length),
      ids: this.ids.slice(0, this.length),
      sizes: this.sizes.slice(0, this.length),
    };
  }

  private growTo(capacity: number): void {
    if (capacity <= this.kinds.length) return;
    this.kinds = grown(this.kinds, new Uint8Array(capacity));
    this.ids = grown(this.ids, new Uint32Array(capacity));
    this.sizes = grown(this.sizes, new Float64Array(capacity));
  }
}

/** Per id: its size while live, NOT_LIVE after a free, NEVER_USED before its first alloc. */
const NOT_LIVE = -1;
const NEVER_USED = -2;

export class LiveSizes {
  /** One more than the highest id bound so far. */
  idCount = 0;
  liveCount = 0;
  /** Allocs of an id that had been freed before. */
  reusedCount = 0;
  private sizes = new Float64Array(MIN_CAPACITY).fill(NEVER_USED);

  /** Makes room for ids below `count` (capped, the header may lie). */
  reserve(count: number): void {
    if (count > this.sizes.length) this.growTo(Math.min(count, MAX_RESERVED));
  }

  isLive(id: number): boolean {
    return id < this.sizes.length && this.sizes[id]! >= 0;
  }

  sizeOf(id: number): number {
    return this.sizes[id]!;
  }

  bind(id: number, size: number): void {
    if (id >= this.sizes.length) this.growTo(Math.max(id + 1, this.sizes.length * 2));
    if (this.sizes[id] === NOT_LIVE) this.reusedCount++;
    if (id >= this.idCount) this.idCount = id + 1;
    this.sizes[id] = size;
    this.liveCount++;
  }

  resize(id: number, size: number): void {
    this.sizes[id] = size;
  }

  unbind(id: number): void {
    this.sizes[id] = NOT_LIVE;
    this.liveCount--;
  }

  private growTo(capacity: number): void {
    const bigger = new Float64Array(capacity).fill(NEVER_USED);
    bigger.set(this.sizes);
    this.sizes = bigger;
  }
}

function grown<T extends Uint8Array | Uint32Array | Float64Array>(old: T, bigger: T): T {
  bigger.set(old as never);
  return bigger;
}

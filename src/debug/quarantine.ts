/**
 * A quarantine: freed blocks wait here, oldest first, before their memory goes back to the inner
 * allocator, so that a stale pointer keeps pointing at poison (debug) or at a dead header
 * (hardened) for a while instead of at someone else's new block. ASan's quarantine
 * (asan_allocator.cpp, bounded by `quarantine_size_mb`) and scudo's (bounded per thread and
 * globally) are the models; this one is a single FIFO bounded by bytes.
 *
 *   ring:   keys[i], aux[i], bytes[i]  for i = head .. head+count-1 (mod capacity)
 *
 * Invariant: `bytes` is the sum of the entries' bytes; after `push` the caller drains with
 * `shift()` while `overBudget`. The ring is a few typed arrays that double when full: no JS
 * object per block.
 */
export class Quarantine {
  count = 0;
  bytes = 0;
  private head = 0;
  private keys: Uint32Array;
  private aux: Uint32Array;
  private sizes: Float64Array;

  constructor(
    /** The most bytes held before the oldest block is released. 0: release at once. */
    readonly limitBytes: number,
    initialCapacity = 64,
  ) {
    this.keys = new Uint32Array(initialCapacity);
    this.aux = new Uint32Array(initialCapacity);
    this.sizes = new Float64Array(initialCapacity);
  }

  get overBudget(): boolean {
    return this.bytes > this.limitBytes;
  }

  push(key: number, aux: number, bytes: number): void {
    if (this.count === this.keys.length) this.grow();
    const i = (this.head + this.count) % this.keys.length;
    this.keys[i] = key;
    this.aux[i] = aux;
    this.sizes[i] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** The oldest entry's key; read `lastAux` for its aux word. The ring must not be empty. */
  shift(): number {
    const i = this.head;
    this.head = (i + 1) % this.keys.length;
    this.count--;
    this.bytes -= this.sizes[i]!;
    this.lastAux = this.aux[i]!;
    return this.keys[i]!;
  }

  /**
   * The oldest entry's key, left in place (its aux word in `lastAux`): a release calls the inner
   * allocator first and `shift()`s only once that succeeded, so a throw leaves the entry queued.
   */
  peek(): number {
    this.lastAux = this.aux[this.head]!;
    return this.keys[this.head]!;
  }

  /** The aux word of the entry `shift()` or `peek()` returned last. */
  lastAux = 0;

  /** Every entry, oldest first, as [key, aux, bytes]. */
  *entries(): IterableIterator<[number, number, number]> {
    for (let n = 0; n < this.count; n++) {
      const i = (this.head + n) % this.keys.length;
      yield [this.keys[i]!, this.aux[i]!, this.sizes[i]!];
    }
  }

  private grow(): void {
    const capacity = this.keys.length * 2;
    const keys = new Uint32Array(capacity);
    const aux = new Uint32Array(capacity);
    const sizes = new Float64Array(capacity);
    for (let n = 0; n < this.count; n++) {
      const i = (this.head + n) % this.keys.length;
      keys[n] = this.keys[i]!;
      aux[n] = this.aux[i]!;
      sizes[n] = this.sizes[i]!;
    }
    this.keys = keys;
    this.aux = aux;
    this.sizes = sizes;
    this.head = 0;
  }
}

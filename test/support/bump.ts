/**
 * A bump allocator for replay tests: never reuses memory, so its extent is the sum of every
 * block's rounded size, easy to compute by hand. Options make it misbehave on purpose.
 */
import type { Allocator, AllocatorStats, HeapSpan } from "../../src/allocator.js";
import { ByteStore } from "../../src/memory/store.js";

export interface BumpOptions {
  /** realloc moves the block without copying it (a content bug). */
  forgetsToCopy?: boolean;
  /** malloc returns 0 once this many bytes are handed out. */
  limitBytes?: number;
  /** malloc throws for this size. */
  throwsOnSize?: number;
}

const ALIGN = 8;

export class BumpAllocator implements Allocator {
  readonly name = "bump";
  readonly store = ByteStore.create({ initialBytes: 4096, maxBytes: 2 ** 28 });
  private top = ALIGN;
  private readonly sizes = new Map<number, number>();
  private liveBytes = 0;
  private peakLiveBytes = 0;
  private mallocCount = 0;
  private freeCount = 0;

  constructor(private readonly options: BumpOptions = {}) {}

  malloc(size: number): number {
    if (size === this.options.throwsOnSize) throw new RangeError(`no ${size}`);
    const rounded = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
    if (this.top + rounded > (this.options.limitBytes ?? Infinity)) return 0;
    if (!this.store.grow(this.top + rounded)) return 0;
    const ptr = this.top;
    this.top += rounded;
    this.sizes.set(ptr, size);
    this.liveBytes += size;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    this.mallocCount++;
    return ptr;
  }

  free(ptr: number): void {
    this.liveBytes -= this.sizes.get(ptr)!;
    this.sizes.delete(ptr);
    this.freeCount++;
  }

  realloc(ptr: number, size: number): number {
    const old = this.sizes.get(ptr)!;
    const moved = this.malloc(size);
    if (moved === 0) return 0;
    if (!this.options.forgetsToCopy) this.store.u8.copyWithin(moved, ptr, ptr + Math.min(old, size));
    this.free(ptr);
    return moved;
  }

  usableSize(ptr: number): number {
    return this.sizes.get(ptr)!;
  }

  stats(): AllocatorStats {
    return {
      baseOffset: 0,
      liveBlocks: this.sizes.size,
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peakLiveBytes,
      extentBytes: this.top,
      peakExtentBytes: this.top,
      committedBytes: this.store.committedBytes,
      reservedBytes: this.store.reservedBytes,
      freeBytes: 0,
      largestFreeBytes: 0,
      internalFragmentationBytes: 0,
      externalFragmentation: 0,
      mallocCount: this.mallocCount,
      freeCount: this.freeCount,
    };
  }

  check(): void {}

  /** Replay tests never walk this double: it has no spans to show. */
  *walk(): IterableIterator<HeapSpan> {}

  walkInto(): number {
    return 0;
  }
}

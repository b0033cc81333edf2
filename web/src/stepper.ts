/**
 * Trace playback goes through this small interface, the shape of heapkit's TraceStepper:
 * `step(n)` runs the next ops, `seek(op)` goes to just before op `op` (backwards too),
 * `allocator` is the heap as it stands.
 */
import type { Allocator, Trace } from "heapkit";
import { OP_ALLOC, OP_FREE, OP_REALLOC } from "heapkit";

export interface Stepper {
  readonly opIndex: number;
  readonly opCount: number;
  readonly allocator: Allocator;
  step(count?: number): number;
  seek(op: number): void;
}

/** Playback of a trace; a failing op throws, naming the op, and leaves opIndex on it. */
export class TracePlayback implements Stepper {
  allocator: Allocator;
  opIndex = 0;
  private ptrs: Float64Array;

  constructor(
    readonly trace: Trace,
    private readonly create: () => Allocator,
  ) {
    this.allocator = create();
    this.ptrs = new Float64Array(trace.idCount);
  }

  get opCount(): number {
    return this.trace.opCount;
  }

  step(count = 1): number {
    const { kinds, ids, sizes } = this.trace;
    const end = Math.min(this.trace.opCount, this.opIndex + count);
    const start = this.opIndex;
    for (let op = start; op < end; op++) {
      const id = ids[op]!;
      const kind = kinds[op]!;
      if (kind === OP_ALLOC) this.ptrs[id] = this.expect(this.allocator.malloc(sizes[op]!), op);
      else if (kind === OP_REALLOC) this.ptrs[id] = this.expect(this.allocator.realloc(this.ptrs[id]!, sizes[op]!), op);
      else if (kind === OP_FREE) this.allocator.free(this.ptrs[id]!);
      this.opIndex = op + 1;
    }
    return end - start;
  }

  seek(op: number): void {
    const target = Math.max(0, Math.min(this.trace.opCount, op));
    if (target < this.opIndex) {
      this.allocator = this.create();
      this.ptrs.fill(0);
      this.opIndex = 0;
    }
    this.step(target - this.opIndex);
  }

  private expect(ptr: number, op: number): number {
    if (ptr === 0) throw new Error(`op ${op}: ${this.allocator.name} ran out of memory`);
    return ptr;
  }
}

/**
 * The simulator's state: one allocator and the list of operations done to it. Blocks are named by
 * handles (numbers given out when an op is made, never reused), so a list of ops replays the same
 * way on a fresh allocator: undo is "replay all but the last op". Ops before `cursor` have run;
 * ops after it are queued (a workload being played).
 *
 *   ops:     [ malloc h0 | malloc h1 | free h0 | write h1 ... | malloc h2 | free h1 ]
 *                                                 ^ cursor
 *   outcomes[i]: what op i returned (a pointer) or threw (the error, at that op)
 *
 * After every op, a heap whose `checkEveryOp` is set runs `check()`, so a debug heap reports an
 * overflow or a write after free at the op that did it.
 */
import type { Allocator } from "heapkit";

export type SimOp =
  | { kind: "malloc"; handle: number; size: number }
  | { kind: "realloc"; handle: number; size: number }
  | { kind: "free"; handle: number }
  /** A raw write of `bytes` bytes at `offset` from the handle's block: how memory bugs are made. */
  | { kind: "write"; handle: number; offset: number; bytes: number };

export interface OpOutcome {
  /** The block's offset after the op (0 when none). */
  ptr: number;
  /** The error the op raised, by name and message. */
  error?: { name: string; message: string };
}

/** The byte a bug write stores. */
export const BUG_WRITE_BYTE = 0x41;

export class SimSession {
  allocator: Allocator;
  readonly ops: SimOp[] = [];
  readonly outcomes: OpOutcome[] = [];
  cursor = 0;
  private handles = 0;
  /** The last offset each handle had, kept after its free (a stale pointer, for bugs). */
  private ptrOfHandle: number[] = [];
  private liveByPtr = new Map<number, number>();
  private lastCheckError = "";

  constructor(
    private readonly create: () => Allocator,
    private readonly checkEveryOp: boolean,
  ) {
    this.allocator = create();
  }

  /** A new handle for an op about to be made. */
  newHandle(): number {
    return this.handles++;
  }

  /** The handle of the live block at `ptr`, or -1. */
  handleAt(ptr: number): number {
    return this.liveByPtr.get(ptr) ?? -1;
  }

  /** The offset a handle has now, or had when it was freed (0 if it never got one). */
  ptrOf(handle: number): number {
    return this.ptrOfHandle[handle] ?? 0;
  }

  isLive(handle: number): boolean {
    const ptr = this.ptrOfHandle[handle];
    return ptr !== undefined && this.liveByPtr.get(ptr) === handle;
  }

  get liveHandleCount(): number {
    return this.liveByPtr.size;
  }

  /** The live handles, oldest block first. */
  liveHandles(): number[] {
    return [...this.liveByPtr.values()].sort((a, b) => a - b);
  }

  get pendingCount(): number {
    return this.ops.length - this.cursor;
  }

  /** Runs `op` now, before any queued ops; returns its outcome. */
  run(op: SimOp): OpOutcome {
    this.ops.splice(this.cursor, 0, op);
    this.step();
    return this.outcomes[this.cursor - 1]!;
  }

  /** Queues ops after everything already queued. */
  enqueue(ops: readonly SimOp[]): void {
    for (const op of ops) this.ops.push(op);
  }

  /** Drops the ops not run yet. */
  clearQueue(): void {
    this.ops.length = this.cursor;
  }

  /** Runs up to `count` queued ops; returns how many ran. */
  step(count = 1): number {
    let ran = 0;
    while (ran < count && this.cursor < this.ops.length) {
      this.outcomes[this.cursor] = this.apply(this.ops[this.cursor]!);
      this.cursor++;
      ran++;
    }
    return ran;
  }

  /** Takes back the last op run: a fresh allocator replays the ops before it. That op stays queued. */
  undo(): boolean {
    if (this.cursor === 0) return false;
    this.rewindTo(this.cursor - 1);
    return true;
  }

  /** Replays the first `opCount` ops on a fresh allocator. */
  rewindTo(opCount: number): void {
    const target = Math.max(0, Math.min(opCount, this.ops.length));
    this.allocator = this.create();
    this.ptrOfHandle = [];
    this.liveByPtr.clear();
    this.lastCheckError = "";
    this.cursor = 0;
    this.outcomes.length = 0;
    this.step(target);
  }

  private apply(op: SimOp): OpOutcome {
    let outcome: OpOutcome;
    try {
      outcome = { ptr: this.applyUnchecked(op) };
    } catch (error) {
      outcome = { ptr: this.ptrOf(op.handle), error: describeError(error) };
    }
    if (this.checkEveryOp) this.checkAfter(outcome);
    return outcome;
  }

  private applyUnchecked(op: SimOp): number {
    const allocator = this.allocator;
    switch (op.kind) {
      case "malloc": {
        const ptr = allocator.malloc(op.size);
        if (ptr === 0) throw new OutOfMemory(`malloc(${op.size}) returned 0: out of memory`);
        this.bind(op.handle, ptr);
        return ptr;
      }
      case "realloc": {
        const old = this.ptrOf(op.handle);
        const ptr = allocator.realloc(old, op.size);
        if (ptr === 0) throw new OutOfMemory(`realloc(${old}, ${op.size}) returned 0: the block stays`);
        this.liveByPtr.delete(old);
        this.bind(op.handle, ptr);
        return ptr;
      }
      case "free": {
        const ptr = this.ptrOf(op.handle);
        allocator.free(ptr);
        if (this.liveByPtr.get(ptr) === op.handle) this.liveByPtr.delete(ptr);
        return ptr;
      }
      case "write": {
        const ptr = this.ptrOf(op.handle);
        allocator.store.u8.fill(BUG_WRITE_BYTE, ptr + op.offset, ptr + op.offset + op.bytes);
        return ptr;
      }
    }
  }

  private bind(handle: number, ptr: number): void {
    this.ptrOfHandle[handle] = ptr;
    this.liveByPtr.set(ptr, handle);
  }

  /** A check error is reported once, at the op after which it first appeared. */
  private checkAfter(outcome: OpOutcome): void {
    try {
      this.allocator.check();
      this.lastCheckError = "";
    } catch (error) {
      const described = describeError(error);
      const key = `${described.name}: ${described.message}`;
      if (key !== this.lastCheckError && outcome.error === undefined) outcome.error = described;
      this.lastCheckError = key;
    }
  }
}

class OutOfMemory extends Error {
  override readonly name = "OutOfMemory";
}

function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name || error.constructor.name, message: error.message };
  return { name: "Error", message: String(error) };
}

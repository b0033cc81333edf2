/**
 * The stepping replayer: a parsed trace applied to an allocator one op (or n ops) at a time, with
 * seeks forwards and backwards, for the CLI's checked pass, the tests and the lab's scrubber.
 *
 *   op index  0 ........ c ........ 2c ....... opIndex ......... opCount
 *             fresh      checkpoint checkpoint  (ops [0, opIndex) applied)
 *
 * Per trace id (typed arrays, nothing allocated per op):
 *   ptrs[id]   what malloc/realloc returned, 0 while the id is not live
 *   bytes[id]  the size the trace asked for
 *   words[id]  the block's pattern word (pattern.ts): written on malloc and on the grown part of a
 *              realloc, verified word-wise before a free or realloc, after a realloc (the kept
 *              bytes) and at the end of the trace
 *
 * A checkpoint is a copy of the store's committed bytes and of the per-id arrays, taken every
 * `checkpointEvery` ops while stepping forward, and reopened into a fresh store by `reopen`
 * (by default the allocator class's own static `attach`, as the Heap has). Without one, a
 * backward seek replays from op 0 on a fresh allocator. Checkpoints together stay within a byte
 * budget: past it, every other one is dropped and the interval doubles.
 *
 * The first failure stops the replay and is kept in `failure` (a typed result, never thrown):
 * malloc/realloc returned 0, the allocator threw, a block lost its contents, `check()` threw, or
 * the stats at the end disagree with the trace. `failure.op` is the op that failed (0-based; for
 * a failed check, the op just applied; `opCount` for the checks at the end).
 */
import type { Allocator } from "../allocator.js";
import { HeapkitError, show } from "../errors.js";
import { ByteStore } from "../memory/store.js";
import { fillPattern, findPatternMismatch, patternWord } from "./pattern.js";
import { OP_ALLOC, OP_FREE, OP_LETTERS, OP_REALLOC, type Trace } from "./trace.js";

export type ReplayFailureKind = "out-of-memory" | "allocator-error" | "content" | "check" | "stats" | "time-limit";

export interface ReplayFailure {
  kind: ReplayFailureKind;
  /** The op (0-based) at which the replay stopped; `opCount` for checks at the end. */
  op: number;
  message: string;
}

export interface StepperOptions {
  /** Run `check()` after every this many ops; 0 for never (the end of the trace always checks). @defaultValue 0 */
  checkEvery?: number;
  /** Write a pattern into every block and verify it when the block leaves. @defaultValue true */
  patterns?: boolean;
  /** Keep a checkpoint every this many ops, for backward seeks. @defaultValue opCount / 64, at least 4096 */
  checkpointEvery?: number;
  /** Most bytes all checkpoints together may hold. @defaultValue 256 MiB */
  checkpointBudgetBytes?: number;
  /**
   * Reopens an allocator from a copy of its store (checkpoints need it). @defaultValue the
   * allocator class's static `attach`, where it has one (the Heap); else backward seeks replay.
   */
  reopen?: ((store: ByteStore) => Allocator) | null;
}

/** One op of the trace, as a person reads it. */
export interface TraceOp {
  kind: "a" | "r" | "f";
  id: number;
  /** Bytes asked for (the freed block's size for a free). */
  bytes: number;
}

/** A bad argument to `step` or `seek`. */
export class InvalidStepError extends HeapkitError {
  override name = "InvalidStepError";
  constructor(readonly value: unknown, reason: string) {
    super(`invalid op count or index ${show(value)}: ${reason}`);
  }
}

const DEFAULT_CHECKPOINTS = 64;
const MIN_CHECKPOINT_EVERY = 4096;
const DEFAULT_CHECKPOINT_BUDGET_BYTES = 256 * 2 ** 20;

interface Checkpoint {
  op: number;
  kind: ByteStore["kind"];
  reservedBytes: number;
  storeBytes: Uint8Array;
  ptrs: Uint32Array;
  bytes: Float64Array;
  words: Uint32Array;
  live: { bytes: number; count: number; highestEnd: number };
}

type Reopen = (store: ByteStore) => Allocator;

/** Thrown inside a step to stop it; never escapes this module. */
class StepStop extends Error {
  constructor(readonly failure: ReplayFailure) {
    super(failure.message);
  }
}

/**
 * The stepping replayer: applies a trace to an allocator one op (or n) at a time, with content
 * patterns checked as blocks leave, `check()` every k ops, and `seek(op)` forwards and backwards
 * (from store checkpoints, or by replaying from op 0). The CLI, the tests and the lab use it.
 */
export class TraceStepper {
  private index = 0;
  private firstFailure: ReplayFailure | null = null;
  private live = { bytes: 0, count: 0, highestEnd: 0 };
  private current: Allocator;
  private ended = false;
  private ptrs: Uint32Array;
  private bytes: Float64Array;
  private words: Uint32Array;
  private checkpoints: Checkpoint[] = [];
  private checkpointEvery: number;
  private readonly checkEvery: number;
  private readonly patterns: boolean;
  private readonly budgetBytes: number;
  private readonly reopen: Reopen | null;

  constructor(readonly trace: Trace, private readonly makeAllocator: () => Allocator, options: StepperOptions = {}) {
    this.checkEvery = checkCount("checkEvery", options.checkEvery ?? 0);
    this.patterns = options.patterns ?? true;
    this.checkpointEvery = Math.max(1, checkCount("checkpointEvery", options.checkpointEvery ?? defaultCheckpointEvery(trace.opCount)));
    this.budgetBytes = checkCount("checkpointBudgetBytes", options.checkpointBudgetBytes ?? DEFAULT_CHECKPOINT_BUDGET_BYTES);
    this.current = makeAllocator();
    this.reopen = options.reopen === undefined ? staticAttach(this.current) : options.reopen;
    this.ptrs = new Uint32Array(trace.idCount);
    this.bytes = new Float64Array(trace.idCount);
    this.words = new Uint32Array(trace.idCount);
  }

  get allocator(): Allocator {
    return this.current;
  }

  /** Ops applied: the next op to run. */
  get opIndex(): number {
    return this.index;
  }

  /** The first failure, or null; stepping stops at it until a seek goes back before it. */
  get failure(): ReplayFailure | null {
    return this.firstFailure;
  }

  /** Requested bytes live now (the trace's own accounting). */
  get liveBytes(): number {
    return this.live.bytes;
  }

  /** Trace ids live now. */
  get liveCount(): number {
    return this.live.count;
  }

  /** The highest block end (ptr + requested bytes) handed out so far. */
  get highestBlockEnd(): number {
    return this.live.highestEnd;
  }

  get opCount(): number {
    return this.trace.opCount;
  }

  /** Every op applied and the end checks run (or a failure at the end). */
  get done(): boolean {
    return this.ended;
  }

  /** The op at `index`, as the trace has it. */
  op(index: number): TraceOp {
    checkIndex(index, this.trace.opCount - 1);
    return { kind: OP_LETTERS[this.trace.kinds[index]!]!, id: this.trace.ids[index]!, bytes: this.trace.sizes[index]! };
  }

  /** Where trace id `id` lives now; 0 while it is not live. */
  ptrOf(id: number): number {
    return this.ptrs[id] ?? 0;
  }

  /** The bytes trace id `id` asked for; 0 while it is not live. */
  bytesOf(id: number): number {
    return this.ptrs[id] ? this.bytes[id]! : 0;
  }

  /** Calls `visit` for every live id, in id order. */
  forEachLive(visit: (id: number, ptr: number, bytes: number) => void): void {
    const { ptrs, bytes } = this;
    for (let id = 0; id < ptrs.length; id++) if (ptrs[id] !== 0) visit(id, ptrs[id]!, bytes[id]!);
  }

  liveIds(): number[] {
    const ids: number[] = [];
    this.forEachLive((id) => ids.push(id));
    return ids;
  }

  /**
   * Applies up to `n` ops; returns how many were applied. Stops early at the end of the trace
   * (which runs the end checks) or at the first failure, which is then in `failure`.
   */
  step(n = 1): number {
    const start = this.index;
    const count = n === Infinity ? this.trace.opCount : checkCount("n", n);
    this.run(Math.min(this.trace.opCount, start + count), true);
    return this.index - start;
  }

  /**
   * Moves to op index `target` (ops [0, target) applied), from the nearest checkpoint at or
   * before it when that is closer than the current op, else onwards from here (a failed op is
   * undone by going back to before it). Ops on the way write and verify patterns; `check()` runs
   * once where the seek lands (if `checkEvery` > 0).
   * Returns the op index reached (short of `target` after a failure).
   */
  seek(target: number): number {
    checkIndex(target, this.trace.opCount);
    const base = this.checkpointAtOrBefore(target);
    const from = base === null ? 0 : base.op;
    const back = target < this.index || (this.firstFailure !== null && target === this.index);
    if (back || (this.firstFailure === null && from > this.index)) this.restore(base);
    if (this.firstFailure !== null) return this.index;
    this.run(target, false);
    if (this.firstFailure === null && this.checkEvery > 0 && !this.ended && this.index > 0) this.guard(() => this.runCheck(this.index - 1));
    return this.index;
  }

  /**
   * Verifies every live block's pattern and runs `check()` now. A failure is kept in `failure`
   * (as one after the last applied op) and returned; null when all is well.
   */
  checkAll(): ReplayFailure | null {
    if (this.firstFailure !== null) return this.firstFailure;
    const op = Math.max(0, this.index - 1);
    this.guard(() => {
      this.verifyLive(op, "(a check of every live block)");
      this.runCheck(op);
    });
    return this.firstFailure;
  }

  private run(end: number, periodicChecks: boolean): void {
    if (this.firstFailure !== null) return;
    const { kinds, opCount } = this.trace;
    const checkEvery = periodicChecks ? this.checkEvery : 0;
    this.guard(() => {
      for (let op = this.index; op < end; op++) {
        const kind = kinds[op];
        if (kind === OP_ALLOC) this.alloc(op);
        else if (kind === OP_REALLOC) this.realloc(op);
        else this.free(op);
        this.index = op + 1;
        if (checkEvery > 0 && (op + 1) % checkEvery === 0) this.runCheck(op);
        if ((op + 1) % this.checkpointEvery === 0) this.takeCheckpoint();
      }
      if (this.index === opCount && !this.ended) this.checkEnd();
    });
  }

  /** Runs `body`; a StepStop or an allocator's throw becomes `failure` (at the op then running). */
  private guard(body: () => void): void {
    try {
      body();
    } catch (error) {
      const failure = error instanceof StepStop
        ? error.failure
        : { kind: "allocator-error" as const, op: this.index, message: `${this.where(this.index)}${errorText(error)}` };
      this.firstFailure = failure;
      if (failure.op >= this.trace.opCount) this.ended = true;
    }
  }

  private alloc(op: number): void {
    const id = this.trace.ids[op]!;
    const size = this.trace.sizes[op]!;
    const ptr = this.current.malloc(size);
    if (ptr === 0) this.stop("out-of-memory", op, `malloc(${size}) returned 0 (out of memory)`);
    this.ptrs[id] = ptr;
    this.bytes[id] = size;
    this.live.bytes += size;
    this.live.count++;
    if (ptr + size > this.live.highestEnd) this.live.highestEnd = ptr + size;
    if (this.patterns) {
      this.words[id] = patternWord(op);
      fillPattern(this.current.store, ptr, 0, size, this.words[id]!);
    }
  }

  private realloc(op: number): void {
    const id = this.trace.ids[op]!;
    const size = this.trace.sizes[op]!;
    const oldPtr = this.ptrs[id]!;
    const oldSize = this.bytes[id]!;
    this.verify(op, id, oldPtr, oldSize, "before realloc");
    const ptr = this.current.realloc(oldPtr, size);
    if (ptr === 0) this.stop("out-of-memory", op, `realloc(${oldPtr}, ${size}) returned 0 (out of memory)`);
    this.ptrs[id] = ptr;
    this.bytes[id] = size;
    this.live.bytes += size - oldSize;
    if (ptr + size > this.live.highestEnd) this.live.highestEnd = ptr + size;
    this.verify(op, id, ptr, Math.min(oldSize, size), "after realloc (the kept bytes)");
    if (this.patterns && size > oldSize) fillPattern(this.current.store, ptr, oldSize, size, this.words[id]!);
  }

  private free(op: number): void {
    const id = this.trace.ids[op]!;
    const ptr = this.ptrs[id]!;
    this.verify(op, id, ptr, this.bytes[id]!, "before free");
    this.current.free(ptr);
    this.ptrs[id] = 0;
    this.live.bytes -= this.bytes[id]!;
    this.live.count--;
  }

  /** Stops with a "content" failure unless the first `size` bytes at `ptr` carry block `id`'s pattern. */
  private verify(op: number, id: number, ptr: number, size: number, when: string): void {
    if (!this.patterns) return;
    const at = findPatternMismatch(this.current.store, ptr, size, this.words[id]!);
    if (at >= 0) this.stop("content", op, `block ${id} (${size} bytes at offset ${ptr}) lost its contents at byte ${at} ${when}`);
  }

  private verifyLive(op: number, when: string): void {
    for (let id = 0; id < this.ptrs.length; id++) {
      if (this.ptrs[id] !== 0) this.verify(op, id, this.ptrs[id]!, this.bytes[id]!, when);
    }
  }

  private runCheck(op: number): void {
    try {
      this.current.check();
    } catch (error) {
      this.stop("check", op, `check() after this op: ${errorText(error)}`);
    }
  }

  /** At the end: live blocks keep their contents, check() passes, the stats count what the trace has live. */
  private checkEnd(): void {
    const { opCount } = this.trace;
    this.verifyLive(opCount, "at the end");
    this.runCheck(opCount);
    const stats = this.current.stats();
    if (stats.liveBlocks !== this.live.count) {
      this.stop("stats", opCount, `the allocator reports ${stats.liveBlocks} live blocks at the end, the trace has ${this.live.count}`);
    }
    this.ended = true;
  }

  private stop(kind: ReplayFailureKind, op: number, reason: string): never {
    throw new StepStop({ kind, op, message: this.where(op) + reason });
  }

  /** "op 12 (a 3 100): " (1-based, as a person counts ops), or "" past the last op. */
  private where(op: number): string {
    if (op >= this.trace.opCount) return "";
    const kind = this.trace.kinds[op]!;
    const size = kind === OP_FREE ? "" : ` ${this.trace.sizes[op]}`;
    return `op ${op + 1} (${OP_LETTERS[kind]} ${this.trace.ids[op]}${size}): `;
  }

  private takeCheckpoint(): void {
    if (this.reopen === null || this.checkpoints.some((c) => c.op === this.index)) return;
    const store = this.current.store;
    this.checkpoints.push({
      op: this.index,
      kind: store.kind,
      reservedBytes: store.reservedBytes,
      storeBytes: store.u8.slice(0, store.committedBytes),
      ptrs: this.ptrs.slice(),
      bytes: this.bytes.slice(),
      words: this.words.slice(),
      live: { ...this.live },
    });
    this.checkpoints.sort((a, b) => a.op - b.op);
    while (this.checkpointBytes() > this.budgetBytes && this.checkpoints.length > 0) this.thinCheckpoints();
  }

  private checkpointBytes(): number {
    let total = 0;
    for (const c of this.checkpoints) total += c.storeBytes.byteLength + c.ptrs.byteLength + c.bytes.byteLength + c.words.byteLength;
    return total;
  }

  /** Keeps the checkpoints at multiples of twice the interval. */
  private thinCheckpoints(): void {
    this.checkpointEvery *= 2;
    this.checkpoints = this.checkpoints.filter((c) => c.op % this.checkpointEvery === 0);
  }

  private checkpointAtOrBefore(op: number): Checkpoint | null {
    let found: Checkpoint | null = null;
    for (const c of this.checkpoints) if (c.op <= op) found = c;
    return found;
  }

  /** Back to a checkpoint, or to op 0 on a fresh allocator. */
  private restore(checkpoint: Checkpoint | null): void {
    this.firstFailure = null;
    this.ended = false;
    if (checkpoint === null) {
      this.current = this.makeAllocator();
      this.index = 0;
      this.ptrs.fill(0);
      this.bytes.fill(0);
      this.words.fill(0);
      this.live = { bytes: 0, count: 0, highestEnd: 0 };
      return;
    }
    const store = ByteStore.create({ kind: checkpoint.kind, initialBytes: checkpoint.storeBytes.length, maxBytes: checkpoint.reservedBytes });
    store.u8.set(checkpoint.storeBytes);
    this.current = this.reopen!(store);
    this.index = checkpoint.op;
    this.ptrs.set(checkpoint.ptrs);
    this.bytes.set(checkpoint.bytes);
    this.words.set(checkpoint.words);
    this.live = { ...checkpoint.live };
  }
}

function defaultCheckpointEvery(opCount: number): number {
  return Math.max(MIN_CHECKPOINT_EVERY, Math.ceil(opCount / DEFAULT_CHECKPOINTS));
}

/** The allocator class's own static `attach(store)`, if it has one. */
function staticAttach(allocator: Allocator): Reopen | null {
  const ctor = allocator.constructor as { attach?: unknown };
  if (!Object.hasOwn(ctor, "attach") || typeof ctor.attach !== "function") return null;
  const attach = ctor.attach as Reopen;
  return (store) => attach.call(ctor, store);
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidStepError(value, `${name} must be a non-negative integer`);
  return value;
}

function checkIndex(value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw new InvalidStepError(value, `must be an integer from 0 to ${max}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

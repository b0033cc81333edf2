/**
 * Stack: frames of bump allocations. `push()` opens a frame, `pop(frame)` frees everything
 * allocated since, and `scope()` does both around a `using` block, even when it throws:
 *
 *   { using _ = stack.scope(); const p = stack.malloc(64); ... }   // freed here
 *
 * A frame is a FRAME record in the block chain of bump.ts (where the control block and the
 * block headers are drawn); the open frames form a chain from CURRENT_FRAME down:
 *
 *   frame record at h:  h        h+4             h+8      h+12
 *                       ┌────────┬───────────────┬────────┬──────────────────────┐
 *                       │ size=8 │ below | FRAME │ serial │ outer frame's header │
 *                       └────────┴───────────────┴────────┴──────────────────────┘
 *
 * The frame handle push() returns is the record's serial (FRAME_SERIAL counts pushes), so a
 * stale handle never matches a newer frame at the same offset. Frames close innermost first:
 * pop of any other frame throws FrameMismatchError and changes nothing.
 * free(ptr) frees the last block only (LIFO); realloc of the last block is in place.
 */
import { InvalidFreeError, OutOfMemoryError } from "../errors.js";
import { BumpAllocator, CTRL_CURRENT_FRAME, CTRL_FRAME_SERIAL, HEADER_BYTES, KIND_FRAME } from "./bump.js";
import type { AllocatorStoreOptions } from "./common.js";

const STACK_MAGIC = 0x4b415453; // "STAK"
const FRAME_PAYLOAD_BYTES = 8;
const FRAME_SERIAL = HEADER_BYTES;
const FRAME_OUTER = HEADER_BYTES + 4;

/** A frame handle, as `push()` returns it. */
export type StackFrame = number;

/** `pop(frame)` of a frame that is not the innermost open one. */
export class FrameMismatchError extends InvalidFreeError {
  override name = "FrameMismatchError";
  constructor(readonly frame: unknown, readonly innermost: StackFrame | undefined) {
    super(frame, innermost === undefined
      ? "no frame is open"
      : `the innermost open frame is ${innermost}: frames are popped in reverse order of push`);
  }
}

// The well-known symbol that `using` calls, declared as lib.esnext.disposable and @types/node
// declare it, so that these types compile without that lib (declarations of it merge).
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** What `scope()` returns: disposing it (`using`) pops its frame. */
export class StackScope {
  constructor(private readonly stack: Stack, readonly frame: StackFrame) {}

  [Symbol.dispose](): void {
    this.stack.pop(this.frame);
  }
}

export type StackOptions = AllocatorStoreOptions;

/**
 * A stack of frames of bump allocations: `push()` opens a frame, `pop(frame)` frees what was
 * allocated in it, and `using _ = stack.scope()` does both around a block, even when it throws.
 *
 * @example
 * ```ts
 * const stack = new Stack();
 * {
 *   using _ = stack.scope();
 *   const p = stack.malloc(64);       // freed at the end of the block
 * }
 * ```
 */
export class Stack extends BumpAllocator {
  readonly name = "stack";

  constructor(options: StackOptions = {}) {
    super(options, "stack", STACK_MAGIC);
  }

  /** Opens a frame. Throws OutOfMemoryError if its 16-byte record does not fit. */
  push(): StackFrame {
    const payload = this.appendBlock(FRAME_PAYLOAD_BYTES, 8, KIND_FRAME);
    if (payload === 0) throw new OutOfMemoryError(HEADER_BYTES + FRAME_PAYLOAD_BYTES, this.store.reservedBytes);
    const u32 = this.store.u32;
    const record = payload - HEADER_BYTES;
    const serial = ++u32[CTRL_FRAME_SERIAL >>> 2]!;
    u32[(record + FRAME_SERIAL) >>> 2] = serial;
    u32[(record + FRAME_OUTER) >>> 2] = u32[CTRL_CURRENT_FRAME >>> 2]!;
    u32[CTRL_CURRENT_FRAME >>> 2] = record;
    return serial;
  }

  /** Closes the innermost frame, freeing every block allocated since its push. */
  pop(frame: StackFrame): void {
    const u32 = this.store.u32;
    const record = u32[CTRL_CURRENT_FRAME >>> 2]!;
    if (record === 0) throw new FrameMismatchError(frame, undefined);
    const innermost = u32[(record + FRAME_SERIAL) >>> 2]!;
    if (frame !== innermost) throw new FrameMismatchError(frame, innermost);
    u32[CTRL_CURRENT_FRAME >>> 2] = u32[(record + FRAME_OUTER) >>> 2]!;
    this.popAbove(this.belowOf(record));
  }

  /** A frame closed when the returned object is disposed: `using _ = stack.scope()`. */
  scope(): StackScope {
    return new StackScope(this, this.push());
  }

  /** Frames open now. */
  get depth(): number {
    let depth = 0;
    const u32 = this.store.u32;
    for (let r = u32[CTRL_CURRENT_FRAME >>> 2]!; r !== 0; r = u32[(r + FRAME_OUTER) >>> 2]!) depth++;
    return depth;
  }

  protected rollbackHint(): string {
    return "free blocks last-first, or push() a frame and pop() it";
  }
}

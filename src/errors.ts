/**
 * Every error heapkit throws is a `HeapkitError`, with the offending value as a field, so a
 * caller can tell a bad argument from corruption from a memory bug without parsing messages.
 * Throwing one never leaves an allocator half-changed: validation happens before mutation.
 */

/**
 * Formats a value for a message: numbers as themselves (NaN, -1, 1.5), strings quoted,
 * undefined, null and booleans by name, anything else with its type (`object [object Object]`).
 */
export function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || value === null || typeof value === "boolean") return String(value);
  return `${typeof value} ${String(value)}`;
}

/** The base class of every error heapkit throws on purpose: `instanceof HeapkitError` catches them all. */
export class HeapkitError extends Error {
  override name = "HeapkitError";
}

/** A size that is not a non-negative safe integer within the allocator's limit. */
export class InvalidSizeError extends HeapkitError {
  override name = "InvalidSizeError";
  constructor(readonly size: unknown, reason = "must be a non-negative integer") {
    super(`invalid size ${show(size)}: ${reason}`);
  }
}

/** An alignment that is not a power of two, or is above the allocator's maximum. */
export class InvalidAlignmentError extends HeapkitError {
  override name = "InvalidAlignmentError";
  constructor(readonly align: unknown, readonly maxAlign: number) {
    super(`invalid alignment ${show(align)}: must be a power of two from 1 to ${maxAlign}`);
  }
}

/** `free`/`realloc`/`usableSize` of an offset that is not the start of a live block. */
export class InvalidFreeError extends HeapkitError {
  override name = "InvalidFreeError";
  constructor(readonly ptr: unknown, reason = "not the start of a live block") {
    super(`invalid pointer ${show(ptr)}: ${reason}`);
  }
}

/** `free` of a block that is already free. */
export class DoubleFreeError extends InvalidFreeError {
  override name = "DoubleFreeError";
  constructor(ptr: number, detail = "") {
    super(ptr, `double free: the block is already free${detail}`);
  }
}

/** The throwing variant of `malloc` found no memory. */
export class OutOfMemoryError extends HeapkitError {
  override name = "OutOfMemoryError";
  constructor(readonly size: number, readonly limitBytes: number) {
    super(`out of memory: cannot allocate ${size} bytes (limit ${limitBytes} bytes)`);
  }
}

/** `check()` found a broken invariant: the allocator's structures are inconsistent. */
export class HeapCorruptionError extends HeapkitError {
  override name = "HeapCorruptionError";
  constructor(message: string, readonly offset?: number) {
    super(`heap corruption${offset === undefined ? "" : ` at offset ${offset}`}: ${message}`);
  }
}

/** An operation this policy cannot do (for example freeing one block of an arena). */
export class UnsupportedOperationError extends HeapkitError {
  override name = "UnsupportedOperationError";
  constructor(readonly policy: string, readonly operation: string, hint = "") {
    super(`${policy} does not support ${operation}${hint ? `: ${hint}` : ""}`);
  }
}

/** A byte store or option that cannot be used (wrong kind, too small, not a heapkit heap). */
export class InvalidStoreError extends HeapkitError {
  override name = "InvalidStoreError";
}

/**
 * A walk range that is not [start, end) with 0 <= start <= end, or a store range a buffer
 * cannot have (store.ts).
 */
export class InvalidRangeError extends HeapkitError {
  override name = "InvalidRangeError";
  constructor(readonly value: unknown, reason: string) {
    super(`invalid range bound ${show(value)}: ${reason}`);
  }
}

/** An argument of the wrong kind: not the allocator, options object or value the call takes. */
export class InvalidArgumentError extends HeapkitError {
  override name = "InvalidArgumentError";
  constructor(readonly value: unknown, message: string) {
    super(`invalid argument ${show(value)}: ${message}`);
  }
}

/**
 * A buffer `Heap.attach` refuses: not a heap, or a heap image whose control block is damaged
 * or truncated. `field` names the control word (or the part of the image) that is wrong.
 */
export class InvalidHeapImageError extends InvalidStoreError {
  override name = "InvalidHeapImageError";
  constructor(readonly field: string, message: string) {
    super(`cannot attach this heap image: ${field}: ${message}`);
  }
}

/**
 * Two agents (Workers) called one Heap on a shared store at the same time. A Heap serves one
 * agent at a time: use one agent at a time or a lock of your own (a SharedHeap is planned).
 */
export class ConcurrentUseError extends HeapkitError {
  override name = "ConcurrentUseError";
  constructor(readonly operation: string) {
    super(`concurrent use: ${operation} was called while another agent was inside this heap; a Heap serves one agent at a time ` +
      "(use one agent at a time or a lock of your own; a SharedHeap for many agents is planned). The call was refused, nothing changed");
  }
}

/**
 * The argument checks every policy shares. Each one tests `typeof` before any arithmetic, so a
 * BigInt, a Symbol or an object gets the typed error naming it, never a plain `TypeError` from
 * a comparison or a shift (`10n >>> 0` and `+Symbol()` throw in JavaScript itself).
 */
import { InvalidAlignmentError, InvalidFreeError, InvalidSizeError } from "../errors.js";

/** Throws unless `size` is an integer in [0, maxBytes]: NaN, negative, fractional and huge fail. */
export function checkSize(size: number, maxBytes: number): void {
  if (typeof size !== "number") throw new InvalidSizeError(size, "must be a number");
  if (!(size >= 0 && size <= maxBytes && Math.floor(size) === size)) {
    const reason = Number.isNaN(size) ? "must be a number, not NaN"
      : size < 0 ? "must not be negative"
      : Math.floor(size) !== size ? "must be a whole number of bytes"
      : `exceeds the allocator's limit of ${maxBytes} bytes`;
    throw new InvalidSizeError(size, reason);
  }
}

/** Throws unless `align` is a power of two in [1, maxAlign]. */
export function checkAlign(align: number, maxAlign: number): void {
  if (!(typeof align === "number" && align >= 1 && align <= maxAlign && (align & (align - 1)) === 0 && Math.floor(align) === align)) {
    throw new InvalidAlignmentError(align, maxAlign);
  }
}

/**
 * Throws `InvalidFreeError` unless `ptr` is a number. Policies call it first in the slow path
 * of a pointer check (where a shift or a comparison would throw a plain `TypeError` on a
 * BigInt or a Symbol), so the fast path of a valid pointer pays nothing.
 */
export function checkPointerType(ptr: unknown): asserts ptr is number {
  if (typeof ptr !== "number") throw new InvalidFreeError(ptr, "a pointer must be a number (an offset returned by malloc)");
}

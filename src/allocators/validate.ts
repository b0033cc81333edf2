import { InvalidAlignmentError, InvalidSizeError } from "../errors.js";

/** Throws unless `size` is an integer in [0, maxBytes]: NaN, negative, fractional and huge fail. */
export function checkSize(size: number, maxBytes: number): void {
  if (!(size >= 0 && size <= maxBytes && Math.floor(size) === size)) {
    const reason = typeof size !== "number" ? "must be a number"
      : Number.isNaN(size) ? "must be a number, not NaN"
      : size < 0 ? "must not be negative"
      : Math.floor(size) !== size ? "must be a whole number of bytes"
      : `exceeds the allocator's limit of ${maxBytes} bytes`;
    throw new InvalidSizeError(size, reason);
  }
}

/** Throws unless `align` is a power of two in [1, maxAlign]. */
export function checkAlign(align: number, maxAlign: number): void {
  if (!(align >= 1 && align <= maxAlign && (align & (align - 1)) === 0 && Math.floor(align) === align)) {
    throw new InvalidAlignmentError(align, maxAlign);
  }
}

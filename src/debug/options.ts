/** What both checking wrappers (debug-heap.ts, hardened-heap.ts) share about their options. */
import { InvalidSizeError } from "../errors.js";

/** The largest alignment the wrappers accept (the inner allocator may accept less). */
export const MAX_ALIGN = 65536;

/** Validates a numeric option: an integer in [min, max], or the default when undefined. */
export function option(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new InvalidSizeError(value, `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

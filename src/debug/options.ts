/** What both checking wrappers (debug-heap.ts, hardened-heap.ts) share about their options. */
import type { Allocator } from "../allocator.js";
import { InvalidArgumentError, InvalidSizeError } from "../errors.js";

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

/** An object with every method of the Allocator interface (duck-typed: any policy, any wrapper). */
export function isAllocator(value: unknown): value is Allocator {
  if (typeof value !== "object" || value === null) return false;
  const a = value as Record<string, unknown>;
  return ["malloc", "free", "realloc", "usableSize", "stats", "check"].every((m) => typeof a[m] === "function") &&
    typeof a["store"] === "object";
}

/**
 * Both constructor forms of a wrapper: `new W(options?)`, with `inner` as an option, and
 * `new W(inner, options?)`. Returns the inner allocator (undefined: the caller makes a Heap) and
 * the options; anything else as the first argument is an InvalidArgumentError naming it.
 */
export function wrapperArguments<O extends { inner?: Allocator }>(
  wrapper: string,
  first: Allocator | O | undefined,
  second: O | undefined,
): { inner: Allocator | undefined; options: O } {
  if (first === undefined) return { inner: undefined, options: second ?? ({} as O) };
  if (isAllocator(first)) {
    if (second?.inner !== undefined) {
      throw new InvalidArgumentError(second.inner, `new ${wrapper}(inner, options) takes the inner allocator once: drop options.inner`);
    }
    return { inner: first, options: second ?? ({} as O) };
  }
  const plain = typeof first === "object" && first !== null && Object.getPrototypeOf(first) === Object.prototype;
  if (!plain || second !== undefined || "malloc" in first || "free" in first) {
    throw new InvalidArgumentError(first, `new ${wrapper}() takes an Allocator (a Heap, a policy) or an options object ` +
      `({ inner, ... }), then optionally options: this is neither`);
  }
  const options = first as O;
  if (options.inner !== undefined && !isAllocator(options.inner)) {
    throw new InvalidArgumentError(options.inner, `options.inner of ${wrapper} must be an Allocator (a Heap, a policy)`);
  }
  return { inner: options.inner, options };
}

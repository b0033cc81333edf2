/**
 * The concurrent-use guard of a Heap on a shared store (a SharedArrayBuffer or a shared
 * WebAssembly.Memory). A Heap serves one agent at a time; the guard notices when two call it at
 * once instead of letting them corrupt it. Every public call takes the in-use word of the
 * control block with `Atomics.compareExchange(0 -> 1)` on entry and gives it back on exit; a
 * call that finds it taken throws `ConcurrentUseError` before touching anything.
 *
 *   control block:  ... | MID_DESCRIPTOR_PAGES | ROOT | IN_USE (Word.IN_USE) | gauges ...
 *   IN_USE = 0: no agent inside;  1: an agent is inside a call
 *
 * The guarded methods are installed on the instance once, at construction, and only on a shared
 * store: a Heap on an unshared store runs the prototype's methods, with nothing added. Calls the
 * heap makes to itself (realloc's malloc and free) nest by a depth count, not a second take.
 */
import { ConcurrentUseError } from "../errors.js";
import type { ByteStore } from "../memory/store.js";
import { Word } from "./layout.js";

/** The i32 index of the in-use word. */
export const IN_USE_WORD = Word.IN_USE;

const GUARDED_METHODS = [
  "malloc", "mallocOrThrow", "calloc", "mallocAs", "callocAs", "allocString", "free", "freeAll", "realloc",
  "usableSize", "requestedSize", "trim", "stats", "check",
] as const;

/** The store's bytes can be seen by another agent. */
export function isSharedStore(store: ByteStore): boolean {
  return typeof SharedArrayBuffer !== "undefined" && store.u8.buffer instanceof SharedArrayBuffer;
}

/** Puts a guarded version of each public method on `heap` itself. */
export function installConcurrencyGuard(heap: object, store: ByteStore): void {
  let depth = 0;
  const methods = heap as Record<string, (a?: unknown, b?: unknown) => unknown>;
  for (const name of GUARDED_METHODS) {
    if (typeof methods[name] !== "function") continue;
    const method = methods[name]!;
    // Every guarded method takes at most two arguments: fixed parameters keep the call cheap.
    const guarded = (a?: unknown, b?: unknown): unknown => {
      if (depth === 0 && Atomics.compareExchange(store.i32, IN_USE_WORD, 0, 1) !== 0) throw new ConcurrentUseError(name);
      depth++;
      let result: unknown;
      try {
        result = method.call(heap, a, b); // undefined for a missing argument: the defaults apply
      } catch (error) {
        if (--depth === 0) Atomics.store(store.i32, IN_USE_WORD, 0);
        throw error;
      }
      if (--depth === 0) Atomics.store(store.i32, IN_USE_WORD, 0);
      return result;
    };
    Object.defineProperty(heap, name, { value: guarded, writable: true, configurable: true });
  }
}

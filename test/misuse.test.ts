/**
 * Misuse over every policy of the registry and both wrappers: arguments of the wrong type
 * (BigInt, Symbol, objects, strings) as size, pointer and alignment get a HeapkitError naming
 * them and change no byte; a malloc that returns 0 (the store full) changes no byte either.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Allocator } from "../src/allocator.js";
import { DebugHeap } from "../src/debug/debug-heap.js";
import { HardenedHeap } from "../src/debug/hardened-heap.js";
import { HeapkitError } from "../src/errors.js";
import { policies } from "../src/policies.js";
import { STORE_KINDS } from "./support/kinds.js";

const MAKERS: [string, () => Allocator][] = [
  ...Object.values(policies).map((p): [string, () => Allocator] => [p.name, () => p.create()]),
  ["debug(heap)", () => new DebugHeap()],
  ["hardened(heap)", () => new HardenedHeap()],
];

/** A copy of the store's committed bytes (a reserved store's views span its whole reservation). */
function committedImage(a: Allocator): Buffer {
  return Buffer.from(a.store.u8.slice(0, a.store.committedBytes));
}

const BAD_VALUES: unknown[] = [10n, Symbol("size"), {}, "8", null, [8]];

describe("misuse: wrong-typed arguments get a typed error and change nothing", () => {
  for (const [name, make] of MAKERS) {
    test(name, () => {
      const a = make();
      const p = a.malloc(16);
      assert.notEqual(p, 0);
      const calls: [string, (v: never) => unknown][] = [
        ["malloc size", (v) => a.malloc(v)],
        ["malloc align", (v) => a.malloc(16, v)],
        ["free", (v) => a.free(v)],
        ["realloc pointer", (v) => a.realloc(v, 8)],
        ["realloc size", (v) => a.realloc(p, v)],
        ["usableSize", (v) => a.usableSize(v)],
      ];
      const stats = JSON.stringify(a.stats()); // first: stats() may fold peaks into the store
      const bytes = committedImage(a);
      for (const [call, fn] of calls) {
        for (const value of BAD_VALUES) {
          if (call === "malloc align" && value === null) continue; // null is not undefined, but some policies ignore align
          assert.throws(() => fn(value as never), (e: unknown) => {
            assert.ok(e instanceof HeapkitError, `${name} ${call}(${typeof value}): ${String(e)}`);
            return true;
          });
        }
      }
      assert.ok(committedImage(a).equals(bytes), "no byte changed");
      assert.equal(JSON.stringify(a.stats()), stats);
      a.check();
    });
  }
});

/** How many of the mallocs (sizes in turn) run before the first that returns 0. */
function mallocsUntilFull(a: Allocator, sizes: readonly number[]): number {
  for (let i = 0; i < 200_000; i++) {
    try {
      if (a.malloc(sizes[i % sizes.length]!) === 0) return i;
    } catch {
      // a size over this policy's limit
    }
  }
  return 200_000;
}

describe("misuse: a malloc that returns 0 changes no byte of the store", () => {
  for (const policy of Object.values(policies)) {
    for (const kind of STORE_KINDS) {
      test(`${policy.name} on ${kind}`, () => {
        const create = () => policy.create({ kind, initialBytes: 65536, maxBytes: 262144 } as never);
        const sizes = [24, 200, 8, 1000, 64, 3000, 16, 40000];
        // The same mallocs on a first allocator find where the first one fails; the second
        // compares the store around every malloc from a few before it (copying the store
        // around each of the thousands of mallocs before would be most of the suite's time).
        const first = mallocsUntilFull(create(), sizes);
        const a = create();
        let failures = 0;
        for (let i = 0; failures < 12 && i < 200_000; i++) {
          const size = sizes[i % sizes.length]!;
          if (i < first - sizes.length) {
            try {
              a.malloc(size);
            } catch {
              // a size over this policy's limit
            }
            continue;
          }
          const stats = JSON.stringify(a.stats()); // first: stats() may fold peaks into the store
          const bytes = committedImage(a);
          let p: number;
          try {
            p = a.malloc(size);
          } catch {
            continue; // a size over this policy's limit: covered by the argument tests
          }
          if (p !== 0) continue;
          failures++;
          assert.ok(committedImage(a).equals(bytes), `${policy.name}: malloc(${size}) returned 0 and changed bytes`);
          assert.equal(JSON.stringify(a.stats()), stats);
        }
        assert.ok(failures > 0, "the store filled up");
        a.check();
      });
    }
  }
});

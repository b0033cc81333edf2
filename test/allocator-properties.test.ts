/**
 * Model-based property tests (fast-check's `fc.commands`): random sequences of malloc, free,
 * realloc and check against the ReferenceModel, for the Heap, Buddy and the fits. After every
 * command check() and the stats laws hold; at the end every live block keeps its contents.
 * A failing sequence is shrunk to the shortest one that still fails: the last test shows it on
 * an allocator that forgets to copy in realloc (the test bump allocator, which knows only
 * alignment 8).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Allocator } from "../src/allocator.js";
import { Buddy } from "../src/allocators/buddy.js";
import { FitAllocator } from "../src/allocators/fits.js";
import { Heap } from "../src/heap/heap.js";
import { BumpAllocator } from "./support/bump.js";
import { ReferenceModel } from "./support/model.js";

/** What fast-check's model knows: how many blocks are live (the commands' preconditions). */
interface Counts {
  live: number;
}

type Real = ReferenceModel;

class MallocCommand implements fc.Command<Counts, Real> {
  constructor(readonly size: number, readonly align: number) {}
  check(): boolean {
    return true;
  }
  run(counts: Counts, model: Real): void {
    assert.notEqual(model.malloc(this.size, this.align), 0, "a growable store does not run out here");
    counts.live++;
    model.checkLaws();
  }
  toString(): string {
    return `malloc(${this.size}, ${this.align})`;
  }
}

class FreeCommand implements fc.Command<Counts, Real> {
  constructor(readonly pick: number) {}
  check(counts: Readonly<Counts>): boolean {
    return counts.live > 0;
  }
  run(counts: Counts, model: Real): void {
    model.free(model.pick(this.pick)!);
    counts.live--;
    model.checkLaws();
  }
  toString(): string {
    return `free(block ${this.pick.toFixed(2)})`;
  }
}

class ReallocCommand implements fc.Command<Counts, Real> {
  constructor(readonly pick: number, readonly size: number) {}
  check(counts: Readonly<Counts>): boolean {
    return counts.live > 0;
  }
  run(_counts: Counts, model: Real): void {
    assert.notEqual(model.realloc(model.pick(this.pick)!, this.size), 0, "a growable store does not run out here");
    model.checkLaws();
  }
  toString(): string {
    return `realloc(block ${this.pick.toFixed(2)}, ${this.size})`;
  }
}

/** Sizes in every layer of the Heap: slab slots, mid slots, TLSF blocks. */
const size = fc.oneof(fc.integer({ min: 0, max: 256 }), fc.integer({ min: 257, max: 4080 }), fc.integer({ min: 4081, max: 70_000 }));
const pick = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const commands = (aligns: number[]) => fc.commands(
  [
    fc.tuple(size, fc.constantFrom(...aligns)).map(([s, a]) => new MallocCommand(s, a)),
    pick.map((p) => new FreeCommand(p)),
    fc.tuple(pick, size).map(([p, s]) => new ReallocCommand(p, s)),
  ],
  { maxCommands: 60 },
);

/** Runs the command sequences on fresh allocators; the end of each checks every live block's bytes. */
function property(make: () => Allocator, aligns = [8, 8, 16, 64, 4096]): fc.IPropertyWithHooks<[Iterable<fc.Command<Counts, Real>>]> {
  return fc.property(commands(aligns), (sequence) => {
    const model = new ReferenceModel(make());
    fc.modelRun(() => ({ model: { live: 0 }, real: model }), sequence);
    model.verifyAll();
  });
}

const POLICIES: readonly [string, () => Allocator][] = [
  ["Heap", () => new Heap()],
  ["Buddy", () => new Buddy()],
  ["first fit, immediate coalescing", () => new FitAllocator({ fit: "first" })],
  ["best fit, deferred coalescing", () => new FitAllocator({ fit: "best", coalesce: "deferred" })],
];

describe("allocators against the model: fast-check command sequences", () => {
  for (const [name, make] of POLICIES) {
    it(`${name}: malloc, free and realloc keep check(), the laws and every block's bytes`, () => {
      fc.assert(property(make), { numRuns: 40, seed: 20261203 });
    });
  }

  it("shrinks a failing sequence to the shortest: an allocator whose realloc forgets to copy", () => {
    const details = fc.check(property(() => new BumpAllocator({ forgetsToCopy: true }), [8]), { numRuns: 200, seed: 1 });
    assert.ok(details.failed, "the broken realloc was found");
    const shortest = [...(details.counterexample![0] as Iterable<fc.Command<Counts, Real>>)].map(String);
    assert.equal(shortest.length, 2, `shrunk to ${shortest.join(", ")}`);
    assert.match(shortest[0]!, /^malloc\([1-9]\d*, 8\)$/);
    assert.match(shortest[1]!, /^realloc\(block 0\.00, \d+\)$/);
  });
});

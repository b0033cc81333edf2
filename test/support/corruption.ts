/**
 * Corruption tables: a live heap with random work done (beside the ReferenceModel, so the test
 * knows every live block), one kind of metadata damaged, and check() expected to throw
 * HeapCorruptionError naming what is wrong. And HardenedHeap over the same allocator refusing
 * the next free of a block whose header was damaged, before the inner allocator sees it.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Allocator } from "../../src/allocator.js";
import { CorruptedHeaderError } from "../../src/debug/errors.js";
import { HardenedHeap } from "../../src/debug/hardened-heap.js";
import { HeapCorruptionError, HeapkitError } from "../../src/errors.js";
import { ReferenceModel, rng } from "./model.js";

export interface Damage<Context> {
  /** What is damaged, as the test's name says it. */
  name: string;
  /** What check()'s message must say. */
  message: RegExp;
  /** Damages the heap (the context finds the metadata), or returns false when this heap has none of that kind. */
  damage(context: Context): void | false;
}

/** Random malloc/free/realloc (fixed seed) through the model; sizes from `size(r)`; the model is consistent after it. */
export function randomWork(allocator: Allocator, seed: number, steps: number, size: (r: () => number) => number): ReferenceModel {
  const model = new ReferenceModel(allocator);
  const r = rng(seed);
  for (let i = 0; i < steps; i++) {
    const p = r();
    if (p < 0.6 || model.live.size === 0) model.malloc(size(r));
    else if (p < 0.9) model.free(model.pick(r())!);
    else model.realloc(model.pick(r())!, size(r));
  }
  model.verifyAll();
  return model;
}

/** check() throws HeapCorruptionError and its message matches. */
export function expectCorruption(allocator: Allocator, message: RegExp): void {
  assert.throws(() => allocator.check(), (error: unknown) => {
    assert.ok(error instanceof HeapCorruptionError, `expected HeapCorruptionError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

/** One test per damage: a fresh heap from `setup`, the damage, then check() must name it. */
export function corruptionTable<Context extends { allocator: Allocator }>(setup: () => Context, damages: readonly Damage<Context>[]): void {
  for (const entry of damages) {
    it(`check() names damage to ${entry.name}`, () => {
      const context = setup();
      context.allocator.check();
      assert.notEqual(entry.damage(context), false, `this heap has no ${entry.name} to damage: the setup should make one`);
      expectCorruption(context.allocator, entry.message);
    });
  }
}

/**
 * HardenedHeap over `makeInner`: after random work, smashing a live block's hardened header
 * (its size word, its checksum word, or a state forged to "freed") makes the next free throw
 * CorruptedHeaderError, and the inner allocator, which never saw the bad free, still checks.
 */
export function hardenedRefusalTable(makeInner: () => Allocator, size: (r: () => number) => number): void {
  const smashes: [string, (u32: Uint32Array, h: number) => void][] = [
    ["its size word", (u32, h) => { u32[h] = u32[h]! + 8; }],
    ["its checksum word", (u32, h) => { u32[h + 1] = u32[h + 1]! ^ 0x100; }],
    ["its state, forged to freed", (u32, h) => { u32[h + 1] = (u32[h + 1]! & ~0xc0) | 0x80; }],
  ];
  for (const [what, smash] of smashes) {
    it(`HardenedHeap refuses the next free of a block whose header lost ${what}`, () => {
      const inner = makeInner();
      const hardened = new HardenedHeap(inner);
      const model = randomWork(hardened, 41, 300, size);
      const victim = model.pick(0.5)!;
      smash(hardened.store.u32, (victim - 8) >>> 2);
      const innerBefore = JSON.stringify(inner.stats());
      assert.throws(() => hardened.free(victim), CorruptedHeaderError);
      assert.equal(JSON.stringify(inner.stats()), innerBefore, "the inner allocator did not see the free");
      inner.check();
      for (const ptr of model.live.keys()) if (ptr !== victim) hardened.free(ptr);
      inner.check();
    });
  }
}

/** `fn` throws a HeapkitError (a typed refusal, not a crash) whose message matches. */
export function expectRefusal(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HeapkitError, `expected a HeapkitError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

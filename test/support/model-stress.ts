/**
 * A randomized malloc/free/realloc sequence (fixed seed) run beside the ReferenceModel:
 * mostly small sizes, some large, some aligned; checkLaws() (check() and the stats laws) every
 * `checkEvery` steps, then everything is freed and checked again.
 */
import assert from "node:assert/strict";
import type { Allocator } from "../../src/allocator.js";
import { ReferenceModel, rng } from "./model.js";

export interface StressOptions {
  steps?: number;
  checkEvery?: number;
  maxSize?: number;
  maxAlign?: number;
}

export function stress(allocator: Allocator, seed: number, options: StressOptions = {}): ReferenceModel {
  const { steps = 3000, checkEvery = 20, maxSize = 20_000, maxAlign = 4096 } = options;
  const r = rng(seed);
  const model = new ReferenceModel(allocator);
  const randomSize = (): number => {
    const p = r();
    return Math.floor(p < 0.7 ? r() * 65 : p < 0.95 ? r() * 1025 : r() * (maxSize + 1));
  };
  let failures = 0;
  for (let i = 0; i < steps; i++) {
    const p = r();
    if (p < 0.5 || model.live.size === 0) {
      const align = r() < 0.1 ? 2 ** Math.floor(r() * (Math.log2(maxAlign) + 1)) : 8;
      if (model.malloc(randomSize(), align) === 0) failures++;
    } else if (p < 0.85) {
      model.free(model.pick(r())!);
    } else if (model.realloc(model.pick(r())!, randomSize()) === 0) {
      failures++;
    }
    if (i % checkEvery === 0) model.checkLaws();
  }
  model.verifyAll();
  assert.equal(failures, 0, "a growable store should not run out of memory in this test");
  for (const ptr of [...model.live.keys()]) model.free(ptr);
  model.verifyAll();
  return model;
}

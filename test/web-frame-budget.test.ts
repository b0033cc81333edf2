import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FRAME_TARGET_MS, FULL_SPEED_BUDGET_MS, FrameBudget, MIN_OPS_BUDGET_MS, runBudgeted } from "../web/src/speed.js";

describe("lab full-speed frame budget", () => {
  it("gives the ops less time while frames come slower than the target, down to the floor", () => {
    const budget = new FrameBudget();
    const start = budget.budgetMs;
    let last = start;
    for (let frame = 0; frame < 10; frame++) {
      const next = budget.next(50);
      assert.ok(next <= last, `frame ${frame}: ${next} after ${last}`);
      last = next;
    }
    assert.ok(last < start);
    for (let frame = 0; frame < 200; frame++) budget.next(100);
    assert.equal(budget.budgetMs, MIN_OPS_BUDGET_MS);
  });

  it("gives the ops more time while frames come faster, up to the ceiling", () => {
    const budget = new FrameBudget();
    const start = budget.budgetMs;
    for (let frame = 0; frame < 5; frame++) budget.next(1000 / 60);
    assert.ok(budget.budgetMs > start);
    for (let frame = 0; frame < 200; frame++) budget.next(1000 / 60);
    assert.equal(budget.budgetMs, FULL_SPEED_BUDGET_MS);
  });

  it("settles where the frames come at the target: a frame of fixed drawing plus the ops' budget", () => {
    const budget = new FrameBudget();
    const drawingMs = 16;
    let frameMs = 40;
    for (let frame = 0; frame < 400; frame++) frameMs = drawingMs + budget.next(frameMs);
    assert.ok(Math.abs(frameMs - FRAME_TARGET_MS) < 0.5, `frames settle at ${frameMs} ms`);
  });

  it("sizes a frame's first chunk from the rate seen before, so slow ops stay within a small budget", () => {
    let now = 0;
    const slowStep = (count: number) => ((now += 2 * count), count); // 2 ms an op
    const rate = { msPerOp: 0 };
    const firstFrame = runBudgeted(Infinity, slowStep, () => now, 4, rate);
    assert.ok(firstFrame >= 1);
    assert.equal(rate.msPerOp, 2, "the rate is left for the next frame");
    const begin = now;
    const ran = runBudgeted(Infinity, slowStep, () => now, 4, rate);
    assert.ok(now - begin <= 4 + 2, `the second frame took ${now - begin} ms of a 4 ms budget`);
    assert.ok(ran >= 2);
    now = 0;
    runBudgeted(Infinity, slowStep, () => now, 4);
    assert.ok(now > 100, "without a rate, the first chunk is a fixed 64 ops");
  });
});
